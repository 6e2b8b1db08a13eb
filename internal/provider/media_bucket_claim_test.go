package provider

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"golang.org/x/sync/errgroup"

	"github.com/tootform/terraform-provider-mastodon/internal/objectstore"
)

// claim is the claim ID the bucket carries, "" for none.
func (m *s3Server) claim(t *testing.T, bucket string) string {
	t.Helper()
	got, err := objectstore.New(objectstore.Config{Endpoint: m.Endpoint, Bucket: bucket, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey, PathStyle: true}).Claim(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// keys lists the bucket's objects.
func (m *s3Server) keys(t *testing.T, bucket string) []string {
	t.Helper()
	out, err := m.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key)+"@"+aws.ToString(o.ETag))
	}
	return keys
}

// secondState applies config from a working directory and state of its
// own, expecting the error want.
func secondState(t *testing.T, config string, want *regexp.Regexp) {
	t.Helper()
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps:                    []tfresource.TestStep{{Config: config, ExpectError: want}},
	})
}

// Two states name one bucket: the second is refused with the import hint
// and changes nothing; after the first lets it go (a removed block, as
// `terraform state rm`), the second imports it and adopts its claim.
func TestAccMediaBucket_twoStates(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	config := m.bucketConfig("shared", "  force_destroy = true")
	refused := regexp.MustCompile(`(?s)already exists and is managed by another Terraform state.*Nothing\s+was\s+changed.*terraform\s+import\s+<address>\s+` +
		regexp.QuoteMeta(m.Endpoint+"/shared"))
	var first string
	var objects []string
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []tfresource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					m.put(t, "shared", "media_attachments/files/1/original/cat.png", "cat")
					if first = m.claim(t, "shared"); first == "" {
						return fmt.Errorf("the create left no claim")
					}
					objects = m.keys(t, "shared")
					return nil
				},
			},
			{
				// The second state, with force_destroy too: refused, and its destroy deletes nothing.
				PreConfig:        func() { secondState(t, config, refused) },
				Config:           config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					if got := m.claim(t, "shared"); got != first {
						return fmt.Errorf("claim %q, want the first state's %q", got, first)
					}
					if got := m.keys(t, "shared"); strings.Join(got, ",") != strings.Join(objects, ",") {
						return fmt.Errorf("objects %v, want %v", got, objects)
					}
					return nil
				},
			},
			{
				// The first state lets the bucket go without destroying it.
				Config: `
removed {
  from = mastodon_media_bucket.test
  lifecycle {
    destroy = false
  }
}
`,
			},
		},
	})
	if !m.exists("shared") || m.claim(t, "shared") != first {
		t.Fatalf("the bucket or its claim is gone after the first state let it go")
	}
	imported := config + fmt.Sprintf(`
import {
  to = mastodon_media_bucket.test
  id = %q
}
`, m.Endpoint+"/shared")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			// Imported, not created here: force_destroy keeps it, and destroy gives the claim back.
			if !m.exists("shared") {
				return fmt.Errorf("destroy deleted a bucket this state imported")
			}
			if got := m.claim(t, "shared"); got != "" {
				return fmt.Errorf("destroy left the claim %q", got)
			}
			return nil
		},
		Steps: []tfresource.TestStep{
			{
				Config: imported,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_media_bucket.test", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("created"), knownvalue.Bool(false)),
				},
				Check: func(*terraform.State) error {
					if got := m.claim(t, "shared"); got != first {
						return fmt.Errorf("import changed the claim to %q, want the adopted %q", got, first)
					}
					return nil
				},
			},
			{
				Config:           imported,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
	// Released: a new state may now use the bucket as one that existed before (created = false).
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []tfresource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("mastodon_media_bucket.test", tfjsonpath.New("created"), knownvalue.Bool(false)),
			},
		}},
	})
}

// earlierReleaseBucket is mastodon_media_bucket as releases before claims
// had it: a create writes no claim and keeps none, a refresh changes nothing.
type earlierReleaseBucket struct {
	mediaBucketResource
	m *s3Server
}

func (r *earlierReleaseBucket) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.mediaBucketResource.Create(ctx, req, resp)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateClaimKey, nil)...)
	var bucket string
	resp.Diagnostics.Append(resp.State.GetAttribute(ctx, path.Root("bucket"), &bucket)...)
	if _, err := r.m.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(objectstore.ClaimKey)}); err != nil {
		resp.Diagnostics.AddError("test", err.Error())
	}
}

func (r *earlierReleaseBucket) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state mediaBucketResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, state.identity()...)...)
}

