package provider

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/tests3"
)

// s3Server is a test's S3 server and an admin client for it.
type s3Server struct {
	*tests3.Server
	s3 *s3.Client
}

func startMinIO(t *testing.T) *s3Server { return startS3(t, tests3.MinIO) }

func startS3(t *testing.T, run func(testing.TB) *tests3.Server) *s3Server {
	t.Helper()
	srv := run(t)
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
	})
	return &s3Server{Server: srv, s3: client}
}

func (m *s3Server) bucketConfig(name, extra string) string {
	return fmt.Sprintf(`
resource "mastodon_media_bucket" "test" {
  bucket            = %q
  endpoint          = %q
  access_key_id     = %q
  secret_access_key = %q
%s
}
`, name, m.Endpoint, m.AccessKey, m.SecretKey, extra)
}

// importStep imports the bucket by its endpoint URL, with the credentials
// from the environment as a user without them in the configuration would.
func (m *s3Server) importStep(t *testing.T, bucket string) resource.TestStep {
	return resource.TestStep{
		ResourceName:                         "mastodon_media_bucket.test",
		ImportState:                          true,
		ImportStateId:                        m.Endpoint + "/" + bucket,
		ImportStateVerify:                    true,
		ImportStateVerifyIdentifierAttribute: "bucket",
		// Credentials come from the configuration, not the bucket; created only from a create.
		ImportStateVerifyIgnore: []string{"access_key_id", "secret_access_key", "created", "settings"},
		PreConfig: func() {
			t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
			t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
		},
	}
}

func (m *s3Server) exists(bucket string) bool {
	_, err := m.s3.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	return err == nil
}

func (m *s3Server) put(t *testing.T, bucket, key, body string) {
	t.Helper()
	if _, err := m.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// checkPublic checks, as an anonymous client, that an object can be read
// and the bucket cannot be listed.
func (m *s3Server) checkPublic(t *testing.T, bucket string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		m.put(t, bucket, "media_attachments/files/1/original/cat.png", "not really a cat")
		resp, err := http.Get(m.Endpoint + "/" + bucket + "/media_attachments/files/1/original/cat.png")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "not really a cat" {
			return fmt.Errorf("anonymous GET of an object: %s %q", resp.Status, body)
		}
		resp, err = http.Get(m.Endpoint + "/" + bucket + "/")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			return fmt.Errorf("anonymous listing: %s, want 403 Forbidden", resp.Status)
		}
		return nil
	}
}

