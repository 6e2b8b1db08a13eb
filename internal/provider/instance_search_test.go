package provider

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

const (
	searchOn = `  opensearch = {
    host     = "opensearch.search.svc"
    user     = "mastodon"
    password = "es-password"
    prefix   = "social"
  }
`
	deeplOn = `  translation = { deepl = { api_key = "deepl-key", plan = "pro" } }
`
	libreOn = `  translation = { libre_translate = { endpoint = "http://libretranslate.translate:5000", api_key = "libre-key" } }
`
)

// searchJobs are the instance's index build Jobs: name -> UID.
func (c *testCluster) searchJobs(ns string) (map[string]string, error) {
	jobs, err := c.cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=" + mastodon.ComponentSearchDeploy})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, j := range jobs.Items {
		if j.Status.Succeeded != 1 {
			return nil, fmt.Errorf("index build Job %s did not complete", j.Name)
		}
		out[j.Name] = string(j.UID)
	}
	return out, nil
}

// Search and translation switched on, off and on again, with an account
// present: the variables appear in and disappear from the ConfigMap and the
// Secret (secrets in the Secret only), every Rails Pod rolls when they
// change and not otherwise, the index build runs once when search is
// switched on, not again on an unrelated change, and again when search
// comes back or its preset changes; the account's objects never change.
func TestAccInstance_searchAndTranslation(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "search")
	ctx := context.Background()
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var first snapshot
	var jobs map[string]string
	generations := map[string]int64{}
	record := func() {
		deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps.Items {
			generations[d.Name] = d.Generation
		}
	}
	rolled := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, d := range deps.Items {
				if got := d.Generation != generations[d.Name]; got != want {
					return fmt.Errorf("Deployment %s: rolled = %v, want %v", d.Name, got, want)
				}
			}
			return nil
		}
	}
	env := func(plain, secret map[string]string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{})
			if err != nil {
				return err
			}
			sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
			if err != nil {
				return err
			}
			for k, v := range plain {
				if got, ok := cm.Data[k]; got != v || ok != (v != "") {
					return fmt.Errorf("ConfigMap %s = %q (set %v), want %q", k, got, ok, v)
				}
				if _, ok := sec.Data[k]; ok {
					return fmt.Errorf("%s is in the Secret", k)
				}
			}
			for k, v := range secret {
				if got, ok := sec.Data[k]; string(got) != v || ok != (v != "") {
					return fmt.Errorf("Secret %s = %q (set %v), want %q", k, got, ok, v)
				}
				if _, ok := cm.Data[k]; ok {
					return fmt.Errorf("secret %s is in the ConfigMap", k)
				}
			}
			return nil
		}
	}
	searchEnv := map[string]string{"ES_ENABLED": "true", "ES_HOST": "opensearch.search.svc", "ES_PORT": "9200", "ES_PRESET": "single_node_cluster",
		"ES_PREFIX": "social", "ES_USER": "mastodon"}
	noSearchEnv := map[string]string{}
	for k := range searchEnv {
		noSearchEnv[k] = ""
	}
	account := func(s *terraform.State) error {
		snap, err := c.snapshot(ns, s)
		if err != nil {
			return err
		}
		if first.accountUIDs == nil {
			first = snap
			return nil
		}
		if !maps.Equal(snap.accountUIDs, first.accountUIDs) || !maps.Equal(snap.secrets, first.secrets) || snap.foreignUID != first.foreignUID {
			return fmt.Errorf("the account's objects, someone else's or the generated secrets changed: %v, were %v", snap.accountUIDs, first.accountUIDs)
		}
		return nil
	}
	builds := func(n int, same bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			got, err := c.searchJobs(ns)
			if err != nil {
				return err
			}
			if len(got) != n {
				return fmt.Errorf("%d index build Jobs, want %d: %v", len(got), n, got)
			}
			if same != maps.Equal(got, jobs) {
				return fmt.Errorf("index build Jobs %v, were %v: want the same = %v", got, jobs, same)
			}
			jobs = got
			return nil
		}
	}
	index := func(want string) statecheck.StateCheck {
		if want == "" {
			return statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("search_index"), knownvalue.Null())
		}
		return statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("search_index"), knownvalue.StringExact(want))
	}
	built := mastodon.SearchIndexDefinitions(mastodon.DefaultVersion) + " http://opensearch.search.svc:9200/social single_node_cluster"
	config := func(extra string) string { return lifecycleConfig(ns, mastodon.DefaultVersion, extra) }
	ca, _ := testCertificatePEM(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				// Created with both: the index built once, after the rollout.
				Config: config(searchOn + deeplOn),
				Check: resource.ComposeAggregateTestCheckFunc(account, builds(1, false),
					env(searchEnv, map[string]string{"ES_PASS": "es-password", "DEEPL_API_KEY": "deepl-key"}),
					env(map[string]string{"DEEPL_PLAN": "pro"}, nil)),
				ConfigStateChecks: []statecheck.StateCheck{index(built)},
			},
			{
				// An unrelated change: only web rolls, no index build.
				PreConfig: record,
				Config:    config(searchOn + deeplOn + "  web = { replicas = 2 }\n"),
				Check: resource.ComposeAggregateTestCheckFunc(account, builds(1, true), func(s *terraform.State) error {
					deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
					if err != nil {
						return err
					}
					for _, d := range deps.Items {
						if (d.Generation != generations[d.Name]) != (d.Name == "social-web") {
							return fmt.Errorf("Deployment %s rolled = %v", d.Name, d.Generation != generations[d.Name])
						}
					}
					return nil
				}),
				ConfigStateChecks: []statecheck.StateCheck{index(built)},
			},
			{
				// DeepL -> LibreTranslate: every Rails Pod rolls, no index build.
				PreConfig: record,
				Config:    config(searchOn + libreOn),
				Check: resource.ComposeAggregateTestCheckFunc(account, builds(1, true), rolled(true),
					env(map[string]string{"DEEPL_PLAN": "", "LIBRE_TRANSLATE_ENDPOINT": "http://libretranslate.translate:5000"},
						map[string]string{"DEEPL_API_KEY": "", "LIBRE_TRANSLATE_API_KEY": "libre-key"})),
			},
			{
				// Both off: the variables and the build Jobs go.
				PreConfig: record,
				Config:    config(""),
				Check: resource.ComposeAggregateTestCheckFunc(account, builds(0, false), rolled(true),
					env(noSearchEnv, map[string]string{"ES_PASS": "", "LIBRE_TRANSLATE_API_KEY": ""}),
					env(map[string]string{"LIBRE_TRANSLATE_ENDPOINT": ""}, nil)),
				ConfigStateChecks: []statecheck.StateCheck{index("")},
			},
			{
				// On again: built again (what was written meanwhile is not in the indexes).
				PreConfig: record,
				Config:    config(searchOn + deeplOn),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("search_index"), knownvalue.StringExact(built)),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(account, builds(1, false), rolled(true),
					env(searchEnv, map[string]string{"ES_PASS": "es-password", "DEEPL_API_KEY": "deepl-key"})),
				ConfigStateChecks: []statecheck.StateCheck{index(built)},
			},
			{
				// Another preset: every index rebuilt, Chewy's record reset;
				// the earlier build Job goes.
				Config: config(strings.Replace(searchOn, `prefix   = "social"`, `prefix = "social"
    preset = "small_cluster"`, 1) + deeplOn),
				Check: resource.ComposeAggregateTestCheckFunc(account, builds(1, false), func(*terraform.State) error {
					for name := range jobs {
						job, err := c.cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
						if err != nil {
							return err
						}
						if cmd := strings.Join(job.Spec.Template.Spec.Containers[0].Command, " "); !strings.Contains(cmd, "tootctl search deploy --reset-chewy") {
							return fmt.Errorf("Job %s runs %q", name, cmd)
						}
					}
					return nil
				}),
				ConfigStateChecks: []statecheck.StateCheck{index(strings.Replace(built, "single_node_cluster", "small_cluster", 1))},
			},
			{
				ResourceName:      "mastodon_instance.test",
				ImportState:       true,
				ImportStateId:     ns + "/social",
				ImportStateVerify: true,
			},
			{
				// TLS with a private CA: a ConfigMap mounted into the Rails Pods.
				Config: config(strings.Replace(searchOn, `prefix   = "social"`, fmt.Sprintf(`prefix = "social"
    scheme = "https"
    ca_certificate_pem = %s`, hclString(ca)), 1)),
				Check: resource.ComposeAggregateTestCheckFunc(account, builds(1, false),
					env(map[string]string{"ES_HOST": "https://opensearch.search.svc", "ES_CA_FILE": "/etc/mastodon/search-ca/ca.crt"}, nil),
					func(*terraform.State) error {
						cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-search-ca", metav1.GetOptions{})
						if err != nil {
							return err
						}
						if cm.Data["ca.crt"] != ca {
							return fmt.Errorf("the CA's ConfigMap holds %q", cm.Data["ca.crt"])
						}
						return nil
					}),
			},
			{
				// Off: the CA's ConfigMap goes too.
				Config: config(""),
				Check: resource.ComposeAggregateTestCheckFunc(account, builds(0, false), env(map[string]string{"ES_CA_FILE": ""}, nil),
					func(*terraform.State) error {
						if _, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-search-ca", metav1.GetOptions{}); err == nil {
							return fmt.Errorf("the CA's ConfigMap is still there")
						}
						return nil
					}),
			},
		},
	})
}

