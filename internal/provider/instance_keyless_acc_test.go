package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A bucket without keys, reached through the Pods' identity (an IRSA role
// on the instance's ServiceAccount): created Ready with neither
// AWS_ACCESS_KEY_ID nor AWS_SECRET_ACCESS_KEY in its Secret or ConfigMap;
// keys given later land in the Secret, and taken away again leave it.
func TestAccInstance_keylessBucket(t *testing.T) {
	c := newTestCluster(t)
	ctx := context.Background()
	ns := "acc-keyless-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	config := func(keys string) string {
		return instanceConfig(ns, `
  embedded_database = { delete_volume_on_destroy = true }
  embedded_redis    = { delete_volume_on_destroy = true }
  service_account   = { annotations = { "eks.amazonaws.com/role-arn" = "arn:aws:iam::123456789012:role/mastodon" } }
  backup            = {}
  media_bucket      = { bucket = "media", endpoint = "http://127.0.0.1:9", region = "eu-west-1", path_style = true`+keys+` }
`)
	}
	// keys checks the AWS_* variables of the Secret and the ConfigMap.
	keys := func(want map[string]string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
			if err != nil {
				return err
			}
			got := map[string]string{}
			for k, v := range sec.Data {
				if strings.HasPrefix(k, "AWS_") {
					got[k] = string(v)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("the Secret's AWS_* variables: %v, want %v", got, want)
			}
			cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{})
			if err != nil {
				return err
			}
			for k := range cm.Data {
				if strings.HasPrefix(k, "AWS_") {
					return fmt.Errorf("the ConfigMap holds %s", k)
				}
			}
			if cm.Data["S3_ENABLED"] != "true" {
				return fmt.Errorf("S3_ENABLED=%q", cm.Data["S3_ENABLED"])
			}
			return nil
		}
	}
	identity := func(*terraform.State) error {
		sa, err := c.cs.CoreV1().ServiceAccounts(ns).Get(ctx, "social", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if sa.Annotations["eks.amazonaws.com/role-arn"] == "" {
			return fmt.Errorf("the ServiceAccount has no IRSA role: %v", sa.Annotations)
		}
		web, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cj, err := c.cs.BatchV1().CronJobs(ns).Get(ctx, "social-db-backup", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if web.Spec.Template.Spec.ServiceAccountName != "social" || cj.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName != "social" {
			return fmt.Errorf("web runs as %q, the backup as %q: want the instance's ServiceAccount", web.Spec.Template.Spec.ServiceAccountName,
				cj.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config(""),
				Check: resource.ComposeAggregateTestCheckFunc(keys(map[string]string{}), identity,
					resource.TestCheckResourceAttr("mastodon_instance.test", "ready", "true"),
					resource.TestCheckNoResourceAttr("mastodon_instance.test", "media_bucket.access_key_id")),
			},
			{
				Config: config(`, access_key_id = "key", secret_access_key = "secret"`),
				Check:  keys(map[string]string{"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret"}),
			},
			{
				Config: config(""),
				Check:  resource.ComposeAggregateTestCheckFunc(keys(map[string]string{}), identity),
			},
		},
	})
}
