package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// Alternate, streaming and CDN hosts switched on (one alternate domain
// known only at apply, from another resource), changed and switched off,
// with an admin user present: the ConfigMap and the Ingress's rules and
// TLS hosts follow; the Rails and streaming Pods roll with their
// environment, the embedded PostgreSQL and Redis never; the generated
// secrets and the admin's password stay.
func TestAccInstance_domains(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-domains")
	ctx := context.Background()
	config := func(domains string) string {
		return `
resource "terraform_data" "alt" {
  input = "social.example.net"
}
` + instanceConfig(ns, `  web_domain = "www.social.example"
  ingress = {
    annotations            = { "cert-manager.io/cluster-issuer" = "letsencrypt" }
    wait_for_load_balancer = false
  }
`+domains) + `
resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.test.id
  username = "alice"
  email    = "alice@example.org"
}
`
	}
	on := config(`  alternate_domains = [terraform_data.alt.output, "mastodon.example.org"]
  streaming_domain  = "streaming.social.example"
  cdn_host          = "https://assets.social.example"
`)
	changed := config(`  alternate_domains = ["mastodon.example.org"]
  streaming_domain  = "stream.social.example"
`)
	off := config("")
	templates := map[string]string{}
	var secretKeyBase, adminPassword string
	// check checks the environment and the Ingress, and which Pod
	// templates changed since the last step.
	check := func(env map[string]string, hosts []string, rolled bool) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{})
			if err != nil {
				return err
			}
			for k, v := range env {
				if got, ok := cm.Data[k]; v == "" && ok || v != "" && got != v {
					return fmt.Errorf("ConfigMap %s = %q (set %v), want %q", k, got, ok, v)
				}
			}
			ing, err := c.cs.NetworkingV1().Ingresses(ns).Get(ctx, "social", metav1.GetOptions{})
			if err != nil {
				return err
			}
			var ruled []string
			for _, r := range ing.Spec.Rules {
				ruled = append(ruled, r.Host)
			}
			if !slices.Equal(ruled, hosts) || !slices.Equal(ing.Spec.TLS[0].Hosts, hosts) {
				return fmt.Errorf("the Ingress routes %v with TLS for %v, want %v", ruled, ing.Spec.TLS[0].Hosts, hosts)
			}
			now := map[string]string{}
			ds, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
			if err != nil {
				return err
			}
			for _, d := range ds.Items {
				now[d.Name] = d.Spec.Template.Annotations[mastodon.AnnotationChecksum]
			}
			sts, err := c.cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
			if err != nil {
				return err
			}
			for _, st := range sts.Items {
				now[st.Name] = fmt.Sprint(st.Generation)
			}
			if len(templates) > 0 {
				for name, v := range now {
					changedNow := templates[name] != v
					want := rolled && !strings.HasSuffix(name, "-postgresql") && !strings.HasSuffix(name, "-redis")
					if changedNow != want {
						return fmt.Errorf("%s changed %v, want %v", name, changedNow, want)
					}
				}
			}
			maps.Copy(templates, now)
			attrs := s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes
			admin := s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes
			if secretKeyBase != "" && (attrs["secrets.secret_key_base"] != secretKeyBase || admin["password"] != adminPassword) {
				return fmt.Errorf("the generated secrets or the admin's password changed")
			}
			secretKeyBase, adminPassword = attrs["secrets.secret_key_base"], admin["password"]
			return nil
		}
	}
	web, local := "www.social.example", "social.example"
	noDomains := map[string]string{"ALTERNATE_DOMAINS": "", "CDN_HOST": "", "STREAMING_API_BASE_URL": "wss://" + web}
	emptyPlan := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: off, Check: check(noDomains, []string{web, local}, false)},
			{
				Config: on,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("mastodon_admin_user.owner", plancheck.ResourceActionNoop),
				}},
				Check: check(map[string]string{"ALTERNATE_DOMAINS": "social.example.net,mastodon.example.org", "CDN_HOST": "https://assets.social.example",
					"STREAMING_API_BASE_URL": "wss://streaming.social.example"},
					[]string{web, local, "social.example.net", "mastodon.example.org", "streaming.social.example"}, true),
			},
			{Config: on, ConfigPlanChecks: emptyPlan},
			{ResourceName: "mastodon_instance.test", ImportState: true, ImportStateId: ns + "/social", ImportStateVerify: true},
			{
				Config: changed,
				Check: check(map[string]string{"ALTERNATE_DOMAINS": "mastodon.example.org", "CDN_HOST": "", "STREAMING_API_BASE_URL": "wss://stream.social.example"},
					[]string{web, local, "mastodon.example.org", "stream.social.example"}, true),
			},
			{Config: changed, ConfigPlanChecks: emptyPlan},
			{Config: off, Check: check(noDomains, []string{web, local}, true)},
			{Config: off, ConfigPlanChecks: emptyPlan},
		},
	})
}