func TestAccMediaBucket_policy(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if !m.exists("social-media") {
				return fmt.Errorf("destroy without force_destroy deleted the bucket")
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: m.bucketConfig("social-media", `  public_access = "policy"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("id"), knownvalue.StringExact("social-media")),
					statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("created"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("path_style"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("settings"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"bucket": knownvalue.StringExact("social-media"), "endpoint": knownvalue.StringExact(m.Endpoint),
						"region": knownvalue.StringExact("us-east-1"), "alias_host": knownvalue.Null(), "permission": knownvalue.StringExact(""),
						"path_style": knownvalue.Bool(true), "access_key_id": knownvalue.StringExact(m.AccessKey),
						"secret_access_key": knownvalue.StringExact(m.SecretKey),
					})),
				},
				Check: m.checkPublic(t, "social-media"),
			},
			{
				Config:           m.bucketConfig("social-media", `  public_access = "policy"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// The policy removed behind Terraform's back shows in the plan, and the apply restores it.
				PreConfig: func() {
					if _, err := m.s3.DeleteBucketPolicy(context.Background(), &s3.DeleteBucketPolicyInput{Bucket: aws.String("social-media")}); err != nil {
						t.Fatal(err)
					}
				},
				Config: m.bucketConfig("social-media", `  public_access = "policy"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_media_bucket.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("public_access"), knownvalue.StringExact("policy")),
				}},
				Check: m.checkPublic(t, "social-media"),
			},
			m.importStep(t, "social-media"),
			{
				// Switching to acl on MinIO, which ignores object ACLs: the proof says so.
				Config:      m.bucketConfig("social-media", `  public_access = "acl"`),
				ExpectError: regexp.MustCompile(`(?s)anonymously.*MinIO\s+does.*Forbidden.*public_access\s+=\s+"policy"`),
			},
		},
	})
}

func TestAccMediaBucket_forceDestroy(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if m.exists("to-be-deleted") {
				return fmt.Errorf("force_destroy left the bucket")
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: m.bucketConfig("to-be-deleted", `  force_destroy = true`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("public_access"), knownvalue.StringExact("policy")),
				},
				Check: func(*terraform.State) error {
					for i := range 1100 { // more than one page of a listing
						m.put(t, "to-be-deleted", fmt.Sprintf("cache/accounts/avatars/%04d.png", i), "x")
					}
					return nil
				},
			},
			{
				// public_access left to its default: a removed policy still shows.
				PreConfig: func() {
					if _, err := m.s3.DeleteBucketPolicy(context.Background(), &s3.DeleteBucketPolicyInput{Bucket: aws.String("to-be-deleted")}); err != nil {
						t.Fatal(err)
					}
				},
				Config: m.bucketConfig("to-be-deleted", `  force_destroy = true`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_media_bucket.test", plancheck.ResourceActionUpdate),
				}},
				Check: m.checkPublic(t, "to-be-deleted"),
			},
			{
				Config:           m.bucketConfig("to-be-deleted", `  force_destroy = true`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

func TestAccMediaBucket_existingNotDeleted(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	if _, err := m.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("existing")}); err != nil {
		t.Fatal(err)
	}
	m.put(t, "existing", "keep.png", "x")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if !m.exists("existing") {
				return fmt.Errorf("force_destroy deleted a bucket this resource did not create")
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: m.bucketConfig("existing", "  force_destroy = true\n  create = false"),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("created"), knownvalue.Bool(false)),
			},
		}},
	})
}

func TestAccMediaBucket_errors(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	wrong := strings.Replace(m.bucketConfig("never-created", ""), m.SecretKey, "not-the-secret", 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:      wrong,
				ExpectError: regexp.MustCompile(`(?s)The store refused the credentials.*SignatureDoesNotMatch`),
				Check:       func(*terraform.State) error { return nil },
			},
			{
				Config:      m.bucketConfig("Bad_Name", ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid bucket name.*lowercase`),
			},
			{
				Config:      strings.Replace(m.bucketConfig("media", ""), m.Endpoint, "127.0.0.1:9000", 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid endpoint.*https://`),
			},
			{
				Config:      strings.Replace(m.bucketConfig("media", `  public_access = "acl"`), m.Endpoint, "https://0123abc.r2.cloudflarestorage.com", 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)public_access.*R2 has no object ACLs`),
			},
			{
				Config:      m.bucketConfig("media", `  cors_allowed_origins = ["social.example"]`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid CORS origin`),
			},
			{
				// MinIO has no per-bucket CORS: a clear error, and the bucket it had just created is gone again.
				Config:      m.bucketConfig("with-cors", `  cors_allowed_origins = ["https://social.example"]`),
				ExpectError: regexp.MustCompile(`(?s)setting CORS on bucket with-cors.*MINIO_API_CORS_ALLOW_ORIGIN.*NotImplemented.*Leave\s+cors_allowed_origins\s+unset`),
			},
		},
	})
	for _, b := range []string{"never-created", "with-cors"} {
		if m.exists(b) {
			t.Errorf("a failed create left bucket %s", b)
		}
	}
}

