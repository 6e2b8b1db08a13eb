package mastodon

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/testcert"
)

func searchSpec() *Spec {
	s := defaultSpec()
	s.Search = &Search{Host: "opensearch.search.svc", User: "mastodon", Password: "es-secret", Prefix: "social"}
	s.Defaults()
	return s
}

// config/initializers/chewy.rb (v4.3.0 to main at 4.7.0-alpha.2): search
// is on only for ES_ENABLED == 'true'; Chewy connects to
// "#{ES_HOST}:#{ES_PORT}" (a scheme written in ES_HOST, https://, is the
// client's scheme), authenticates with ES_USER and ES_PASS when present,
// puts ES_PREFIX before index names, verifies TLS with the CA file
// ES_CA_FILE names, and gives indexes no replica for ES_PRESET
// single_node_cluster (or unset), one otherwise. The password is a secret:
// only in the Secret.
func TestSearchEnvironmentContract(t *testing.T) {
	s := searchSpec()
	plain, secret := s.Environment(fixedSecrets)
	want := map[string]string{"ES_ENABLED": "true", "ES_HOST": "opensearch.search.svc", "ES_PORT": "9200",
		"ES_PRESET": "single_node_cluster", "ES_PREFIX": "social", "ES_USER": "mastodon"}
	for k, v := range want {
		if plain[k] != v {
			t.Errorf("%s=%q, want %q", k, plain[k], v)
		}
	}
	if _, ok := plain["ES_PASS"]; ok || secret["ES_PASS"] != "es-secret" {
		t.Errorf("ES_PASS must be in the Secret only: plain %q, secret %q", plain["ES_PASS"], secret["ES_PASS"])
	}
	if _, ok := plain["ES_CA_FILE"]; ok {
		t.Error("ES_CA_FILE without a CA")
	}

	ca, _ := testcert.SelfSigned(t, "opensearch.search.svc", 0)
	s.Search.Scheme, s.Search.CACertificatePEM, s.Search.Port = "https", ca, 443
	objs := s.Render(fixedSecrets, "")
	plain, _ = s.Environment(fixedSecrets)
	if plain["ES_HOST"] != "https://opensearch.search.svc" || plain["ES_PORT"] != "443" {
		t.Errorf("https: ES_HOST=%q ES_PORT=%q", plain["ES_HOST"], plain["ES_PORT"])
	}
	cm := find[corev1.ConfigMap](t, objs, "ConfigMap", s.SearchCAName())
	web := find[appsv1.Deployment](t, objs, "Deployment", s.WebName())
	var mounted string
	for _, m := range web.Spec.Template.Spec.Containers[0].VolumeMounts {
		if m.Name == "search-ca" {
			mounted = m.MountPath + "/" + searchCAFile
		}
	}
	if mounted == "" || plain["ES_CA_FILE"] != mounted || cm.Data[searchCAFile] != ca {
		t.Errorf("ES_CA_FILE=%q, mounted at %q", plain["ES_CA_FILE"], mounted)
	}
}

// app/lib/translation_service.rb and config/translation.yml (main at
// 4.7.0-alpha.2; v4.3.0 read the same variables directly): DeepL when
// DEEPL_API_KEY is present, with DEEPL_PLAN (default free: 'free' means
// api-free.deepl.com, anything else api.deepl.com, in
// app/lib/translation_service/deepl.rb); else LibreTranslate when
// LIBRE_TRANSLATE_ENDPOINT is present, with LIBRE_TRANSLATE_API_KEY
// (optional). The keys are secrets: only in the Secret.
func TestTranslationEnvironmentContract(t *testing.T) {
	s := defaultSpec()
	s.Translation = &Translation{DeepL: &DeepL{APIKey: "deepl-key"}}
	s.Defaults()
	plain, secret := s.Environment(fixedSecrets)
	if plain["DEEPL_PLAN"] != "free" || secret["DEEPL_API_KEY"] != "deepl-key" || plain["DEEPL_API_KEY"] != "" {
		t.Errorf("DeepL: plain %v, secret key %q", plain["DEEPL_PLAN"], secret["DEEPL_API_KEY"])
	}
	if _, ok := plain["LIBRE_TRANSLATE_ENDPOINT"]; ok {
		t.Error("LibreTranslate set with DeepL")
	}
	s.Translation = &Translation{LibreTranslate: &LibreTranslate{Endpoint: "https://translate.example.org", APIKey: "libre-key"}}
	plain, secret = s.Environment(fixedSecrets)
	if plain["LIBRE_TRANSLATE_ENDPOINT"] != "https://translate.example.org" || secret["LIBRE_TRANSLATE_API_KEY"] != "libre-key" || plain["LIBRE_TRANSLATE_API_KEY"] != "" {
		t.Errorf("LibreTranslate: endpoint %q, secret key %q", plain["LIBRE_TRANSLATE_ENDPOINT"], secret["LIBRE_TRANSLATE_API_KEY"])
	}
	if _, ok := secret["DEEPL_API_KEY"]; ok {
		t.Error("DEEPL_API_KEY set with LibreTranslate: Mastodon would use DeepL")
	}
}

