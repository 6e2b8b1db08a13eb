package provider

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// bucketPlanned records the planned values of one resource at plan time
// (a plancheck) and compares every known one with the state after the
// apply (a statecheck): the property Terraform's "Provider produced
// inconsistent result after apply" enforces, checked value by value.
type bucketPlanned struct {
	address          string
	after, unknown   any
	unknownAtLeast   int // the plan must have had this many unknown values
	compared, wanted int
}

func (p *bucketPlanned) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address == p.address {
			p.after, p.unknown = rc.Change.After, rc.Change.AfterUnknown
			if n := countUnknown(p.unknown); n < p.unknownAtLeast {
				resp.Error = fmt.Errorf("%s: %d unknown values planned, want at least %d", p.address, n, p.unknownAtLeast)
			}
			return
		}
	}
	resp.Error = fmt.Errorf("no planned change of %s", p.address)
}

func (p *bucketPlanned) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	for _, r := range req.State.Values.RootModule.Resources {
		if r.Address == p.address {
			p.compared = 0
			resp.Error = p.compare(p.address, p.after, p.unknown, any(r.AttributeValues))
			if resp.Error == nil && p.compared < p.wanted {
				resp.Error = fmt.Errorf("%s: compared %d known planned values, want at least %d", p.address, p.compared, p.wanted)
			}
			return
		}
	}
	resp.Error = fmt.Errorf("%s is not in state", p.address)
}

func (p *bucketPlanned) compare(at string, planned, unknown, got any) error {
	if u, ok := unknown.(bool); ok && u {
		return nil
	}
	switch pv := planned.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		u, _ := unknown.(map[string]any)
		for k, v := range pv {
			if err := p.compare(at+"."+k, v, u[k], g[k]); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, _ := got.([]any)
		u, _ := unknown.([]any)
		if len(g) != len(pv) {
			return fmt.Errorf("%s: planned %d elements, %d after apply", at, len(pv), len(g))
		}
		for i, v := range pv {
			var ui any
			if i < len(u) {
				ui = u[i]
			}
			if err := p.compare(fmt.Sprintf("%s[%d]", at, i), v, ui, g[i]); err != nil {
				return err
			}
		}
		return nil
	}
	p.compared++
	if !reflect.DeepEqual(planned, got) {
		return fmt.Errorf("%s: planned %v, after apply %v", at, planned, got)
	}
	return nil
}

func countUnknown(u any) int {
	switch v := u.(type) {
	case bool:
		if v {
			return 1
		}
	case map[string]any:
		n := 0
		for _, x := range v {
			n += countUnknown(x)
		}
		return n
	case []any:
		n := 0
		for _, x := range v {
			n += countUnknown(x)
		}
		return n
	}
	return 0
}

// unknownInputsConfig feeds every input of the bucket from terraform_data
// outputs, unknown at plan whenever their input changes: the bucket's
// identity from one, everything else from another (changed by round).
func (m *s3Server) unknownInputsConfig(bucket string, round int) string {
	return fmt.Sprintf(`
resource "terraform_data" "where" {
  input = { bucket = %q, endpoint = %q, region = "us-east-1" }
}

resource "terraform_data" "how" {
  input = {
    round                      = %d
    path_style                 = true
    public_access              = "policy"
    access_key_id              = %q
    secret_access_key          = %q
    instance_access_key_id     = %q
    instance_secret_access_key = %q
    create                     = true
    force_destroy              = true
    alias_host                 = null
    cors                       = null
  }
}

resource "mastodon_media_bucket" "test" {
  bucket                     = terraform_data.where.output.bucket
  endpoint                   = terraform_data.where.output.endpoint
  region                     = terraform_data.where.output.region
  path_style                 = terraform_data.how.output.path_style
  public_access              = terraform_data.how.output.public_access
  access_key_id              = terraform_data.how.output.access_key_id
  secret_access_key          = terraform_data.how.output.secret_access_key
  instance_access_key_id     = terraform_data.how.output.instance_access_key_id
  instance_secret_access_key = terraform_data.how.output.instance_secret_access_key
  create                     = terraform_data.how.output.create
  force_destroy              = terraform_data.how.output.force_destroy
  alias_host                 = terraform_data.how.output.alias_host
  cors_allowed_origins       = terraform_data.how.output.cors
}
`, bucket, m.Endpoint, round, m.AccessKey, m.SecretKey, m.AccessKey, m.SecretKey)
}

