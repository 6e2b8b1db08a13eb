// Package provider is the Terraform glue of the Mastodon provider: provider
// configuration, resources and data sources. It translates between Terraform
// and the mastodon and kube packages and holds no Mastodon knowledge itself.
package provider

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
)

// ProfileEnv names a folder where the provider process writes its CPU
// profile, the heap profile of its largest live heap and, when it exits,
// its allocation profile (cpu-<pid>.pprof, heap-peak-<pid>.pprof,
// heap-<pid>.pprof): `make bench` with `-profile` sets it for one plan at
// each size. Terraform passes its environment to the provider.
const ProfileEnv = "TF_MASTODON_PROFILE_DIR"

var _ provider.Provider = (*mastodonProvider)(nil)

// New returns the provider factory for a given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &mastodonProvider{version: version} }
}

type mastodonProvider struct {
	version string
}

type providerModel struct {
	Kubernetes types.Object `tfsdk:"kubernetes"`
}

type kubernetesModel struct {
	Host                 types.String `tfsdk:"host"`
	Token                types.String `tfsdk:"token"`
	ClusterCACertificate types.String `tfsdk:"cluster_ca_certificate"`
	ClientCertificate    types.String `tfsdk:"client_certificate"`
	ClientKey            types.String `tfsdk:"client_key"`
	Insecure             types.Bool   `tfsdk:"insecure"`
	TLSServerName        types.String `tfsdk:"tls_server_name"`
	ProxyURL             types.String `tfsdk:"proxy_url"`
	ConfigPath           types.String `tfsdk:"config_path"`
	ConfigContext        types.String `tfsdk:"config_context"`
	Exec                 types.Object `tfsdk:"exec"`
}

type execModel struct {
	APIVersion types.String `tfsdk:"api_version"`
	Command    types.String `tfsdk:"command"`
	Args       types.List   `tfsdk:"args"`
	Env        types.Map    `tfsdk:"env"`
}

// stringSetting describes one string attribute of the kubernetes block and
// the environment variable that supplies it when the attribute is not set.
type stringSetting struct {
	name, env, description string
	sensitive              bool
}

var stringSettings = []stringSetting{
	{"host", "KUBE_HOST", "The address of the Kubernetes API server, e.g. `https://203.0.113.10` (for GKE: `\"https://${google_container_cluster.x.endpoint}\"`).", false},
	{"token", "KUBE_TOKEN", "A bearer token for the API server (for GKE: `data.google_client_config.x.access_token`).", true},
	{"cluster_ca_certificate", "KUBE_CLUSTER_CA_CERT_DATA", "PEM-encoded root certificates of the API server (for GKE: `base64decode(google_container_cluster.x.master_auth[0].cluster_ca_certificate)`).", false},
	{"client_certificate", "KUBE_CLIENT_CERT_DATA", "PEM-encoded client certificate for TLS authentication. Requires `client_key`.", false},
	{"client_key", "KUBE_CLIENT_KEY_DATA", "PEM-encoded private key of `client_certificate`.", true},
	{"tls_server_name", "KUBE_TLS_SERVER_NAME", "The server name used to verify the API server's certificate, when it differs from the host.", false},
	{"proxy_url", "KUBE_PROXY_URL", "The URL of a proxy for requests to the API server.", false},
	{"config_path", "KUBE_CONFIG_PATH", "Path to a kubeconfig file (several may be given, separated like `KUBECONFIG`). Without it and without `host`, the usual rules apply: `KUBECONFIG`, then `~/.kube/config`, then in-cluster.", false},
	{"config_context", "KUBE_CTX", "The kubeconfig context to use instead of the current one.", false},
}

func (p *mastodonProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "mastodon"
	resp.Version = p.version
}