func TestAccInstance_mediaBucket(t *testing.T) {
	c := newTestCluster(t)
	m := startMinIO(t)
	ns := "acc-bucket-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	config := m.bucketConfig("social-media", "") + instanceConfig(ns, `  media_bucket = mastodon_media_bucket.test.settings`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					ctx := context.Background()
					cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{})
					if err != nil {
						return err
					}
					want := map[string]string{"S3_ENABLED": "true", "S3_BUCKET": "social-media", "S3_ENDPOINT": m.Endpoint,
						"S3_HOSTNAME": strings.TrimPrefix(m.Endpoint, "http://"), "S3_PROTOCOL": "http", "S3_PERMISSION": ""}
					for k, v := range want {
						if got, ok := cm.Data[k]; !ok || got != v {
							return fmt.Errorf("ConfigMap %s = %q, want %q", k, got, v)
						}
					}
					// MinIO is addressed path-style: Mastodon's default with an endpoint.
					if v, ok := cm.Data["S3_OVERRIDE_PATH_STYLE"]; ok {
						return fmt.Errorf("S3_OVERRIDE_PATH_STYLE = %q would make Mastodon address MinIO virtual-host style", v)
					}
					for k, v := range cm.Data {
						if strings.Contains(v, m.SecretKey) || strings.Contains(v, m.AccessKey) || strings.HasPrefix(k, "AWS_") {
							return fmt.Errorf("ConfigMap key %s holds a credential", k)
						}
					}
					for k, v := range cm.Annotations {
						if strings.Contains(v, m.SecretKey) {
							return fmt.Errorf("ConfigMap annotation %s holds the secret key", k)
						}
					}
					sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if string(sec.Data["AWS_ACCESS_KEY_ID"]) != m.AccessKey || string(sec.Data["AWS_SECRET_ACCESS_KEY"]) != m.SecretKey {
						return fmt.Errorf("the Secret lacks the bucket's credentials")
					}
					if _, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "social-media", metav1.GetOptions{}); err == nil {
						return fmt.Errorf("the media volume was created although a bucket is used")
					}
					web, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{})
					if err != nil {
						return err
					}
					for _, v := range web.Spec.Template.Spec.Volumes {
						if v.Name == "media" {
							return fmt.Errorf("web still mounts the media volume")
						}
					}
					return nil
				},
			},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName:      "mastodon_instance.test",
				ImportState:       true,
				ImportStateId:     ns + "/social",
				ImportStateVerify: true,
			},
		},
	})
}

func TestAccMediaBucket_writeOnlyKey(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	config := fmt.Sprintf(`
resource "mastodon_media_bucket" "test" {
  bucket                       = "write-only"
  endpoint                     = %q
  access_key_id                = %q
  secret_access_key_wo         = %q
  secret_access_key_wo_version = 1
}
`, m.Endpoint, m.AccessKey, m.SecretKey)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("secret_access_key"), knownvalue.Null()),
					statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("settings").AtMapKey("secret_access_key"), knownvalue.Null()),
				},
				Check: func(s *terraform.State) error {
					for k, v := range s.RootModule().Resources["mastodon_media_bucket.test"].Primary.Attributes {
						if strings.Contains(v, m.SecretKey) {
							return fmt.Errorf("state attribute %s holds the write-only key", k)
						}
					}
					return nil
				},
			},
			{
				// Refreshed with the key from the environment: still no changes, still not in state.
				PreConfig:        func() { t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey) },
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

func TestAccMediaBucket_cors(t *testing.T) {
	testAccPreCheck(t)
	m := startS3(t, tests3.VersityGW)
	config := m.bucketConfig("with-cors", `  cors_allowed_origins = ["https://social.example"]`)
	origins := tfjsonpath.New("cors_allowed_origins")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_media_bucket.test", origins, knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("https://social.example")})),
				},
				Check: func(*terraform.State) error {
					out, err := m.s3.GetBucketCors(context.Background(), &s3.GetBucketCorsInput{Bucket: aws.String("with-cors")})
					if err != nil {
						return fmt.Errorf("reading CORS: %w", err)
					}
					if len(out.CORSRules) != 1 || len(out.CORSRules[0].AllowedOrigins) != 1 || out.CORSRules[0].AllowedOrigins[0] != "https://social.example" {
						return fmt.Errorf("CORS on the bucket: %+v", out.CORSRules)
					}
					return nil
				},
			},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// CORS changed behind Terraform's back: the plan shows it, the apply restores it.
				PreConfig: func() {
					_, err := m.s3.PutBucketCors(context.Background(), &s3.PutBucketCorsInput{Bucket: aws.String("with-cors"),
						CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{{AllowedOrigins: []string{"https://evil.example"}, AllowedMethods: []string{"GET"}}}}})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_media_bucket.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("mastodon_media_bucket.test", origins, knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("https://social.example")})),
				}},
			},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			m.importStep(t, "with-cors"),
		},
	})
}

func TestAccMediaBucket_aliasNotServingYet(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	// Nothing serves http://127.0.0.1/ here: like a CDN still being set up,
	// that is a warning; the bucket is created and its settings carry the alias.
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: m.bucketConfig("aliased", `  alias_host = "127.0.0.1"`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("settings").AtMapKey("alias_host"), knownvalue.StringExact("127.0.0.1")),
				statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("created"), knownvalue.Bool(true)),
			},
		}},
	})
}