// A refresh learns that an index build left running (wait_for_index =
// false) completed, with one read of its Job, and reports a failed one.
func TestRefreshBackgroundIndex(t *testing.T) {
	ctx := context.Background()
	state := withSearch(model(mastodon.DefaultVersion, nil), false, "")
	spec, d := state.spec(ctx)
	if d.HasError() {
		t.Fatal(d)
	}
	name := spec.SearchDeployJobName(spec.PlanSearchDeploy(""))
	job := func(condition string) *unstructured.Unstructured {
		u := obj("Job", name, mastodon.Labels("social", mastodon.ComponentSearchDeploy, mastodon.OwnerInstance))
		u.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": condition, "status": "True", "message": "boom"}}}
		return u
	}
	for _, tc := range []struct {
		job          *unstructured.Unstructured
		index, drift string
	}{
		{nil, "", ""},
		{job("Complete"), spec.SearchIndex(), ""},
		{job("Failed"), "", "failed (boom)"},
	} {
		s := *state
		var objs []runtime.Object
		if tc.job != nil {
			objs = append(objs, tc.job)
		}
		msg, err := refreshBackgroundIndex(ctx, fakeClient(objs...), &s, spec)
		if err != nil || s.SearchIndex.ValueString() != tc.index || (tc.drift == "") != (msg == "") || !strings.Contains(msg, tc.drift) {
			t.Errorf("%v: search_index %q, drift %q, err %v", tc.job != nil, s.SearchIndex.ValueString(), msg, err)
		}
	}
	// Waiting applies record what they built themselves: no read.
	waiting := withSearch(model(mastodon.DefaultVersion, nil), true, "")
	if msg, err := refreshBackgroundIndex(ctx, nil, waiting, spec); msg != "" || err != nil {
		t.Error("a refresh read the Job of a waited-for build")
	}
}