func (p *mastodonProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	attrs := map[string]schema.Attribute{
		"insecure": schema.BoolAttribute{
			Optional:    true,
			Description: "Skip verifying the API server's certificate. Conflicts with `cluster_ca_certificate`. Environment variable: `KUBE_INSECURE`.",
		},
		"exec": schema.SingleNestedAttribute{
			Optional:    true,
			Description: "A client-go credential plugin that prints an ExecCredential, such as `gke-gcloud-auth-plugin` or `aws eks get-token`. Conflicts with `token` and `client_certificate`.",
			Attributes: map[string]schema.Attribute{
				"api_version": schema.StringAttribute{Required: true, Description: "The ExecCredential API version, e.g. `client.authentication.k8s.io/v1`."},
				"command":     schema.StringAttribute{Required: true, Description: "The command to run."},
				"args":        schema.ListAttribute{Optional: true, ElementType: types.StringType, Description: "Its arguments."},
				"env":         schema.MapAttribute{Optional: true, ElementType: types.StringType, Description: "Extra environment variables for it."},
			},
		},
	}
	for _, s := range stringSettings {
		attrs[s.name] = schema.StringAttribute{
			Optional:    true,
			Sensitive:   s.sensitive,
			Description: s.description + " Environment variable: `" + s.env + "`.",
		}
	}
	resp.Schema = schema.Schema{
		Description: "Runs Mastodon instances on Kubernetes. The provider reaches the cluster through the `kubernetes` settings; " +
			"with none set it follows the usual kubeconfig rules.",
		Attributes: map[string]schema.Attribute{
			"kubernetes": schema.SingleNestedAttribute{
				Optional:    true,
				Description: "How to reach the Kubernetes cluster. Every setting may come from its `KUBE_*` environment variable instead.",
				Attributes:  attrs,
			},
		},
	}
}

// clientSource builds the shared Kubernetes client the first time a resource
// or data source needs it, so a provider configured from a cluster created in
// the same apply can still plan.
type clientSource struct {
	cfg     kube.Config
	unknown []string // settings whose values are not known yet

	once   sync.Once
	client *kube.Client
	err    error
}

// Client returns the shared client, building it on first use.
func (s *clientSource) Client() (*kube.Client, error) {
	if len(s.unknown) > 0 {
		return nil, fmt.Errorf("the provider's kubernetes settings %s are not known yet: they come from resources "+
			"that this apply has not created. Resources of this provider plan without them; a data source "+
			"needs `depends_on` on the resource that makes the cluster, so that it is read during apply",
			strings.Join(s.unknown, ", "))
	}
	s.once.Do(func() { s.client, s.err = kube.NewClient(s.cfg) })
	return s.client, s.err
}

// diagClient is Client with its error as a diagnostic.
func (s *clientSource) diagClient() (*kube.Client, diag.Diagnostics) {
	var diags diag.Diagnostics
	if s == nil {
		diags.AddError("Provider not configured", "The mastodon provider was not configured.")
		return nil, diags
	}
	c, err := s.Client()
	if err != nil {
		diags.AddError("Cannot connect to Kubernetes", err.Error())
	}
	return c, diags
}

// Known says whether every setting is known, so the cluster can be reached.
func (s *clientSource) Known() bool { return len(s.unknown) == 0 }

