package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// keptUIDs are the UIDs of the instance's Secret, claims, ConfigMap and web
// Deployment, and its SECRET_KEY_BASE.
func (c *testCluster) keptUIDs(ns string) (map[string]string, error) {
	ctx := context.Background()
	out := map[string]string{}
	sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	out["Secret"], out["SECRET_KEY_BASE"] = string(sec.UID), string(sec.Data["SECRET_KEY_BASE"])
	claims, err := c.claims(ns)
	if err != nil {
		return nil, err
	}
	for name, p := range claims {
		out["claim "+name] = string(p.UID)
	}
	if cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{}); err == nil {
		out["ConfigMap"] = string(cm.UID)
	}
	if d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{}); err == nil {
		out["Deployment"] = string(d.UID)
	}
	return out, nil
}

// checkMarked checks that the Secret and every claim record the domain and
// the instance.
func (c *testCluster) checkMarked(ns, domain string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
		if err != nil {
			return err
		}
		marks := map[string]map[string]string{"Secret social-secrets": sec.Annotations}
		claims, err := c.claims(ns)
		if err != nil {
			return err
		}
		for name, p := range claims {
			marks["claim "+name] = p.Annotations
		}
		if len(claims) < 3 {
			return fmt.Errorf("want the database, Redis and media claims, got %d", len(claims))
		}
		for what, a := range marks {
			if a[mastodon.AnnotationLocalDomain] != domain || a[mastodon.AnnotationInstance] != "social" {
				return fmt.Errorf("%s does not record local_domain %s and instance social: %v", what, domain, a)
			}
		}
		return nil
	}
}

// Kept data records the domain it belongs to. Changing local_domain with
// the volumes kept (the default) is refused at plan time, before the
// replacement destroys anything; destroyed and created again with the
// same domain, the instance reopens its data (the plan warns, naming it)
// with the same secrets. Objects of earlier releases, which record no
// domain, gain the marks at the next apply, and no change is planned for
// them; or at the destroy that keeps them, and a create of another domain
// on them is refused.
func TestAccInstance_keptDataDomain(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-keptdata")
	ctx := context.Background()
	config := instanceConfig(ns, "")
	other := strings.Replace(config, `local_domain        = "social.example"`, `local_domain        = "other.example"`, 1)
	var first map[string]string
	same := func(keys ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			now, err := c.keptUIDs(ns)
			if err != nil {
				return err
			}
			for _, k := range keys {
				if now[k] == "" || now[k] != first[k] {
					return fmt.Errorf("%s changed (%q, was %q)", k, now[k], first[k])
				}
			}
			return nil
		}
	}
	claims := []string{"claim data-social-postgresql-0", "claim data-social-redis-0", "claim social-media", "Secret", "SECRET_KEY_BASE"}
	// plan asks the provider, against the cluster, what the plan of a
	// create with domain says (terraform-plugin-testing shows no warnings).
	plan := func(domain string) (errs, warnings string) {
		client, err := kube.NewClientFromREST(c.rest)
		if err != nil {
			t.Fatal(err)
		}
		r, req, resp := planFor(t, client, nil, map[string]any{"name": "social", "namespace": ns, "local_domain": domain})
		r.checkKeptData(ctx, req, resp)
		for _, d := range resp.Diagnostics.Errors() {
			errs += d.Detail()
		}
		for _, d := range resp.Diagnostics.Warnings() {
			warnings += d.Detail()
		}
		return errs, warnings
	}
	// unmark strips the marks, as data kept by an earlier release has none.
	unmark := func() {
		patch := []byte(`{"metadata":{"annotations":{"` + mastodon.AnnotationLocalDomain + `":null,"` + mastodon.AnnotationInstance + `":null}}}`)
		if _, err := c.cs.CoreV1().Secrets(ns).Patch(ctx, "social-secrets", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"data-social-postgresql-0", "data-social-redis-0", "social-media"} {
			if _, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeTestCheckFunc(c.checkMarked(ns, "social.example"), func(*terraform.State) (err error) {
					first, err = c.keptUIDs(ns)
					return err
				}),
			},
			{
				// The replacement would destroy the instance and create one
				// of another domain on its kept data: refused at plan time.
				Config: other,
				ExpectError: regexp.MustCompile(`(?s)Kept data belongs to another local_domain.*Secret social-secrets.*"social.example".*` +
					`data-social-postgresql-0.*keep local_domain = "social.example".*kubectl -n ` + ns + ` delete secret social-secrets`),
			},
			{
				// Nothing was destroyed.
				Config: config,
				Check:  same(append(claims, "ConfigMap", "Deployment")...),
			},
			{Config: config, Destroy: true},
			{
				PreConfig: func() {
					errs, warnings := plan("social.example")
					if errs != "" || !strings.Contains(warnings, "reopens data an earlier instance of this name kept: Secret social-secrets") ||
						!strings.Contains(warnings, "PersistentVolumeClaim data-social-postgresql-0") {
						t.Errorf("the plan of a create on kept data of its domain: errors %q, warnings %q", errs, warnings)
					}
					if errs, _ := plan("other.example"); !strings.Contains(errs, `data kept for another local_domain: Secret social-secrets (local_domain "social.example")`) {
						t.Errorf("the plan of a create of another domain on kept data: %q", errs)
					}
				},
				Config: config,
				Check:  same(claims...),
			},
			{
				// Objects of an earlier release record nothing: no change is
				// planned for it...
				PreConfig: unmark,
				Config:    config,
				PlanOnly:  true,
			},
			{
				// ...and the next apply records it.
				Config: instanceConfig(ns, "  web = { replicas = 2 }"),
				Check:  resource.ComposeTestCheckFunc(c.checkMarked(ns, "social.example"), same(claims...)),
			},
			{
				// Objects of an earlier release that no apply marked are
				// marked by the destroy that keeps them...
				PreConfig: unmark,
				Config:    instanceConfig(ns, "  web = { replicas = 2 }"),
				Destroy:   true,
			},
			{
				// ...so that a create of another domain on them is refused.
				PreConfig: func() {
					if err := c.checkMarked(ns, "social.example")(nil); err != nil {
						t.Errorf("after the destroy: %v", err)
					}
				},
				Config:      other,
				ExpectError: regexp.MustCompile(`(?s)Kept data belongs to another local_domain.*Secret social-secrets \(local_domain "social.example"\)`),
			},
		},
	})
}