// Search (with its CA) and translation add no kind to what a refresh lists.
func TestSearchAddsNoRefreshRequests(t *testing.T) {
	s := testSpec()
	plain := strings.Join(refreshedKinds(s.Render(mastodon.Secrets{}, "")), ",")
	ca, _ := testCertificatePEM(t)
	s.Search = &mastodon.Search{Host: "es.internal", Scheme: "https", CACertificatePEM: ca}
	s.Translation = &mastodon.Translation{DeepL: &mastodon.DeepL{APIKey: "k"}}
	s.Defaults()
	if got := strings.Join(refreshedKinds(s.Render(mastodon.Secrets{}, "")), ","); got != plain {
		t.Errorf("kinds listed by a refresh: %s, without search and translation %s", got, plain)
	}
}

// A failed index build: on create, a warning (the instance runs; an error
// would taint it), and the next plan shows the build again; on update, an
// error naming the Job, its Pods' events and log; the cause removed, the
// next apply builds. Without waiting (wait_for_index = false), the apply
// starts the build and goes on, and the refresh after it completes makes
// the plan empty.
func TestAccInstance_searchIndexBuildFailsOrRunsInBackground(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "search-fail")
	ctx := context.Background()
	heal := c.failPods(t, ns, mastodon.ComponentSearchDeploy, "index-build-boom")
	config := func(extra string) string { return instanceConfig(ns, extra) }
	built := mastodon.SearchIndexDefinitions(mastodon.DefaultVersion) + " http://opensearch.search.svc:9200/social single_node_cluster"
	var unhang func()
	background := strings.Replace(searchOn, `prefix   = "social"`, `prefix = "social2"
    wait_for_index = false`, 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:             config(searchOn),
				ExpectNonEmptyPlan: true,
				Check: func(*terraform.State) error {
					deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
					if err != nil {
						return err
					}
					if len(deps.Items) != 3 {
						return fmt.Errorf("want the instance running: %d Deployments", len(deps.Items))
					}
					jobs, err := c.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=" + mastodon.ComponentSearchDeploy})
					if err != nil {
						return err
					}
					if len(jobs.Items) != 1 || jobs.Items[0].Status.Failed == 0 {
						return fmt.Errorf("want one failed index build Job, got %d", len(jobs.Items))
					}
					return nil
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("search_index"), knownvalue.Null()),
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("ready"), knownvalue.Bool(true)),
				},
			},
			{
				Config: config(searchOn),
				ExpectError: regexp.MustCompile(`(?s)The search index build failed.*Job ` + ns + `/social-search-deploy-[0-9a-f]+.*BackoffLimitExceeded` +
					`.*index-build-boom.*Everything else is done`),
			},
			{
				PreConfig:         heal,
				Config:            config(searchOn),
				Check:             func(*terraform.State) error { _, err := c.searchJobs(ns); return err },
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("search_index"), knownvalue.StringExact(built))},
			},
			{
				// Another prefix, without waiting: the build starts (it
				// hangs here), the apply goes on; the plan shows it to do.
				PreConfig: func() {
					unhang = c.stagePods(t, "hang-"+ns+"-search", ns, mastodon.ComponentSearchDeploy, hangingPod)
				},
				Config:             config(background),
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue("mastodon_instance.test", tfjsonpath.New("search_index")),
				}},
				Check: func(*terraform.State) error {
					jobs, err := c.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=" + mastodon.ComponentSearchDeploy})
					if err != nil {
						return err
					}
					if len(jobs.Items) != 1 || jobs.Items[0].Status.Succeeded != 0 {
						return fmt.Errorf("want one unfinished index build Job (the earlier one removed), got %d", len(jobs.Items))
					}
					return nil
				},
			},
			{
				// It completes: a refresh learns it, and the plan is empty.
				PreConfig: func() {
					unhang()
					if err := c.cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{
						LabelSelector: "app.kubernetes.io/component=" + mastodon.ComponentSearchDeploy}); err != nil {
						t.Fatal(err)
					}
					deadline := time.Now().Add(2 * time.Minute)
					for {
						jobs, err := c.searchJobs(ns)
						if err == nil && len(jobs) == 1 {
							return
						}
						if time.Now().After(deadline) {
							t.Fatalf("the index build did not complete: %v %v", jobs, err)
						}
						time.Sleep(time.Second)
					}
				},
				RefreshState: true,
			},
			{Config: config(background), PlanOnly: true},
		},
	})
}
