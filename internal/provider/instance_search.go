package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// opensearchModel is the instance's full-text search.
type opensearchModel struct {
	Host         types.String `tfsdk:"host"`
	Port         types.Int64  `tfsdk:"port"`
	Scheme       types.String `tfsdk:"scheme"`
	User         types.String `tfsdk:"user"`
	Password     types.String `tfsdk:"password"`
	Preset       types.String `tfsdk:"preset"`
	Prefix       types.String `tfsdk:"prefix"`
	CACert       types.String `tfsdk:"ca_certificate_pem"`
	WaitForIndex types.Bool   `tfsdk:"wait_for_index"`
	writeOnlyPassword
}

func (o *opensearchModel) search() *mastodon.Search {
	if o == nil {
		return nil
	}
	return &mastodon.Search{Host: o.Host.ValueString(), Port: int32Or(o.Port, 0), Scheme: o.Scheme.ValueString(),
		User: o.User.ValueString(), Preset: o.Preset.ValueString(),
		Prefix: o.Prefix.ValueString(), CACertificatePEM: o.CACert.ValueString()}
}

// waits says whether an apply waits for the index build (default true).
func (o *opensearchModel) waits() bool {
	return o == nil || o.WaitForIndex.IsNull() || o.WaitForIndex.IsUnknown() || o.WaitForIndex.ValueBool()
}

func searchSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	s.Search = m.Opensearch.search()
}

var searchPassword = credential{block: "opensearch", name: "password", what: "Password",
	doc: "Password (`ES_PASS`). It reaches Pods through the instance's Secret only. Conflicts with `password_wo`.",
	key: mastodon.EnvSearchPassword, set: func(s *mastodon.Spec, v string) { s.Search.Password = v },
	setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.Search.PasswordRef = r }}

// searchAttributes are opensearch, and search_index: what the cluster
// holds (an import reads it from the index build Job), not configuration.
func searchAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"opensearch": optionalBlock(in, "opensearch",
			"Full-text search in an OpenSearch (or Elasticsearch 7+) cluster you run: sets `ES_ENABLED` and the `ES_*` variables. "+
				"The indexes are built by a Job running `tootctl search deploy` in a copy of the web Pod, after the rollout (as Mastodon's "+
				"documentation orders it: configure, restart, then deploy the indexes): when search is switched on, when `host`, `port`, "+
				"`scheme`, `prefix` or `preset` change (a preset change rebuilds every index with `--reset-chewy`), and when an upgrade "+
				"crosses a release whose index definitions changed (only those indexes). Nothing else runs it again; `search_index` shows what was built. "+
				"Switching search off removes the variables and the index build Jobs, not the indexes in your cluster.",
			map[string]schema.Attribute{
				"host":   checkSearchHost.on(schema.StringAttribute{Required: true, Description: "Host name or address of the cluster, without scheme (`ES_HOST`)."}),
				"port":   checkPort.on(optInt("Port (`ES_PORT`), default 9200.")),
				"scheme": checkSearchScheme.on(optString("`http` (default) or `https`; https is written into `ES_HOST` as Mastodon's client reads it.")),
				"user":   optString("User name (`ES_USER`)."),
				"preset": checkSearchPreset.on(optString("`ES_PRESET`: `single_node_cluster` (default: indexes without replicas), `small_cluster` or `large_cluster` " +
					"(one replica). Changing it rebuilds every index.")),
				"prefix": checkSearchPrefix.on(optString("`ES_PREFIX`, put before every index name: instances sharing a cluster need different ones. Lowercase letters, digits, `.`, `_` and `-`.")),
				"ca_certificate_pem": checkCertificate.on(optString("PEM CA certificate of a cluster with a private CA (with `scheme = \"https\"`), kept in a ConfigMap, " +
					"mounted into the Rails Pods and named by `ES_CA_FILE`.")),
				"wait_for_index": optBool("Wait for the index build (default true): the apply fails, naming the Job with its Pods' events and last log lines, " +
					"when it fails or outlasts the apply's timeout (`timeouts`); the Job keeps running and the next apply waits for the same Job. " +
					"On a large instance the build takes hours (it imports every post): false starts it and goes on, and `search_index` stays " +
					"unknown in plans until an apply finds it complete (a failed one is started again)."),
			}),
		"search_index": schema.StringAttribute{Computed: true,
			Description: "What the last complete index build built: the release whose index definitions it used, the cluster and prefix " +
				"(`scheme://host:port/prefix`) and the preset. A plan that changes it runs `tootctl search deploy`. Null without `opensearch`."},
	}
}

// jobGetter reads one object (*kube.Client).
type jobGetter interface {
	Get(ctx context.Context, kind, namespace, name string) (*unstructured.Unstructured, error)
}

// refreshBackgroundIndex learns, on refresh, whether the index build an
// apply left running (wait_for_index = false) has completed, so the next
// plan is empty once it has: one read of its Job, only while one is
// pending. A failed build is drift (the next apply starts it again).
func refreshBackgroundIndex(ctx context.Context, c jobGetter, state *instanceModel, spec *mastodon.Spec) (string, error) {
	if state.Opensearch == nil || state.Opensearch.waits() || spec.Search == nil {
		return "", nil
	}
	d := spec.PlanSearchDeploy(state.SearchIndex.ValueString())
	if d == nil {
		return "", nil
	}
	name := spec.SearchDeployJobName(d)
	job, err := c.Get(ctx, "Job", spec.Namespace, name)
	if err != nil || job == nil {
		return "", err
	}
	if done, _ := kube.JobCondition(job, "Complete"); done {
		state.SearchIndex = types.StringValue(d.Want)
	} else if failed, why := kube.JobCondition(job, "Failed"); failed {
		return fmt.Sprintf("the index build Job %s failed (%s): the next apply starts it again", name, why), nil
	}
	return "", nil
}

// importedSearchIndex is what the instance's complete index build Job
// built (the instance keeps the Job of its last build only), or null.
func importedSearchIndex(live map[string]*unstructured.Unstructured) types.String {
	for _, o := range live {
		if o.GetKind() != "Job" || o.GetLabels()[mastodon.LabelComponent] != mastodon.ComponentSearchDeploy {
			continue
		}
		if done, _ := kube.JobCondition(o, "Complete"); done {
			return nullable(o.GetAnnotations()[mastodon.AnnotationSearchIndex])
		}
	}
	return types.StringNull()
}

// The checks of opensearch's attributes.
var (
	checkSearchHost   = stringCheck{described: "a host name or IP address, without scheme", check: mastodon.CheckSearchHost}
	checkSearchScheme = stringCheck{described: "http or https", check: mastodon.CheckSearchScheme}
	checkSearchPreset = stringCheck{described: "single_node_cluster, small_cluster or large_cluster", check: mastodon.CheckSearchPreset}
	checkSearchPrefix = stringCheck{described: "an index name prefix", check: mastodon.CheckSearchPrefix}
	checkCertificate  = stringCheck{described: "a PEM certificate", check: mastodon.CheckCertificatePEM}
)
