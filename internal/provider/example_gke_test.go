package provider

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Mastodon part of examples/gke-cloudsql, applied on the local cluster
// with the google resources' outputs given as variables, so the example
// cannot rot.
func TestAccExample_gkeCloudSQL(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-example-gke-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	cert, key := testCertificatePEM(t)
	// GCS stands in as MinIO (which has bucket policies, not object ACLs);
	// the example's bucket is created by google_storage_bucket, here by the test.
	m := startMinIO(t)
	if _, err := m.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("my-project-mastodon-media")}); err != nil {
		t.Fatal(err)
	}
	vars := config.Variables{
		"namespace":                         config.StringVariable(ns),
		"domain":                            config.StringVariable("social.example"),
		"cloud_sql_connection_name":         config.StringVariable("my-project:europe-west1:mastodon"),
		"database_name":                     config.StringVariable("mastodon_production"),
		"database_user":                     config.StringVariable("mastodon"),
		"database_password":                 config.StringVariable("database-password"),
		"workload_identity_service_account": config.StringVariable("mastodon@my-project.iam.gserviceaccount.com"),
		"media_bucket":                      config.StringVariable("my-project-mastodon-media"),
		"media_endpoint":                    config.StringVariable(m.Endpoint),
		"media_public_access":               config.StringVariable("policy"),
		"media_access_key_id":               config.StringVariable(m.AccessKey),
		"media_secret_access_key":           config.StringVariable(m.SecretKey),
		"static_ip_name":                    config.StringVariable("mastodon"),
		"tls_certificate_pem":               config.StringVariable(cert),
		"tls_private_key_pem":               config.StringVariable(key),
		"sendgrid_api_key":                  config.StringVariable("SG.example"),
		"owner_email":                       config.StringVariable("owner@example.org"),
		"deletion_protection":               config.BoolVariable(false),
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			ConfigDirectory: config.StaticDirectory("../../examples/gke-cloudsql/mastodon"),
			ConfigVariables: vars,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("mastodon_instance.social", tfjsonpath.New("ready"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("mastodon_admin_user.owner", tfjsonpath.New("role"), knownvalue.StringExact("Owner")),
				statecheck.ExpectKnownValue("mastodon_media_bucket.media", tfjsonpath.New("created"), knownvalue.Bool(false)),
			},
			Check: c.checkCloudSQL(ns, false),
		}},
	})
}
