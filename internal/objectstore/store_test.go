package objectstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/tootform/terraform-provider-mastodon/internal/tests3"
)

func minioStore(t *testing.T, bucket string) *Store {
	srv := tests3.MinIO(t)
	return New(Config{Endpoint: srv.Endpoint, Bucket: bucket, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey, PathStyle: true})
}

func TestAccStoreLifecycle(t *testing.T) {
	ctx := context.Background()
	st := minioStore(t, "media")
	if ok, err := st.Exists(ctx); err != nil || ok {
		t.Fatalf("Exists before create = %v, %v", ok, err)
	}
	if err := st.Create(ctx, AccessPolicy); err != nil {
		t.Fatal(err)
	}
	if err := st.Create(ctx, AccessPolicy); err != nil {
		t.Fatalf("creating again: %v", err)
	}
	// Before the policy, objects are private: the proof says so.
	_, err := st.Prove(ctx, AccessPolicy, "")
	if err == nil || !strings.Contains(err.Error(), "anonymously") || Code(err) != "Forbidden" {
		t.Fatalf("proof of a private bucket = %v", err)
	}
	if err := st.SetPublicAccess(ctx, AccessPolicy); err != nil {
		t.Fatal(err)
	}
	if got, err := st.PublicAccess(ctx); err != nil || got != AccessPolicy {
		t.Fatalf("PublicAccess = %v, %v", got, err)
	}
	if aliasErr, err := st.Prove(ctx, AccessPolicy, st.cfg.BucketURL()); err != nil || aliasErr != nil {
		t.Fatalf("proof: %v (alias: %v)", err, aliasErr)
	}
	// An alias host that serves nothing yet: the bucket is proven, the alias is reported apart.
	aliasErr, err := st.Prove(ctx, AccessPolicy, "http://127.0.0.1:1/")
	if err != nil || aliasErr == nil || !strings.Contains(aliasErr.Error(), "http://127.0.0.1:1/terraform-provider-mastodon-check/") {
		t.Fatalf("proof with a dead alias: %v (alias: %v)", err, aliasErr)
	}
	// The proof cleans up after itself.
	out, err := st.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("media")})
	if err != nil || len(out.Contents) != 0 {
		t.Fatalf("objects left by the proof: %v, %v", out, err)
	}
	// MinIO ignores object ACLs: the proof finds out and says what to use.
	if err := st.SetPublicAccess(ctx, AccessACL); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.PublicAccess(ctx); got != AccessNone {
		t.Fatalf("the policy stayed after switching to acl: %v", got)
	}
	if _, err := st.Prove(ctx, AccessACL, ""); !errors.Is(err, ErrNotPublic) || !strings.Contains(err.Error(), "ignore object ACLs") {
		t.Fatalf("acl proof on MinIO = %v", err)
	}
	// MinIO has no per-bucket CORS: setting it is a clear error, reading
	// finds none and removing none is fine.
	err = st.SetCORS(ctx, []string{"https://social.example", "https://other.example"})
	if !errors.Is(err, ErrNoBucketCORS) || Code(err) != "NotImplemented" || !strings.Contains(err.Error(), "MINIO_API_CORS_ALLOW_ORIGIN") {
		t.Fatalf("SetCORS on MinIO = %v", err)
	}
	if got, err := st.CORS(ctx); err != nil || len(got) != 0 {
		t.Fatalf("CORS = %v, %v", got, err)
	}
	if err := st.SetCORS(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a.png", "b/c.png", "d/e/f.png"} {
		if _, err := st.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("media"), Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Destroy(ctx, nil); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if ok, err := st.Exists(ctx); err != nil || ok {
		t.Fatalf("Exists after destroy = %v, %v", ok, err)
	}
}