type earlierReleaseProvider struct {
	provider.Provider
	bucket func() resource.Resource
}

func (p earlierReleaseProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{p.bucket}
}

// A bucket created by a release without claims: refreshes never write to
// the bucket, so plans (whose refreshed state Terraform throws away) leave
// it unclaimed and the next plan still works; an apply that changes
// nothing leaves it unclaimed too; the first apply that updates the
// resource, for any reason, writes the claim, and from then on a second
// state is refused.
func TestAccMediaBucket_earlierReleaseGainsClaim(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	config := m.bucketConfig("earlier", "  force_destroy = false")
	changed := m.bucketConfig("earlier", "  force_destroy = true")
	earlier := map[string]func() (tfprotov6.ProviderServer, error){
		"mastodon": providerserver.NewProtocol6WithError(earlierReleaseProvider{Provider: New("test")(),
			bucket: func() resource.Resource { return &earlierReleaseBucket{m: m} }}),
	}
	unclaimed := func(after string) func() {
		return func() {
			if got := m.claim(t, "earlier"); got != "" {
				t.Fatalf("the bucket has claim %q after %s", got, after)
			}
		}
	}
	tfresource.Test(t, tfresource.TestCase{
		CheckDestroy: func(*terraform.State) error {
			// The claim the update wrote is this state's: force_destroy deletes the bucket it created.
			if m.exists("earlier") {
				return fmt.Errorf("force_destroy left the bucket the state created and claimed")
			}
			return nil
		},
		Steps: []tfresource.TestStep{
			{
				ProtoV6ProviderFactories: earlier,
				Config:                   config,
				Check: func(*terraform.State) error {
					if got := m.claim(t, "earlier"); got != "" {
						return fmt.Errorf("the earlier release's bucket has claim %q", got)
					}
					return nil
				},
			},
			{
				// Plans only: each refreshes, nothing is saved.
				ProtoV6ProviderFactories: testAccProviders,
				Config:                   config,
				PlanOnly:                 true,
			},
			{
				ProtoV6ProviderFactories: testAccProviders,
				PreConfig:                unclaimed("a plan"),
				Config:                   config,
				PlanOnly:                 true,
			},
			{
				// An apply with nothing to change saves the refreshed state; no change is planned for the claim.
				ProtoV6ProviderFactories: testAccProviders,
				PreConfig:                unclaimed("two plans"),
				Config:                   config,
				ConfigPlanChecks:         tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					if got := m.claim(t, "earlier"); got != "" {
						return fmt.Errorf("the bucket has claim %q after an apply that changed nothing", got)
					}
					return nil
				},
			},
			{
				// The first update, made for another reason, writes the claim.
				ProtoV6ProviderFactories: testAccProviders,
				Config:                   changed,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_media_bucket.test", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if m.claim(t, "earlier") == "" {
						return fmt.Errorf("no claim after the update")
					}
					return nil
				},
			},
			{
				// The claim is the one this state holds: its refresh accepts it, a second state is refused.
				ProtoV6ProviderFactories: testAccProviders,
				PreConfig: func() {
					secondState(t, changed, regexp.MustCompile(`already exists and is managed by another Terraform state`))
				},
				Config:           changed,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// A claim deleted by hand: refreshes accept the unclaimed bucket and keep
// this state's claim without writing it (two plans leave the bucket
// unclaimed), and the next update writes the same claim again.
func TestAccMediaBucket_claimDeletedByHand(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	config := m.bucketConfig("by-hand", "  force_destroy = false")
	changed := m.bucketConfig("by-hand", "  force_destroy = true")
	var first string
	unclaimed := func() {
		if got := m.claim(t, "by-hand"); got != "" {
			t.Fatalf("a plan wrote claim %q", got)
		}
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []tfresource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					if first = m.claim(t, "by-hand"); first == "" {
						return fmt.Errorf("the create left no claim")
					}
					_, err := m.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("by-hand"), Key: aws.String(objectstore.ClaimKey)})
					return err
				},
			},
			{Config: config, PlanOnly: true, PreConfig: unclaimed},
			{Config: config, PlanOnly: true, PreConfig: unclaimed},
			{
				PreConfig: unclaimed,
				Config:    changed,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_media_bucket.test", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if got := m.claim(t, "by-hand"); got != first {
						return fmt.Errorf("the update wrote claim %q, want the state's %q", got, first)
					}
					return nil
				},
			},
		},
	})
}

