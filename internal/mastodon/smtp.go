package mastodon

import (
	"errors"
	"fmt"
	"net/mail"
	"strconv"
)

// SMTP is the outgoing mail server.
type SMTP struct {
	Server            string
	Port              int32
	Login             string
	Password          string
	PasswordRef       *SecretRef `json:",omitempty"` // gives the password instead (see SecretRef)
	FromAddress       string
	Domain            string
	AuthMethod        string
	EnableStartTLS    string
	OpenSSLVerifyMode string
	TLS               bool
	SSL               bool
	DeliveryMethod    string
}

// EnvSMTPPassword is the Secret's key of the SMTP password.
const EnvSMTPPassword = "SMTP_PASSWORD"

var (
	authMeths  = []string{"plain", "login", "cram_md5", "none"}
	starttls   = []string{"auto", "always", "never"}
	verifyMode = []string{"none", "peer", "client_once", "fail_if_no_peer_cert"}
	delivery   = []string{"smtp", "sendmail", "file", "letter_opener"}
)

// smtpFeature sends mail through a server (Spec.SMTP).
type smtpFeature struct{ noFeature }

func (smtpFeature) defaults(s *Spec) {
	m := s.SMTP
	if m == nil {
		return
	}
	if m.Port == 0 {
		// Implicit TLS (SMTP_TLS, SMTP_SSL) is spoken on port 465
		// (submissions, RFC 8314); 587 expects STARTTLS.
		m.Port = 587
		if m.TLS || m.SSL {
			m.Port = 465
		}
	}
	setDefault(&m.AuthMethod, "plain")
	if m.TLS || m.SSL {
		// Implicit TLS: STARTTLS must be off, else the mail gem
		// refuses every delivery (config/environments/production.rb).
		setDefault(&m.EnableStartTLS, "never")
	}
	setDefault(&m.EnableStartTLS, "auto")
	if s.LocalDomain != "" {
		// Mastodon's own default is notifications@localhost, which
		// relays refuse.
		setDefault(&m.FromAddress, "notifications@"+s.LocalDomain)
	}
	setDefault(&m.OpenSSLVerifyMode, "peer")
	setDefault(&m.DeliveryMethod, "smtp")
}

func (smtpFeature) validate(s *Spec, e *fieldErrors) {
	m := s.SMTP
	if m == nil {
		return
	}
	add := e.add
	if m.Server == "" {
		add("smtp.server", "must be set")
	}
	if m.TLS && m.SSL {
		add("smtp.tls", "conflicts with smtp.ssl: both mean implicit TLS, set one")
		e.related("smtp.ssl")
	}
	if (m.TLS || m.SSL) && m.EnableStartTLS != "" && m.EnableStartTLS != "never" {
		add("smtp.enable_starttls", "must be never (or unset) with implicit TLS (smtp.tls or smtp.ssl): the mail gem refuses every delivery that asks for both, not %q", m.EnableStartTLS)
		e.related("smtp.tls", "smtp.ssl")
	}
}

func (smtpFeature) env(s *Spec, plain, secret map[string]string) {
	m := s.SMTP
	if m == nil {
		return
	}
	plain["SMTP_SERVER"] = m.Server
	plain["SMTP_PORT"] = strconv.Itoa(int(m.Port))
	plain["SMTP_AUTH_METHOD"] = m.AuthMethod
	plain["SMTP_ENABLE_STARTTLS"] = m.EnableStartTLS
	plain["SMTP_OPENSSL_VERIFY_MODE"] = m.OpenSSLVerifyMode
	plain["SMTP_DELIVERY_METHOD"] = m.DeliveryMethod
	plain["SMTP_TLS"] = strconv.FormatBool(m.TLS)
	plain["SMTP_SSL"] = strconv.FormatBool(m.SSL)
	setNonEmpty(plain, map[string]string{"SMTP_LOGIN": m.Login, "SMTP_FROM_ADDRESS": m.FromAddress, "SMTP_DOMAIN": m.Domain})
	setNonEmpty(secret, map[string]string{EnvSMTPPassword: m.Password})
}

// CheckEmailAddress checks smtp.from_address.
func CheckEmailAddress(v string) error {
	if v == "" {
		return nil
	}
	if _, err := mail.ParseAddress(v); err != nil {
		return fmt.Errorf("%q is not an email address", v)
	}
	return nil
}

// CheckSMTPAuthMethod checks smtp.auth_method.
func CheckSMTPAuthMethod(v string) error { return checkOneOf(v, authMeths) }

// CheckSMTPStartTLS checks smtp.enable_starttls.
func CheckSMTPStartTLS(v string) error { return checkOneOf(v, starttls) }

// CheckSMTPVerifyMode checks smtp.openssl_verify_mode.
func CheckSMTPVerifyMode(v string) error { return checkOneOf(v, verifyMode) }

// CheckDeliveryMethod checks smtp.delivery_method: letter_opener, a
// development gem, writes mails to files nobody reads.
func CheckDeliveryMethod(v string) error {
	if err := checkOneOf(v, delivery); err != nil {
		return err
	}
	if v == "letter_opener" {
		return errors.New("letter_opener is Mastodon's development-only delivery method (it writes mails to files nobody reads): use smtp, sendmail or file")
	}
	return nil
}
