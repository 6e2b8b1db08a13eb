package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Resource identity end to end: state records it, and an import block with
// an identity (Terraform 1.12+) brings each resource back. Skipped by an
// older terraform (TF_ACC_TERRAFORM_PATH chooses a newer one).
func TestAccIdentity(t *testing.T) {
	c := newTestCluster(t)
	m := startMinIO(t)
	ns := "acc-identity-" + randomSuffix()
	bucket := "identity-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	config := adminConfig(ns, `  email = "alice@social.example"`) + m.bucketConfig(bucket, "")
	importStep := func(name string) resource.TestStep {
		return resource.TestStep{
			// The import block's working directory gets no generated
			// required_providers: name the provider under test.
			Config:       "terraform {\n  required_providers {\n    mastodon = { source = \"tootform/mastodon\" }\n  }\n}\n" + config,
			ResourceName: name, ImportState: true,
			ImportStateKind: resource.ImportBlockWithResourceIdentity,
			// Imported state has no timeouts, and a bucket's credentials
			// come from the configuration: the plan updates those in place.
			ExpectNonEmptyPlan: true,
			PreConfig: func() {
				t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
				t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
			},
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentity("mastodon_instance.test", map[string]knownvalue.Check{
						"namespace": knownvalue.StringExact(ns), "name": knownvalue.StringExact("social"),
					}),
					statecheck.ExpectIdentity("mastodon_admin_user.owner", map[string]knownvalue.Check{
						"namespace": knownvalue.StringExact(ns), "instance": knownvalue.StringExact("social"),
						"username": knownvalue.StringExact("alice"),
					}),
					statecheck.ExpectIdentity("mastodon_media_bucket.test", map[string]knownvalue.Check{
						"endpoint": knownvalue.StringExact(m.Endpoint), "bucket": knownvalue.StringExact(bucket),
					}),
				},
			},
			importStep("mastodon_instance.test"),
			importStep("mastodon_admin_user.owner"),
			importStep("mastodon_media_bucket.test"),
		},
	})
}