// Every input unknown at plan (another resource's output, as with a bucket
// or an HMAC key of the google provider created in the same apply): the
// plan keeps them unknown instead of defaults, the apply gives back every
// value the plan knew, on create and on update; then the usual empty plan
// and import.
func TestAccMediaBucket_unknownInputs(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	const addr = "mastodon_media_bucket.test"
	create := &bucketPlanned{address: addr, unknownAtLeast: 14, wanted: 3}
	update := &bucketPlanned{address: addr, unknownAtLeast: 10, wanted: 8}
	unknown := func(attr string) plancheck.PlanCheck { return plancheck.ExpectUnknownValue(addr, tfjsonpath.New(attr)) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if m.exists("unknown-inputs") {
				return fmt.Errorf("force_destroy (given unknown at plan) left the bucket")
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: m.unknownInputsConfig("unknown-inputs", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					unknown("region"), unknown("path_style"), unknown("public_access"), unknown("settings"), create,
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					create,
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("region"), knownvalue.StringExact("us-east-1")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("path_style"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("public_access"), knownvalue.StringExact("policy")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("created"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cors_allowed_origins"), knownvalue.Null()),
				},
				Check: m.checkPublic(t, "unknown-inputs"),
			},
			{
				// An update whose inputs are unknown again: created and the identity stay as planned.
				Config: m.unknownInputsConfig("unknown-inputs", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("created"), knownvalue.Bool(true)),
					unknown("path_style"), unknown("public_access"), unknown("settings"), update,
				}},
				ConfigStateChecks: []statecheck.StateCheck{update},
			},
			{
				Config:           m.unknownInputsConfig("unknown-inputs", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName:                         addr,
				ImportState:                          true,
				ImportStateId:                        m.Endpoint + "/unknown-inputs",
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "bucket",
				ImportStateVerifyIgnore: []string{"access_key_id", "secret_access_key", "instance_access_key_id", "instance_secret_access_key",
					"created", "settings", "force_destroy"},
				PreConfig: func() {
					t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
					t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
				},
			},
		},
	})
}

// The standard flow with every input known: the plan knows everything
// but created, and the apply gives back exactly that.
func TestAccMediaBucket_plannedIsApplied(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	const addr = "mastodon_media_bucket.test"
	planned := &bucketPlanned{address: addr, wanted: 15}
	config := m.bucketConfig("planned", fmt.Sprintf("  instance_access_key_id = %q\n  instance_secret_access_key = %q\n  force_destroy = true", m.AccessKey, m.SecretKey))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("created")), planned,
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("settings").AtMapKey("access_key_id"), knownvalue.StringExact(m.AccessKey)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{planned},
			},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// The bucket managed with the keys of the environment (the operator's),
// used by Mastodon with the keys of the configuration: settings carry only
// the latter, and the proof runs with them, so a key Mastodon could not
// use fails the apply.
func TestAccMediaBucket_mastodonKeys(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	const addr = "mastodon_media_bucket.test"
	config := func(extra string) string {
		return fmt.Sprintf(`
resource "mastodon_media_bucket" "test" {
  bucket   = "mastodon-keys"
  endpoint = %q
%s
}
`, m.Endpoint, extra)
	}
	withKeys := func(secret string) string {
		return config(fmt.Sprintf("  instance_access_key_id = %q\n  instance_secret_access_key = %q", m.AccessKey, secret))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				// A key the store refuses for Mastodon: the proof fails naming it, and the new bucket is gone again.
				Config:      withKeys("not-the-secret"),
				ExpectError: regexp.MustCompile(`(?s)The store refused Mastodon's key.*SignatureDoesNotMatch.*s3:PutObject`),
			},
			{
				PreConfig: func() {
					if m.exists("mastodon-keys") {
						t.Fatal("the failed create left the bucket")
					}
				},
				Config: withKeys(m.SecretKey),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("access_key_id"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("settings").AtMapKey("access_key_id"), knownvalue.StringExact(m.AccessKey)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("settings").AtMapKey("secret_access_key"), knownvalue.StringExact(m.SecretKey)),
				},
			},
			{
				// No key for Mastodon: the environment's keys manage the bucket and stay out of settings and state.
				Config: config(""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("settings").AtMapKey("access_key_id"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("settings").AtMapKey("secret_access_key"), knownvalue.Null()),
				},
				Check: func(s *terraform.State) error {
					for k, v := range s.RootModule().Resources[addr].Primary.Attributes {
						if strings.Contains(v, m.SecretKey) {
							return fmt.Errorf("state attribute %s holds the environment's secret key", k)
						}
					}
					return nil
				},
			},
			{
				Config:           config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}