// An import whose refresh reads the bucket adopts what it carries then, and
// only then: an unclaimed bucket is recorded as such (and not written to),
// so a claim another state writes afterwards fails the next refresh
// instead of being adopted.
func TestAccMediaBucket_importAdoptsOnce(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	ctx := context.Background()
	store := objectstore.New(objectstore.Config{Endpoint: m.Endpoint, Bucket: "free", AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey, PathStyle: true})
	if err := store.Create(ctx, objectstore.AccessPolicy); err != nil {
		t.Fatal(err)
	}
	r := &mediaBucketResource{}
	sch := bucketSchema(t)
	attrs := map[string]tftypes.Value{
		"id": str("free"), "bucket": str("free"), "endpoint": str(m.Endpoint),
		"access_key_id": str(m.AccessKey), "secret_access_key": str(m.SecretKey),
		"create": tftypes.NewValue(tftypes.Bool, true), "force_destroy": tftypes.NewValue(tftypes.Bool, false),
	}
	// The import's own refresh (created null, the import's mark).
	imported := tfsdk.State{Schema: sch, Raw: bucketValue(t, attrs)}
	req := resource.ReadRequest{State: imported}
	req.Private = newPrivate(req.Private)
	if d := req.Private.SetKey(ctx, adoptKey, []byte("true")); d.HasError() {
		t.Fatal(d)
	}
	resp := resource.ReadResponse{State: imported, Private: req.Private}
	r.Read(ctx, req, &resp)
	var d diag.Diagnostics
	if resp.Diagnostics.HasError() || adopting(ctx, resp.Private, &d) || getClaim(ctx, resp.Private, &d) != "" || d.HasError() {
		t.Fatalf("the import's refresh of an unclaimed bucket: %v; still adopting %v, holds %q (%v)",
			resp.Diagnostics, adopting(ctx, resp.Private, &d), getClaim(ctx, resp.Private, &d), d)
	}
	if got := m.claim(t, "free"); got != "" {
		t.Fatalf("the import's refresh wrote claim %q", got)
	}

	// Another state claims the bucket; the next refresh says so.
	if err := store.SetClaim(ctx, "their-claim"); err != nil {
		t.Fatal(err)
	}
	next := resource.ReadRequest{State: resp.State, Private: resp.Private}
	nextResp := resource.ReadResponse{State: resp.State, Private: resp.Private}
	r.Read(ctx, next, &nextResp)
	if !nextResp.Diagnostics.HasError() || !strings.Contains(nextResp.Diagnostics.Errors()[0].Summary(), "claimed by another Terraform state") ||
		!strings.Contains(nextResp.Diagnostics.Errors()[0].Detail(), "their-claim") {
		t.Fatalf("the refresh after the import adopted a claim written later: %v (holds %q)", nextResp.Diagnostics, getClaim(ctx, nextResp.Private, &d))
	}
}

// newPrivate returns empty private state of the framework's (internal) type.
func newPrivate[T any](*T) *T { return new(T) }