func (p *mastodonProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	src := &clientSource{cfg: kube.Config{UserAgent: "terraform-provider-mastodon/" + p.version}}
	var k kubernetesModel
	if m.Kubernetes.IsUnknown() {
		src.unknown = append(src.unknown, "kubernetes")
	} else if !m.Kubernetes.IsNull() {
		resp.Diagnostics.Append(m.Kubernetes.As(ctx, &k, objectAsOptions)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	values := map[string]types.String{
		"host": k.Host, "token": k.Token, "cluster_ca_certificate": k.ClusterCACertificate,
		"client_certificate": k.ClientCertificate, "client_key": k.ClientKey, "tls_server_name": k.TLSServerName,
		"proxy_url": k.ProxyURL, "config_path": k.ConfigPath, "config_context": k.ConfigContext,
	}
	targets := map[string]*string{
		"host": &src.cfg.Host, "token": &src.cfg.Token, "cluster_ca_certificate": &src.cfg.ClusterCACertificate,
		"client_certificate": &src.cfg.ClientCertificate, "client_key": &src.cfg.ClientKey,
		"tls_server_name": &src.cfg.TLSServerName, "proxy_url": &src.cfg.ProxyURL,
		"config_path": &src.cfg.ConfigPath, "config_context": &src.cfg.ConfigContext,
	}
	for _, s := range stringSettings {
		v := values[s.name]
		switch {
		case v.IsUnknown():
			src.unknown = append(src.unknown, "kubernetes."+s.name)
		case !v.IsNull():
			*targets[s.name] = v.ValueString()
		default:
			*targets[s.name] = os.Getenv(s.env)
		}
	}
	switch {
	case k.Insecure.IsUnknown():
		src.unknown = append(src.unknown, "kubernetes.insecure")
	case !k.Insecure.IsNull():
		src.cfg.Insecure = k.Insecure.ValueBool()
	case os.Getenv("KUBE_INSECURE") != "":
		b, err := strconv.ParseBool(os.Getenv("KUBE_INSECURE"))
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("kubernetes").AtName("insecure"), "Invalid KUBE_INSECURE",
				fmt.Sprintf("The environment variable KUBE_INSECURE must be true or false, not %q.", os.Getenv("KUBE_INSECURE")))
			return
		}
		src.cfg.Insecure = b
	}
	// An unknown element anywhere in exec (the EKS pattern: an argument
	// naming a cluster this apply creates) is as unknown as the whole block.
	if !fullyKnown(ctx, k.Exec) {
		src.unknown = append(src.unknown, "kubernetes.exec")
	} else if !k.Exec.IsNull() {
		var e execModel
		resp.Diagnostics.Append(k.Exec.As(ctx, &e, objectAsOptions)...)
		if resp.Diagnostics.HasError() {
			return
		}
		ex := &kube.ExecConfig{APIVersion: e.APIVersion.ValueString(), Command: e.Command.ValueString(), Env: map[string]string{}}
		resp.Diagnostics.Append(e.Args.ElementsAs(ctx, &ex.Args, false)...)
		resp.Diagnostics.Append(e.Env.ElementsAs(ctx, &ex.Env, false)...)
		src.cfg.Exec = ex
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if len(src.unknown) == 0 && !req.Config.Raw.IsFullyKnown() {
		// Whatever else is unknown (a setting added later and missed above)
		// still means the cluster cannot be reached yet.
		src.unknown = append(src.unknown, "kubernetes")
	}

	if src.Known() {
		for _, fe := range src.cfg.Validate() {
			field := strings.SplitN(fe.Field, ".", 2)
			p := path.Root("kubernetes").AtName(field[0])
			if len(field) == 2 {
				p = p.AtName(field[1])
			}
			resp.Diagnostics.AddAttributeError(p, "Invalid Kubernetes connection settings", "kubernetes."+fe.Error())
		}
		if resp.Diagnostics.HasError() {
			return
		}
	} else {
		if req.ClientCapabilities.DeferralAllowed {
			// Terraform can plan this provider's resources in a later round,
			// once the cluster exists.
			resp.Deferred = &provider.Deferred{Reason: provider.DeferredReasonProviderConfigUnknown}
			return
		}
		tflog.Info(ctx, "Kubernetes connection settings not known yet; the client is built when they are", map[string]any{"unknown": src.unknown})
	}
	resp.DataSourceData = src
	resp.ResourceData = src
}

var objectAsOptions = basetypes.ObjectAsOptions{}

// fullyKnown says whether a value and everything inside it is known.
func fullyKnown(ctx context.Context, v attr.Value) bool {
	tv, err := v.ToTerraformValue(ctx)
	return err == nil && tv.IsFullyKnown()
}

// managed is what every resource of the provider implements beyond
// resource.Resource; those on the cluster are configured with its client.
type managed interface {
	resource.ResourceWithImportState
	resource.ResourceWithIdentity
	resource.ResourceWithModifyPlan
	resource.ResourceWithValidateConfig
}

var (
	_ managed                        = (*instanceResource)(nil)
	_ managed                        = (*adminUserResource)(nil)
	_ managed                        = (*mediaBucketResource)(nil)
	_ resource.ResourceWithConfigure = (*instanceResource)(nil)
	_ resource.ResourceWithConfigure = (*adminUserResource)(nil)
)

func (p *mastodonProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{newInstanceResource, newAdminUserResource, newMediaBucketResource}
}

func (p *mastodonProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{newInstancesDataSource}
}

// clientsFrom takes the provider's data in a resource's or data source's Configure.
func clientsFrom(data any, diags *diag.Diagnostics) *clientSource {
	if data == nil {
		return nil // not configured yet (validation)
	}
	src, ok := data.(*clientSource)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("This is a bug in the provider: its data has type %T.", data))
	}
	return src
}
