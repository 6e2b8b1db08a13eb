package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// smtpModel is the outgoing mail.
type smtpModel struct {
	Server            types.String `tfsdk:"server"`
	Port              types.Int64  `tfsdk:"port"`
	Login             types.String `tfsdk:"login"`
	Password          types.String `tfsdk:"password"`
	FromAddress       types.String `tfsdk:"from_address"`
	Domain            types.String `tfsdk:"domain"`
	AuthMethod        types.String `tfsdk:"auth_method"`
	EnableStartTLS    types.String `tfsdk:"enable_starttls"`
	OpenSSLVerifyMode types.String `tfsdk:"openssl_verify_mode"`
	TLS               types.Bool   `tfsdk:"tls"`
	SSL               types.Bool   `tfsdk:"ssl"`
	DeliveryMethod    types.String `tfsdk:"delivery_method"`
	writeOnlyPassword
}

var smtpPassword = credential{block: "smtp", name: "password", what: "Password or API key",
	doc: "Password or API key. It reaches Pods through a Secret only. Conflicts with `password_wo`.",
	key: mastodon.EnvSMTPPassword, set: func(s *mastodon.Spec, v string) { s.SMTP.Password = v },
	setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.SMTP.PasswordRef = r }}

func smtpAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"smtp": optionalBlock(in, "smtp", "Outgoing mail.",
		map[string]schema.Attribute{
			"server":              schema.StringAttribute{Required: true, Description: "SMTP server, e.g. `smtp.sendgrid.net`."},
			"port":                checkPort.on(optInt("Port, default 587, or 465 with `tls` or `ssl` (implicit TLS). SendGrid also listens on 2525 where 25/465/587 are blocked.")),
			"login":               optString("Login (`apikey` for SendGrid)."),
			"from_address":        checkEmail.on(optString("Sender address, default `notifications@<local_domain>` (Mastodon's own default, `notifications@localhost`, is refused by relays).")),
			"domain":              optString("HELO domain."),
			"auth_method":         checkAuthMethod.on(optString("plain (default), login, cram_md5 or none.")),
			"enable_starttls":     checkStartTLS.on(optString("auto (default), always or never; never (the default then) with `tls` or `ssl`, which the mail gem refuses to combine with STARTTLS.")),
			"openssl_verify_mode": checkVerifyMode.on(optString("peer (default), none, client_once or fail_if_no_peer_cert.")),
			"tls":                 optBool("Implicit TLS (`SMTP_TLS`, port 465)."),
			"ssl":                 optBool("Implicit SSL (`SMTP_SSL`)."),
			"delivery_method":     checkDelivery.on(optString("smtp (default), sendmail or file (letter_opener is development-only and refused).")),
		})}
}

func smtpSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	if x := m.SMTP; x != nil {
		s.SMTP = &mastodon.SMTP{
			Server: x.Server.ValueString(), Port: int32Or(x.Port, 0), Login: x.Login.ValueString(),
			FromAddress: x.FromAddress.ValueString(), Domain: x.Domain.ValueString(), AuthMethod: x.AuthMethod.ValueString(),
			EnableStartTLS: x.EnableStartTLS.ValueString(), OpenSSLVerifyMode: x.OpenSSLVerifyMode.ValueString(),
			TLS: x.TLS.ValueBool(), SSL: x.SSL.ValueBool(), DeliveryMethod: x.DeliveryMethod.ValueString(),
		}
	}
}

// The checks of smtp's attributes.
var (
	checkEmail      = stringCheck{described: "an email address", check: mastodon.CheckEmailAddress}
	checkAuthMethod = stringCheck{described: "plain, login, cram_md5 or none", check: mastodon.CheckSMTPAuthMethod}
	checkStartTLS   = stringCheck{described: "auto, always or never", check: mastodon.CheckSMTPStartTLS}
	checkVerifyMode = stringCheck{described: "none, peer, client_once or fail_if_no_peer_cert", check: mastodon.CheckSMTPVerifyMode}
	checkDelivery   = stringCheck{described: "smtp, sendmail or file", check: mastodon.CheckDeliveryMethod}
)