func TestAccStoreListingRefused(t *testing.T) {
	ctx := context.Background()
	st := minioStore(t, "listable")
	if err := st.Create(ctx, AccessPolicy); err != nil {
		t.Fatal(err)
	}
	listable := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::listable","arn:aws:s3:::listable/*"]}]}`
	if _, err := st.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("listable"), Policy: aws.String(listable)}); err != nil {
		t.Fatal(err)
	}
	_, err := st.Prove(ctx, AccessPolicy, "")
	if err == nil || !strings.Contains(err.Error(), "anyone can list") {
		t.Fatalf("proof of a listable bucket = %v", err)
	}
}

func TestAccStoreWrongCredentials(t *testing.T) {
	srv := tests3.MinIO(t)
	st := New(Config{Endpoint: srv.Endpoint, Bucket: "media", AccessKeyID: srv.AccessKey, SecretAccessKey: "wrong", PathStyle: true})
	_, err := st.Exists(context.Background())
	if err == nil || Code(err) != "SignatureDoesNotMatch" {
		t.Fatalf("Exists with a wrong key = %v (code %q)", err, Code(err))
	}
	// Nothing was created.
	ok, err := New(Config{Endpoint: srv.Endpoint, Bucket: "media", AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey, PathStyle: true}).Exists(context.Background())
	if err != nil || ok {
		t.Fatalf("bucket after a refused request: %v, %v", ok, err)
	}
}

// The Versity S3 Gateway keeps CORS rules per bucket, as AWS, GCS and R2 do.
func TestAccStoreCORS(t *testing.T) {
	ctx := context.Background()
	srv := tests3.VersityGW(t)
	st := New(Config{Endpoint: srv.Endpoint, Bucket: "media", AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey, PathStyle: true})
	if err := st.Create(ctx, AccessPolicy); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPublicAccess(ctx, AccessPolicy); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Prove(ctx, AccessPolicy, ""); err != nil {
		t.Fatalf("proof: %v", err)
	}
	want := []string{"https://social.example", "https://other.example"}
	if err := st.SetCORS(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, err := st.CORS(ctx); err != nil || !slices.Equal(got, want) {
		t.Fatalf("CORS = %v, %v; want %v", got, err, want)
	}
	if err := st.SetCORS(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := st.CORS(ctx); err != nil || len(got) != 0 {
		t.Fatalf("CORS after removal = %v, %v", got, err)
	}
	if err := st.Destroy(ctx, nil); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
}

// A bucket of more objects than one listing page holds is emptied batch
// by batch, with progress after each batch.
func TestAccStoreDestroyInBatches(t *testing.T) {
	ctx := context.Background()
	st := minioStore(t, "large")
	if err := st.Create(ctx, AccessPolicy); err != nil {
		t.Fatal(err)
	}
	const n = 2345 // three pages of 1,000
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			_, err := st.s3.PutObject(gctx, &s3.PutObjectInput{Bucket: aws.String("large"), Key: aws.String(fmt.Sprintf("media_attachments/files/%05d/original/x.png", i)), Body: strings.NewReader("x")})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	var seen []int
	if err := st.Destroy(ctx, func(deleted int) { seen = append(seen, deleted) }); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if len(seen) < 3 || seen[len(seen)-1] != n || !slices.IsSorted(seen) {
		t.Fatalf("progress = %v, want at least 3 growing counts ending at %d", seen, n)
	}
	if ok, err := st.Exists(ctx); err != nil || ok {
		t.Fatalf("Exists after destroy = %v, %v", ok, err)
	}
}

func TestAccStoreClaim(t *testing.T) {
	ctx := context.Background()
	st := minioStore(t, "claimed")
	if err := st.Create(ctx, AccessPolicy); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Claim(ctx); err != nil || got != "" {
		t.Fatalf("claim of a new bucket = %q, %v", got, err)
	}
	a, b := "0123456789abcdef", "fedcba9876543210"
	if err := st.SetClaim(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Claim(ctx); err != nil || got != a {
		t.Fatalf("claim = %q, %v; want %q", got, err, a)
	}
	// Releasing another claim leaves ours; releasing ours removes it.
	if err := st.ReleaseClaim(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Claim(ctx); got != a {
		t.Fatalf("claim after releasing another = %q", got)
	}
	if err := st.ReleaseClaim(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Claim(ctx); got != "" {
		t.Fatalf("claim after release = %q", got)
	}
	// Something else under the key still claims the bucket.
	if _, err := st.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("claimed"), Key: aws.String(ClaimKey), Body: strings.NewReader("not json")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Claim(ctx); got == "" {
		t.Fatal("an unreadable claim object reads as no claim")
	}
}