// lib/mastodon/cli/search.rb: `tootctl search deploy` creates the indexes
// that are missing, purges those whose specification changed, and imports
// the database into every index it is given (all by default, or those of
// --only: instances accounts tags public_statuses statuses);
// --reset-chewy drops Chewy's record of specifications first. An import
// of statuses is the long part: a build imports only what needs it.
func TestSearchDeployPlan(t *testing.T) {
	s := searchSpec()
	s.Version = "v4.4.3"
	want := s.SearchIndex()
	if want != "v4.4.0-beta.1 http://opensearch.search.svc:9200/social single_node_cluster" {
		t.Fatalf("SearchIndex: %q", want)
	}
	args := func(built string) string {
		d := s.PlanSearchDeploy(built)
		if d == nil {
			return "none"
		}
		return strings.Join(d.Args(), " ")
	}
	cases := []struct{ built, args string }{
		{"", "search deploy"}, // switched on
		{want, "none"},        // built: nothing to do
		{"v4.3.0 http://opensearch.search.svc:9200/social single_node_cluster", "search deploy --only accounts"}, // upgrade from 4.3
		{"v4.3.0 http://other:9200/social single_node_cluster", "search deploy"},                                 // another cluster
		{"v4.4.0-beta.1 http://opensearch.search.svc:9200/other single_node_cluster", "search deploy"},           // another prefix
		{"v4.4.0-beta.1 http://opensearch.search.svc:9200/social small_cluster", "search deploy --reset-chewy"},  // another preset
		{"garbage", "search deploy"},
	}
	for _, c := range cases {
		if got := args(c.built); got != c.args {
			t.Errorf("built %q: %q, want %q", c.built, got, c.args)
		}
	}
	// Without search, nothing.
	s.Search = nil
	if s.PlanSearchDeploy("") != nil || s.SearchIndex() != "" {
		t.Error("an index build without search")
	}
}

