package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
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
	c.installBackendConfigCRD(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			// GKE's Ingress controller publishes the static IP a while after
			// the Ingress exists; the apply waits for it, for the output.
			PreConfig:       func() { c.publishLoadBalancer(t, ns, 5*time.Second, "203.0.113.40", "") },
			ConfigDirectory: config.StaticDirectory("../../examples/gke-cloudsql/mastodon"),
			ConfigVariables: vars,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("mastodon_instance.social", tfjsonpath.New("ready"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("mastodon_admin_user.owner", tfjsonpath.New("role"), knownvalue.StringExact("Owner")),
				statecheck.ExpectKnownValue("mastodon_media_bucket.media", tfjsonpath.New("created"), knownvalue.Bool(false)),
				statecheck.ExpectKnownOutputValue("load_balancer_ip", knownvalue.StringExact("203.0.113.40")),
			},
			Check: resource.ComposeAggregateTestCheckFunc(c.checkCloudSQL(ns, false), c.checkStreamingBackendConfig(ns)),
		}},
	})
}

// backendConfigs is GKE's BackendConfig resource, which the local cluster
// serves once installBackendConfigCRD has run.
var backendConfigs = schema.GroupVersionResource{Group: "cloud.google.com", Version: "v1", Resource: "backendconfigs"}

// installBackendConfigCRD makes the local cluster serve BackendConfigs, as
// GKE clusters do, until the test ends.
func (c *testCluster) installBackendConfigCRD(t *testing.T) {
	c.installCRD(t, backendConfigs, "BackendConfig")
}

// installCRD makes the local cluster serve a namespaced custom kind (a
// schema that keeps every field) until the test ends: then the kind is
// removed, so the tests that follow see a cluster that does not serve it,
// as most do not.
func (c *testCluster) installCRD(t *testing.T, gvr schema.GroupVersionResource, kind string) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.rest)
	if err != nil {
		t.Fatal(err)
	}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	name := gvr.Resource + "." + gvr.Group
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"group": gvr.Group, "scope": "Namespaced",
			"names": map[string]any{"plural": gvr.Resource, "singular": strings.ToLower(kind), "kind": kind, "listKind": kind + "List"},
			"versions": []any{map[string]any{"name": gvr.Version, "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	ctx := context.Background()
	served := func(want bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := dyn.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
			return (err == nil) == want, nil
		}); err != nil {
			t.Fatalf("%s served is not %v: %v", name, want, err)
		}
	}
	if _, err := dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	served(true)
	t.Cleanup(func() {
		if err := dyn.Resource(crds).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("removing %s: %v", name, err)
		}
		served(false)
	})
}

func (c *testCluster) checkStreamingBackendConfig(ns string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		dyn, err := dynamic.NewForConfig(c.rest)
		if err != nil {
			return err
		}
		bc, err := dyn.Resource(backendConfigs).Namespace(ns).Get(ctx, "social-streaming", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if v, _, _ := unstructured.NestedInt64(bc.Object, "spec", "timeoutSec"); v != 3600 {
			return fmt.Errorf("BackendConfig timeoutSec = %d", v)
		}
		svc, err := c.cs.CoreV1().Services(ns).Get(ctx, "social-streaming", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := svc.Annotations["cloud.google.com/backend-config"]; got != `{"default":"social-streaming"}` {
			return fmt.Errorf("streaming Service annotation %q", got)
		}
		return nil
	}
}
