package mastodon

import (
	"crypto/x509"
	"errors"
	"fmt"
	batchv1 "k8s.io/api/batch/v1"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Search is the full-text search backend: OpenSearch, or Elasticsearch 7
// or newer, which Mastodon reaches through Chewy
// (config/initializers/chewy.rb).
type Search struct {
	Host     string // host name or address, without scheme
	Port     int32  // default 9200
	Scheme   string // http (default) or https
	User     string
	Password string
	// Preset is ES_PRESET: single_node_cluster (default), small_cluster or
	// large_cluster.
	Preset string
	// Prefix is ES_PREFIX, put before every index name: instances sharing
	// a cluster need different ones.
	Prefix string
	// CACertificatePEM is the CA that signed the cluster's certificate, for
	// clusters with a private CA ("" for none).
	CACertificatePEM string
}

// Search presets Mastodon knows (config/initializers/chewy.rb gives
// indexes no replica for single_node_cluster or none, one otherwise;
// app/lib/admin/system_check/elasticsearch_check.rb checks the number of
// nodes against it).
var SearchPresets = []string{"single_node_cluster", "small_cluster", "large_cluster"}

// SearchIndexes are the indexes `tootctl search deploy` builds, by the
// names its --only option takes (lib/mastodon/cli/search.rb).
var SearchIndexes = []string{"instances", "accounts", "tags", "public_statuses", "statuses"}

// SearchIndexChange is a release whose index definitions (app/chewy/*.rb)
// differ from the release before it: an upgrade to it or past it needs
// `tootctl search deploy` for those indexes (deploy purges an index whose
// specification changed and imports it again from the database).
type SearchIndexChange struct {
	Version string // the first tag carrying the change
	Indexes []string
	Why     string
}

// SearchIndexChanges are the index definition changes since v4.3.0, the
// oldest version the provider runs, found by comparing app/chewy between
// the tags; oldest first.
var SearchIndexChanges = []SearchIndexChange{
	{Version: "v4.4.0-beta.1", Indexes: []string{"accounts"},
		Why: "app/chewy/accounts_index.rb gained the word_joiner filter and word_join_analyzer (mastodon#34455)"},
}

// searchBaseline names the index definitions older than every change the
// provider knows.
const searchBaseline = "v4.3.0"

// Names of the search objects.
const (
	ComponentSearchDeploy = "search-deploy"
	ComponentSearchCA     = "search-ca"
	// AnnotationSearchIndex on an index build Job is the SearchIndex it
	// builds: an import learns from a complete one what was built.
	AnnotationSearchIndex = "mastodon.tootform.dev/search-index"
	EnvSearchPassword     = "ES_PASS"
	searchCADir           = "/etc/mastodon/search-ca"
	searchCAFile          = "ca.crt"
)

// SearchCAName is the ConfigMap holding the search cluster's CA.
func (s *Spec) SearchCAName() string { return s.Name + "-search-ca" }

// SearchIndexDefinitions is the release whose index definitions a version
// runs: the newest change at or before it.
func SearchIndexDefinitions(version string) string {
	out := searchBaseline
	v, ok := Parse(version)
	if !ok {
		return out
	}
	for _, c := range SearchIndexChanges {
		if cv, _ := Parse(c.Version); v.Compare(cv) >= 0 {
			out = c.Version
		}
	}
	return out
}

// searchEndpoint is scheme://host:port/prefix.
func (x *Search) endpoint() string {
	return fmt.Sprintf("%s://%s:%d/%s", x.Scheme, x.Host, x.Port, x.Prefix)
}

// SearchIndex describes the indexes the spec wants built: the index
// definitions of its version, the cluster and prefix, and the preset
// (which sets the indexes' replicas). "" without search. An index build
// is due whenever it differs from that of the last build.
func (s *Spec) SearchIndex() string {
	if s.Search == nil {
		return ""
	}
	return SearchIndexDefinitions(s.Version) + " " + s.Search.endpoint() + " " + s.Search.Preset
}

// SearchDeploy is one run of `tootctl search deploy`.
type SearchDeploy struct {
	// Only are the indexes to build (nil: every index).
	Only []string
	// ResetChewy drops Chewy's record of the index specifications, so
	// every index is rebuilt with the preset's settings, that record's own
	// index included (the system check asks for it when the preset went
	// down to single_node_cluster).
	ResetChewy bool
	// Want is the SearchIndex it builds, From the one built before ("" for
	// none).
	Want, From string
}

// PlanSearchDeploy says which index build brings the indexes last built
// for built (a SearchIndex, "" for none) to the spec's; nil when none is
// due. Search switched on, another cluster or prefix: every index. Another
// preset: every index, and Chewy's record. An upgrade across index
// definition changes: the indexes that changed.
func (s *Spec) PlanSearchDeploy(built string) *SearchDeploy {
	want := s.SearchIndex()
	if want == "" || want == built {
		return nil
	}
	d := &SearchDeploy{Want: want, From: built}
	was := strings.Fields(built)
	now := strings.Fields(want)
	switch {
	case len(was) != 3 || was[1] != now[1]:
		// Nothing built there yet.
	case was[2] != now[2]:
		d.ResetChewy = true
	default:
		from, _ := Parse(was[0])
		to, _ := Parse(now[0])
		for _, c := range SearchIndexChanges {
			if v, _ := Parse(c.Version); v.Compare(from) > 0 && v.Compare(to) <= 0 {
				for _, i := range c.Indexes {
					if !slices.Contains(d.Only, i) {
						d.Only = append(d.Only, i)
					}
				}
			}
		}
		if len(d.Only) == 0 {
			// A definition this provider does not know: build everything.
			d.Only = nil
		}
	}
	return d
}

// Args are the arguments of tootctl.
func (d *SearchDeploy) Args() []string {
	args := []string{"search", "deploy"}
	if len(d.Only) > 0 {
		args = append(append(args, "--only"), d.Only...)
	}
	if d.ResetChewy {
		args = append(args, "--reset-chewy")
	}
	return args
}

// SearchDeployJobName carries a hash of what the build does and builds, so
// a build interrupted half way is resumed by waiting for the same Job, and
// another build is another Job.
func (s *Spec) SearchDeployJobName(d *SearchDeploy) string {
	return s.Name + "-search-deploy-" + hashOf(d.Want, d.From, d.Args())[:8]
}

// SearchSelector selects the instance's index build Jobs.
func (s *Spec) SearchSelector() string {
	return InstanceSelector(s.Name) + "," + LabelComponent + "=" + ComponentSearchDeploy
}

// SearchDeployJob runs `tootctl search deploy` in a copy of the web Pod.
// The Job is kept once complete (like the migration Jobs, its log says
// what was indexed), until the next build or search is switched off.
func (s *Spec) SearchDeployJob(d *SearchDeploy) Object {
	web := s.railsPod("web", nil, s.jobResources())
	script := "cd /opt/mastodon\nexec bin/tootctl " + strings.Join(d.Args(), " ") + "\n"
	spec := webPodJobSpec(web, "search-deploy", nil, script, s.templateLabels(ComponentSearchDeploy), 1)
	spec.TTLSecondsAfterFinished = nil
	s.withJobSettings(&spec.Template, ComponentSearchDeploy)
	meta := s.meta(s.SearchDeployJobName(d), ComponentSearchDeploy)
	meta.Annotations = map[string]string{AnnotationSearchIndex: d.Want}
	return NewObject(&batchv1.Job{TypeMeta: typeMeta("batch/v1", "Job"), ObjectMeta: meta, Spec: spec})
}

// searchFeature connects Mastodon to a search cluster (Spec.Search).
type searchFeature struct{ noFeature }

func (searchFeature) env(s *Spec, plain, secret map[string]string) {
	x := s.Search
	if x == nil {
		return
	}
	plain["ES_ENABLED"] = "true"
	plain["ES_HOST"] = x.Host
	if x.Scheme == "https" {
		// Chewy connects to "#{ES_HOST}:#{ES_PORT}": a scheme in ES_HOST
		// is the client's scheme.
		plain["ES_HOST"] = "https://" + x.Host
	}
	plain["ES_PORT"] = strconv.Itoa(int(x.Port))
	plain["ES_PRESET"] = x.Preset
	setNonEmpty(plain, map[string]string{"ES_PREFIX": x.Prefix, "ES_USER": x.User})
	setNonEmpty(secret, map[string]string{EnvSearchPassword: x.Password})
	if x.CACertificatePEM != "" {
		plain["ES_CA_FILE"] = searchCADir + "/" + searchCAFile
	}
}

// searchCA is the search cluster's CA certificate, or "".
func (s *Spec) searchCA() string {
	if s.Search == nil {
		return ""
	}
	return s.Search.CACertificatePEM
}

// objects are the ConfigMap of the search cluster's CA, if any.
func (searchFeature) objects(s *Spec, at stage) []Object {
	if ca := s.searchCA(); ca != "" && at == afterCertificates {
		return []Object{s.caConfigMap(s.SearchCAName(), ComponentSearchCA, searchCAFile, ca)}
	}
	return nil
}

// pod mounts the search cluster's CA certificate, if any.
func (searchFeature) pod(s *Spec, pod *corev1.PodSpec) {
	if s.searchCA() != "" {
		mountConfigMap(pod, "search-ca", s.SearchCAName(), searchCADir)
	}
}

func (searchFeature) inputs(s *Spec) []any {
	if ca := s.searchCA(); ca != "" {
		return []any{"search", ca}
	}
	return nil
}

// connections: the index build Job is a tootctl.
func (searchFeature) connections(s *Spec) int32 {
	if s.Search != nil {
		return tootctlConnections
	}
	return 0
}

// ES_PREFIX goes before index names, which Elasticsearch wants lowercase,
// without \ / * ? " < > | , # : or spaces, and not starting with _ - +.
var searchPrefixRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

func (searchFeature) defaults(s *Spec) {
	x := s.Search
	if x == nil {
		return
	}
	if x.Port == 0 {
		x.Port = 9200
	}
	if x.Scheme == "" {
		x.Scheme = "http"
	}
	if x.Preset == "" {
		x.Preset = "single_node_cluster"
	}
}

func (searchFeature) validate(s *Spec, e *fieldErrors) {
	x := s.Search
	if x == nil {
		return
	}
	add := e.add
	s.refuseExtra("opensearch", func(k string) bool { return strings.HasPrefix(k, "ES_") }, e)
	if x.Host == "" {
		add("opensearch.host", "must be set")
	}
	if x.Password != "" && x.User == "" {
		add("opensearch.user", "must be set with opensearch.password: Mastodon authenticates with both or neither")
		e.related("opensearch.password", "opensearch.password_wo")
	}
	if x.CACertificatePEM != "" && x.Scheme != "https" {
		add("opensearch.ca_certificate_pem", "needs opensearch.scheme = \"https\": the CA verifies a TLS connection")
		e.related("opensearch.scheme")
	}
}

// CheckSearchHost checks opensearch.host: a host name or address, the
// scheme apart.
func CheckSearchHost(v string) error {
	switch {
	case v == "":
		return nil
	case strings.Contains(v, "://"):
		return fmt.Errorf("%q must be a host name or address without scheme: set opensearch.scheme = \"https\" for TLS", v)
	case len(validation.IsDNS1123Subdomain(strings.ToLower(v))) > 0 && len(validation.IsValidIP(nil, v)) > 0:
		return fmt.Errorf("%q is not a host name or IP address", v)
	}
	return nil
}

// CheckSearchScheme checks opensearch.scheme.
func CheckSearchScheme(v string) error {
	if v != "" && v != "http" && v != "https" {
		return fmt.Errorf("must be http or https, not %q", v)
	}
	return nil
}

// CheckSearchPreset checks opensearch.preset.
func CheckSearchPreset(v string) error { return checkOneOf(v, SearchPresets) }

// CheckSearchPrefix checks opensearch.prefix.
func CheckSearchPrefix(v string) error {
	if v != "" && !searchPrefixRe.MatchString(v) {
		return fmt.Errorf("%q is not an index name prefix: lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters", v)
	}
	return nil
}

// CheckCertificatePEM checks a CA certificate.
func CheckCertificatePEM(v string) error {
	if v != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(v)) {
		return errors.New("holds no PEM certificate")
	}
	return nil
}