// The index definitions each release runs, and which upgrades need an
// index build: the data of SearchIndexChanges, read from app/chewy/*.rb
// between the tags (v4.3.0..v4.6.5 and main at 4.7.0-alpha.2: only
// accounts_index.rb changed, in v4.4.0-beta.1; public_statuses_index.rb
// changed only its indentation in v4.6.0).
func TestSearchIndexDefinitions(t *testing.T) {
	for v, want := range map[string]string{
		"v4.3.0": "v4.3.0", "v4.3.23": "v4.3.0", "v4.4.0-beta.1": "v4.4.0-beta.1", "v4.4.0-rc.1": "v4.4.0-beta.1",
		"v4.4.0": "v4.4.0-beta.1", "v4.6.5": "v4.4.0-beta.1", DefaultVersion: "v4.4.0-beta.1", "latest": "v4.3.0",
	} {
		if got := SearchIndexDefinitions(v); got != want {
			t.Errorf("%s: %s, want %s", v, got, want)
		}
	}
	for _, c := range SearchIndexChanges {
		if _, ok := Parse(c.Version); !ok || c.Why == "" {
			t.Errorf("change %+v", c)
		}
		for _, i := range c.Indexes {
			if !slices.Contains(SearchIndexes, i) {
				t.Errorf("%s: unknown index %q", c.Version, i)
			}
		}
	}
	// Upgrades: 4.3 -> 4.4 builds accounts; 4.4 -> 4.5 and 4.6 -> 4.7 build nothing.
	up := func(from, to string) string {
		s := searchSpec()
		s.Version = from
		built := s.SearchIndex()
		s.Version = to
		if d := s.PlanSearchDeploy(built); d != nil {
			return strings.Join(d.Args(), " ")
		}
		return "none"
	}
	for _, c := range [][3]string{{"v4.3.23", "v4.4.0", "search deploy --only accounts"}, {"v4.4.22", "v4.5.0", "none"}, {"v4.6.5", DefaultVersion, "none"}} {
		if got := up(c[0], c[1]); got != c[2] {
			t.Errorf("%s -> %s: %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

// The index build runs tootctl in a copy of the web Pod (image,
// configuration, volumes), is named after what it builds, and is kept
// once complete.
func TestSearchDeployJob(t *testing.T) {
	s := searchSpec()
	d := s.PlanSearchDeploy("")
	o := s.SearchDeployJob(d)
	job := find[batchv1.Job](t, []Object{o}, "Job", s.SearchDeployJobName(d))
	c := job.Spec.Template.Spec.Containers[0]
	if c.Image != s.Image() || !strings.Contains(c.Command[2], "exec bin/tootctl search deploy\n") || len(c.EnvFrom) != 2 {
		t.Errorf("container: %s %q", c.Image, c.Command)
	}
	if job.Spec.TTLSecondsAfterFinished != nil {
		t.Error("the Job must be kept once complete")
	}
	if job.Labels[LabelComponent] != ComponentSearchDeploy || job.Labels[LabelOwner] != OwnerInstance {
		t.Errorf("labels %v", job.Labels)
	}
	other := s.PlanSearchDeploy("v4.3.0 http://opensearch.search.svc:9200/social single_node_cluster")
	if s.SearchDeployJobName(other) == s.SearchDeployJobName(d) || s.SearchDeployJobName(d) != s.SearchDeployJobName(s.PlanSearchDeploy("")) {
		t.Error("Job names must differ by build and repeat for the same build")
	}
	if len(s.SearchDeployJobName(d)) > 63 {
		t.Error("name too long")
	}
}

// The rules of one attribute each (a host, a port, a scheme, a preset, a
// prefix, a certificate, a plan, an endpoint) are the schema's validators:
// internal/provider, TestFeatureChecks.
func TestSearchAndTranslationValidation(t *testing.T) {
	ca, _ := testcert.SelfSigned(t, "x", 0)
	cases := []struct {
		search *Search
		tr     *Translation
		paths  []string
	}{
		{&Search{Host: "es.internal"}, nil, nil},
		{&Search{Host: "10.0.0.5", Scheme: "https", CACertificatePEM: ca, Preset: "large_cluster", Prefix: "social-1"}, nil, nil},
		{&Search{}, nil, []string{"opensearch.host"}},
		{&Search{Host: "es.internal", Password: "p"}, nil, []string{"opensearch.user"}},
		{&Search{Host: "es.internal", CACertificatePEM: "nope"}, nil, []string{"opensearch.ca_certificate_pem"}},
		{nil, &Translation{DeepL: &DeepL{APIKey: "k", Plan: "pro"}}, nil},
		{nil, &Translation{LibreTranslate: &LibreTranslate{Endpoint: "http://libretranslate:5000"}}, nil},
		{nil, &Translation{}, []string{"translation"}},
		{nil, &Translation{DeepL: &DeepL{APIKey: "k"}, LibreTranslate: &LibreTranslate{Endpoint: "http://x"}}, []string{"translation.deepl"}},
		{nil, &Translation{DeepL: &DeepL{Plan: "business"}}, []string{"translation.deepl.api_key"}},
	}
	for i, c := range cases {
		s := defaultSpec()
		s.Search, s.Translation = c.search, c.tr
		s.Defaults()
		if got := errorPaths(s.Validate()); !slices.Equal(got, c.paths) {
			t.Errorf("case %d: errors at %v, want %v (%v)", i, got, c.paths, s.Validate())
		}
	}
}

// A free-form variable that opensearch or translation renders is refused:
// it would silently replace the block's value.
func TestSearchAndTranslationOwnTheirVariables(t *testing.T) {
	s := defaultSpec()
	s.Settings.ExtraEnv = map[string]string{"ES_ENABLED": "false", "DEEPL_PLAN": "pro"}
	s.Settings.ExtraSecretEnv = map[string]string{"DEEPL_API_KEY": "x"}
	// Without the blocks, what an adoption maps (DEEPL_PLAN) is refused,
	// what it carries over is accepted, with a warning naming the block.
	if got := errorPaths(s.Validate()); !slices.Equal(got, []string{"settings.extra_env"}) {
		t.Fatalf("without the blocks: errors at %v (%v)", got, s.Validate())
	}
	if w := s.Warnings(); len(w) != 2 || !strings.Contains(w[0].Message, "belongs to opensearch") || !strings.Contains(w[1].Message, "belongs to translation") {
		t.Fatalf("without the blocks, warnings: %v", w)
	}
	s.Search = &Search{Host: "es.internal"}
	s.Translation = &Translation{LibreTranslate: &LibreTranslate{Endpoint: "http://libretranslate:5000"}}
	s.Defaults()
	got := errorPaths(s.Validate())
	slices.Sort(got)
	if want := []string{"settings.extra_env", "settings.extra_env", "settings.extra_secret_env"}; !slices.Equal(got, want) {
		t.Errorf("errors at %v, want %v (%v)", got, want, s.Validate())
	}
}

func TestRenderSearch(t *testing.T) {
	s := searchSpec()
	ca, _ := fixedCertificate(t)
	s.Search.Scheme, s.Search.CACertificatePEM = "https", ca
	s.Translation = &Translation{DeepL: &DeepL{APIKey: "deepl-key", Plan: "pro"}}
	s.Defaults()
	var objs []Object
	for _, o := range s.Render(fixedSecrets, "") {
		if o.Kind == "ConfigMap" || (o.Kind == "Deployment" && o.Name == s.WebName()) {
			objs = append(objs, o)
		}
	}
	objs = append(objs, s.SearchDeployJob(s.PlanSearchDeploy("")))
	golden(t, "search.yaml", renderYAML(t, objs))
}
