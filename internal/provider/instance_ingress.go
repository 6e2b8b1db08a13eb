package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// ingressModel is the instance's Ingress.
type ingressModel struct {
	ClassName      types.String `tfsdk:"class_name"`
	Annotations    types.Map    `tfsdk:"annotations"`
	CertificatePEM types.String `tfsdk:"certificate_pem"`
	PrivateKeyPEM  types.String `tfsdk:"private_key_pem"`
	PrivateKeyWO   types.String `tfsdk:"private_key_pem_wo"`
	PrivateKeyWOV  types.Int64  `tfsdk:"private_key_pem_wo_version"`
	TLSSecretName  types.String `tfsdk:"tls_secret_name"`
	GKETimeout     types.Int64  `tfsdk:"gke_streaming_timeout_seconds"`
	WaitForLB      types.Bool   `tfsdk:"wait_for_load_balancer"`
	LBTimeout      types.String `tfsdk:"load_balancer_timeout"`
}

var ingressPrivateKey = credential{block: "ingress", name: "private_key_pem", what: "PEM private key of `certificate_pem`",
	doc: "PEM private key of `certificate_pem`. To keep the key out of Terraform, give `tls_secret_name` instead: a TLS Secret that someone " +
		"else manages (cert-manager, External Secrets), which is the reference form of this key (there is no `private_key_pem_secret_ref`).",
	noRef:  "tls_secret_name",
	secret: (*mastodon.Spec).TLSSecretName, key: corev1.TLSPrivateKeyKey,
	set: func(s *mastodon.Spec, v string) { s.Ingress.PrivateKeyPEM = v }}

func ingressAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"ingress": optionalBlock(in, "ingress",
		"An Ingress routing the web domain to web, and `/api/v1/streaming` to streaming, with TLS.",
		map[string]schema.Attribute{
			"class_name":      optString("The IngressClass."),
			"annotations":     schema.MapAttribute{Optional: true, ElementType: types.StringType, Description: "Annotations of the Ingress (e.g. for cert-manager)."},
			"certificate_pem": optString("PEM certificate (chain) for the web domain. Requires `private_key_pem`."),
			"tls_secret_name": checkSecretName.on(optString("An existing TLS Secret to use instead, e.g. one cert-manager fills.")),
			"gke_streaming_timeout_seconds": checkNotNeg.on(optInt("On GKE's Ingress (class `gce`): the load balancer's backend timeout for streaming, in seconds, " +
				"as a BackendConfig attached to the streaming Service (`cloud.google.com/backend-config`). GKE's default, 30 s, cuts every websocket; 3600 keeps them an hour. " +
				"Needs the BackendConfig resource, which GKE clusters serve.")),
			"wait_for_load_balancer": optBool("Whether the apply that creates the Ingress waits until its load balancer publishes an address " +
				"(default true), so that `load_balancer_ip` or `load_balancer_hostname` is known when the apply ends and a DNS record fed from it in the same " +
				"apply gets it. On GKE and EKS the address comes seconds to minutes after the Ingress. The wait is bounded by `load_balancer_timeout`; " +
				"when that runs out the apply succeeds with a warning and the address stays null until a later apply reads it. Set false on a cluster " +
				"whose Ingress controller never publishes an address (some bare-metal setups), so that creating an Ingress does not wait."),
			"load_balancer_timeout": schema.StringAttribute{Optional: true,
				Validators: []validator.String{durationValidator{"a positive duration such as `5m` or `90s`"}},
				Description: "How long the apply that creates the Ingress waits for the load balancer's address, as a Go duration such as `5m` (default `10m`). " +
					"Counted within the create or update timeout."},
		})}
}

func ingressSpec(ctx context.Context, m *instanceModel, s *mastodon.Spec, diags *diag.Diagnostics) {
	if in := m.Ingress; in != nil {
		s.Ingress = &mastodon.Ingress{ClassName: in.ClassName.ValueString(), CertificatePEM: in.CertificatePEM.ValueString(),
			TLSSecretName: in.TLSSecretName.ValueString(), GKEStreamingTimeout: int32Or(in.GKETimeout, 0)}
		diags.Append(in.Annotations.ElementsAs(ctx, &s.Ingress.Annotations, false)...)
	}
}

// defaultLoadBalancerTimeout bounds the wait for a new Ingress's address:
// GKE's and EKS's load balancers usually publish it within a few minutes.
const defaultLoadBalancerTimeout = 10 * time.Minute

// loadBalancerWait says whether, and how long, the apply that creates the
// Ingress (or the routes of a Gateway) waits for its load balancer's
// address: wait_for_load_balancer and load_balancer_timeout.
func loadBalancerWait(waitFor types.Bool, timeout types.String) (bool, time.Duration) {
	if !waitFor.IsNull() && !waitFor.ValueBool() {
		return false, 0
	}
	if d, err := time.ParseDuration(timeout.ValueString()); err == nil && d > 0 {
		return true, d
	}
	return true, defaultLoadBalancerTimeout
}

// durationValidator accepts a positive Go duration such as `5m` or `90s`.
type durationValidator struct{ described }

func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if !known(req.ConfigValue) {
		return
	}
	if d, err := time.ParseDuration(req.ConfigValue.ValueString()); err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%s: %q is not a positive duration such as \"5m\" or \"90s\".", req.Path, req.ConfigValue.ValueString()))
	}
}

var checkSecretName = stringCheck{described: "a Secret's name", check: mastodon.CheckSecretName}
