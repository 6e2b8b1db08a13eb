package objectstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ClaimKey is the small object that records which Terraform state manages
// the bucket: a random claim ID written by the create that took the bucket
// and kept in that state. An object, not a bucket tag: GCS and R2 have no
// bucket tagging through their S3 interface, and every store the resource
// supports lets its keys put and get objects.
//
// Mastodon's `tootctl media remove-orphans` (and the maintenance CronJob
// that runs it) lists the whole bucket but deletes only keys that split
// into 7 or 10 path segments once "cache" is removed; any other key is
// logged as "Unrecognized file found" and left (lib/mastodon/cli/media.rb,
// VALID_PATH_SEGMENTS_SIZE and orphaned_file?): this key has 2.
const ClaimKey = "terraform-provider-mastodon/claim.json"

// claimDocument is the claim object's content.
type claimDocument struct {
	Claim string `json:"claim"`
	Note  string `json:"note"`
}

const claimNote = "Written by terraform-provider-mastodon (mastodon_media_bucket): the Terraform state that manages this bucket keeps this claim. " +
	"Another state that names the bucket is refused. Delete this object only to hand the bucket to another state (import it there)."

// Claim returns the claim ID the bucket carries, or "" when it has none.
func (s *Store) Claim(ctx context.Context) (string, error) {
	out, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(ClaimKey)})
	if isCode(err, "NoSuchKey", "NotFound") {
		return "", nil
	}
	if err != nil {
		return "", fail("reading the claim "+ClaimKey+" of bucket "+s.cfg.Bucket, err)
	}
	defer func() { _ = out.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(out.Body, 64<<10))
	if err != nil {
		return "", fail("reading the claim "+ClaimKey+" of bucket "+s.cfg.Bucket, err)
	}
	var doc claimDocument
	if err := json.Unmarshal(b, &doc); err != nil || doc.Claim == "" {
		// Not ours to interpret: someone else's object under our key still
		// says the bucket is not free.
		return "unreadable:" + hex.EncodeToString(b[:min(len(b), 8)]), nil
	}
	return doc.Claim, nil
}

// SetClaim writes the claim id on the bucket and reads it back: when
// another writer got there in between, the error says so and names its
// claim (ErrClaimedByOther).
func (s *Store) SetClaim(ctx context.Context, id string) error {
	body, _ := json.Marshal(claimDocument{Claim: id, Note: claimNote})
	_, err := s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(ClaimKey),
		Body: bytes.NewReader(body), ContentType: aws.String("application/json")})
	if err != nil {
		return fail("writing the claim "+ClaimKey+" on bucket "+s.cfg.Bucket, err)
	}
	got, err := s.Claim(ctx)
	if err != nil {
		return err
	}
	if got != id {
		return &ClaimedError{Bucket: s.cfg.Bucket, Claim: got, Ours: id}
	}
	return nil
}

// ReleaseClaim deletes the claim object when it holds id; another claim
// is left alone.
func (s *Store) ReleaseClaim(ctx context.Context, id string) error {
	got, err := s.Claim(ctx)
	if err != nil || got != id {
		return err
	}
	_, err = s.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(ClaimKey)})
	return fail("deleting the claim "+ClaimKey+" of bucket "+s.cfg.Bucket, err)
}

// ClaimedError says that the bucket carries another claim than ours.
type ClaimedError struct {
	Bucket string
	Claim  string // the claim found
	Ours   string // this state's claim, "" when it has none
}

func (e *ClaimedError) Error() string {
	ours := "none"
	if e.Ours != "" {
		ours = e.Ours
	}
	return fmt.Sprintf("bucket %s carries claim %s (in %s), this state's claim is %s", e.Bucket, e.Claim, ClaimKey, ours)
}