// Refresh and destroy against a bucket another state claimed, called
// directly: the refresh fails naming both claims; force_destroy leaves the
// bucket with a warning; with the bucket's own claim it deletes it.
func TestAccMediaBucket_anotherStatesClaim(t *testing.T) {
	testAccPreCheck(t)
	m := startMinIO(t)
	ctx := context.Background()
	store := objectstore.New(objectstore.Config{Endpoint: m.Endpoint, Bucket: "theirs", AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey, PathStyle: true})
	if err := store.Create(ctx, objectstore.AccessPolicy); err != nil {
		t.Fatal(err)
	}
	if err := store.SetClaim(ctx, "their-claim"); err != nil {
		t.Fatal(err)
	}
	m.put(t, "theirs", "media_attachments/files/1/original/cat.png", "cat")
	r := &mediaBucketResource{}
	sch := bucketSchema(t)
	state := tfsdk.State{Schema: sch, Raw: bucketValue(t, map[string]tftypes.Value{
		"id": str("theirs"), "bucket": str("theirs"), "endpoint": str(m.Endpoint), "region": str("us-east-1"),
		"access_key_id": str(m.AccessKey), "secret_access_key": str(m.SecretKey), "path_style": tftypes.NewValue(tftypes.Bool, true),
		"public_access": str("policy"), "create": tftypes.NewValue(tftypes.Bool, true), "force_destroy": tftypes.NewValue(tftypes.Bool, true),
		"created": tftypes.NewValue(tftypes.Bool, true),
	})}

	readReq := resource.ReadRequest{State: state}
	readReq.Private = newPrivate(readReq.Private)
	if d := readReq.Private.SetKey(ctx, privateClaimKey, []byte(`"our-claim"`)); d.HasError() {
		t.Fatal(d)
	}
	readResp := resource.ReadResponse{State: state, Private: readReq.Private}
	r.Read(ctx, readReq, &readResp)
	if !readResp.Diagnostics.HasError() || !strings.Contains(readResp.Diagnostics.Errors()[0].Summary(), "claimed by another Terraform state") ||
		!strings.Contains(readResp.Diagnostics.Errors()[0].Detail(), "their-claim") || !strings.Contains(readResp.Diagnostics.Errors()[0].Detail(), "our-claim") {
		t.Fatalf("refresh of another state's bucket: %v", readResp.Diagnostics)
	}

	for _, ours := range []string{"our-claim", ""} { // this state's claim, or none (a state of an earlier release)
		delReq := resource.DeleteRequest{State: state}
		delReq.Private = newPrivate(delReq.Private)
		if ours != "" {
			if d := delReq.Private.SetKey(ctx, privateClaimKey, []byte(`"`+ours+`"`)); d.HasError() {
				t.Fatal(d)
			}
		}
		delResp := resource.DeleteResponse{State: state}
		r.Delete(ctx, delReq, &delResp)
		if delResp.Diagnostics.HasError() || !hasWarning(delResp.Diagnostics, "another Terraform state claimed it") {
			t.Fatalf("force_destroy of another state's bucket (claim %q): %v", ours, delResp.Diagnostics)
		}
		if !m.exists("theirs") || len(m.keys(t, "theirs")) != 2 {
			t.Fatalf("force_destroy (claim %q) deleted another state's bucket or objects: %v", ours, m.keys(t, "theirs"))
		}
	}

	delReq := resource.DeleteRequest{State: state}
	delReq.Private = newPrivate(delReq.Private)
	if d := delReq.Private.SetKey(ctx, privateClaimKey, []byte(`"their-claim"`)); d.HasError() {
		t.Fatal(d)
	}
	delResp := resource.DeleteResponse{State: state}
	r.Delete(ctx, delReq, &delResp)
	if delResp.Diagnostics.HasError() || m.exists("theirs") {
		t.Fatalf("force_destroy of the state's own bucket: %v (exists %v)", delResp.Diagnostics, m.exists("theirs"))
	}
}

// A force_destroy logs how many objects it deleted so far while it runs
// (every destroyProgressEvery), and the total at the end.
func TestAccMediaBucket_forceDestroyLogsProgress(t *testing.T) {
	testAccPreCheck(t)
	defer func(d time.Duration) { destroyProgressEvery = d }(destroyProgressEvery)
	destroyProgressEvery = 0
	m := startMinIO(t)
	var logs bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)
	store := objectstore.New(objectstore.Config{Endpoint: m.Endpoint, Bucket: "large", AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey, PathStyle: true})
	if err := store.Create(ctx, objectstore.AccessPolicy); err != nil {
		t.Fatal(err)
	}
	if err := store.SetClaim(ctx, "our-claim"); err != nil {
		t.Fatal(err)
	}
	const n = 2100 // three listing pages with the claim
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			_, err := m.s3.PutObject(gctx, &s3.PutObjectInput{Bucket: aws.String("large"), Key: aws.String(fmt.Sprintf("cache/media_attachments/%05d.png", i)), Body: strings.NewReader("x")})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	state := tfsdk.State{Schema: bucketSchema(t), Raw: bucketValue(t, map[string]tftypes.Value{
		"id": str("large"), "bucket": str("large"), "endpoint": str(m.Endpoint), "region": str("us-east-1"),
		"access_key_id": str(m.AccessKey), "secret_access_key": str(m.SecretKey), "path_style": tftypes.NewValue(tftypes.Bool, true),
		"force_destroy": tftypes.NewValue(tftypes.Bool, true), "created": tftypes.NewValue(tftypes.Bool, true),
	})}
	req := resource.DeleteRequest{State: state}
	req.Private = newPrivate(req.Private)
	if d := req.Private.SetKey(ctx, privateClaimKey, []byte(`"our-claim"`)); d.HasError() {
		t.Fatal(d)
	}
	resp := resource.DeleteResponse{State: state}
	(&mediaBucketResource{}).Delete(ctx, req, &resp)
	if resp.Diagnostics.HasError() || m.exists("large") {
		t.Fatalf("force_destroy: %v (bucket still there: %v)", resp.Diagnostics, m.exists("large"))
	}
	var progress []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, "deleting the bucket's objects") {
			progress = append(progress, line)
		}
	}
	if len(progress) < 3 || !strings.Contains(logs.String(), `"deleted":2101`) {
		t.Fatalf("progress logged %d times, want one per batch (3) and the total 2101:\n%s", len(progress), logs.String())
	}
}
