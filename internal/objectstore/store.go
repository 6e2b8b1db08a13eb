package objectstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

// Access is how objects become readable by anyone.
type Access string

const (
	AccessACL    Access = "acl"    // each object is written with the public-read canned ACL
	AccessPolicy Access = "policy" // a bucket policy lets anyone get objects, not list them
	AccessNone   Access = "none"   // the store is not public; a CDN in front reads it
)

// Accesses lists the values of Access.
var Accesses = []string{string(AccessACL), string(AccessPolicy), string(AccessNone)}

// Supports says whether a store type can give the public access asked for,
// where that is known from its type.
func (k Kind) Supports(a Access) error {
	switch {
	case a == AccessACL && !k.HasObjectACLs():
		return errors.New("R2 has no object ACLs: use \"none\" and make the bucket public through a custom domain or r2.dev")
	case a == AccessPolicy && k == KindGCS:
		return errors.New("GCS has no bucket policies through its S3 interface: use \"acl\" (a bucket with fine-grained access control) or \"none\" with allUsers granted object read through IAM")
	case a == AccessPolicy && k == KindR2:
		return errors.New("R2 has no bucket policies: use \"none\" and make the bucket public through a custom domain or r2.dev")
	}
	return nil
}

// DefaultAccess is the public access that works on a store type by default.
func (k Kind) DefaultAccess() Access {
	switch k {
	case KindGCS:
		return AccessACL
	case KindR2:
		return AccessNone
	}
	return AccessPolicy
}

// Config says how to reach one bucket.
type Config struct {
	Endpoint        string // "" for AWS
	Region          string
	Bucket          string
	AccessKeyID     string
	SecretAccessKey string
	PathStyle       bool
	// HTTPClient is used for the store and the anonymous checks (nil: a
	// client with a 30 s timeout).
	HTTPClient *http.Client
}

// EffectiveEndpoint is the endpoint URL, AWS's regional one when none is set.
func (c Config) EffectiveEndpoint() string {
	if c.Endpoint == "" {
		return "https://s3." + c.Region + ".amazonaws.com"
	}
	return strings.TrimSuffix(c.Endpoint, "/")
}

// BucketURL is the address Mastodon links the bucket's objects under when
// no alias host is set, ending in "/": with S3_ENDPOINT set (the instance
// always sets it) Mastodon builds ':s3_path_url' links,
// endpoint/bucket/key, whatever the path style of its own requests
// (config/initializers/paperclip.rb). The proof reads there.
func (c Config) BucketURL() string {
	u, err := url.Parse(c.EffectiveEndpoint())
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/" + c.Bucket + "/"
}

// Store is a client for one bucket.
type Store struct {
	cfg  Config
	kind Kind
	s3   *s3.Client
	http *http.Client
}

// New returns a Store; it makes no request.
func New(cfg Config) *Store {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	client := s3.New(s3.Options{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		HTTPClient:   hc,
		UsePathStyle: cfg.PathStyle,
		// Only AWS understands the newer checksum headers everywhere.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           3,
	}, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(strings.TrimSuffix(cfg.Endpoint, "/"))
		}
	})
	return &Store{cfg: cfg, kind: KindOf(cfg.Endpoint), s3: client, http: hc}
}

// Errors that a failed step wraps, for callers to give advice on.
var (
	// ErrNoBucketCORS: the store keeps no CORS rules per bucket.
	ErrNoBucketCORS = errors.New("the store has no per-bucket CORS rules (MinIO sets them for the whole server: MINIO_API_CORS_ALLOW_ORIGIN, which allows every origin by default)")
	// ErrNotPublic: an anonymous read of an object was refused.
	ErrNotPublic = errors.New("it is not public")
)

// Error is a failed step, with the store's own error code when it gave one.
type Error struct {
	Step string
	Code string // the store's error code, or the HTTP status
	Err  error
}

func (e *Error) Error() string {
	msg := e.Err.Error()
	var api smithy.APIError
	if errors.As(e.Err, &api) {
		msg = api.ErrorMessage()
	}
	if e.Code != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Step, msg, e.Code)
	}
	return e.Step + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

func fail(step string, err error) error {
	if err == nil {
		return nil
	}
	code := ""
	var api smithy.APIError
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	return &Error{Step: step, Code: code, Err: err}
}

// Code is the store's error code of err, or "".
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// RefusedCredentials says whether the store refused the request's
// credentials (rather than, say, an anonymous read failing).
func RefusedCredentials(err error) bool {
	return isCode(err, "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidSecurity", "InvalidToken", "ExpiredToken")
}

// KeyNotYetKnown says whether the store refused a key in a way a key or
// policy created moments ago causes while it propagates (AWS IAM takes
// seconds): an unknown key ID, or a request the key may not make yet.
func KeyNotYetKnown(err error) bool {
	return isCode(err, "InvalidAccessKeyId", "AccessDenied")
}

func isCode(err error, codes ...string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && slices.Contains(codes, api.ErrorCode())
}

// Exists checks the credentials against the bucket: false when the store
// says the bucket does not exist, an error when it refuses the request.
func (s *Store) Exists(ctx context.Context) (bool, error) {
	_, err := s.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.cfg.Bucket), MaxKeys: aws.Int32(1)})
	switch {
	case err == nil:
		return true, nil
	case isCode(err, "NoSuchBucket", "NotFound"):
		return false, nil
	}
	return false, fail("checking the credentials against bucket "+s.cfg.Bucket, err)
}

// Create creates the bucket. With object ACLs on AWS, the bucket lets
// object writers own their objects, since new AWS buckets disable ACLs.
func (s *Store) Create(ctx context.Context, access Access) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(s.cfg.Bucket)}
	if s.kind == KindAWS && s.cfg.Region != "" && s.cfg.Region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(s.cfg.Region)}
	}
	if s.kind == KindAWS && access == AccessACL {
		in.ObjectOwnership = types.ObjectOwnershipObjectWriter
	}
	_, err := s.s3.CreateBucket(ctx, in)
	if isCode(err, "BucketAlreadyOwnedByYou") {
		err = nil
	}
	return fail("creating bucket "+s.cfg.Bucket, err)
}

// publicReadStatement is the statement this package writes; Sid marks it.
const publicReadSid = "MastodonPublicReadObjects"

func (s *Store) policyDocument() string {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid":       publicReadSid,
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": []string{"*"}},
			"Action":    []string{"s3:GetObject"},
			"Resource":  []string{"arn:aws:s3:::" + s.cfg.Bucket + "/*"},
		}},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// SetPublicAccess makes objects public as asked. On AWS it first lifts
// the parts of the bucket's Block Public Access that would refuse it.
// With "acl" and "none" it removes a policy that this package wrote.
func (s *Store) SetPublicAccess(ctx context.Context, access Access) error {
	if s.kind == KindAWS && access != AccessNone {
		block := &types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(access != AccessACL), IgnorePublicAcls: aws.Bool(access != AccessACL),
			BlockPublicPolicy: aws.Bool(access != AccessPolicy), RestrictPublicBuckets: aws.Bool(access != AccessPolicy),
		}
		if _, err := s.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(s.cfg.Bucket), PublicAccessBlockConfiguration: block}); err != nil {
			return fail("lifting Block Public Access on bucket "+s.cfg.Bucket, err)
		}
	}
	if access == AccessPolicy {
		_, err := s.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(s.cfg.Bucket), Policy: aws.String(s.policyDocument())})
		return fail("setting the public-read policy on bucket "+s.cfg.Bucket, err)
	}
	if s.kind == KindGCS || s.kind == KindR2 {
		return nil // no bucket policies there
	}
	got, err := s.PublicAccess(ctx)
	if err != nil || got != AccessPolicy {
		return err
	}
	_, err = s.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(s.cfg.Bucket)})
	return fail("removing the public-read policy from bucket "+s.cfg.Bucket, err)
}

// PublicAccess reads what the bucket's policy allows: AccessPolicy when
// anyone may get objects, AccessNone otherwise (object ACLs are per object
// and not read here).
func (s *Store) PublicAccess(ctx context.Context) (Access, error) {
	if s.kind == KindGCS || s.kind == KindR2 {
		return AccessNone, nil
	}
	out, err := s.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(s.cfg.Bucket)})
	if isCode(err, "NoSuchBucketPolicy") {
		return AccessNone, nil
	}
	if err != nil {
		return "", fail("reading the policy of bucket "+s.cfg.Bucket, err)
	}
	if allowsPublic(aws.ToString(out.Policy), "s3:GetObject", "arn:aws:s3:::"+s.cfg.Bucket+"/*") {
		return AccessPolicy, nil
	}
	return AccessNone, nil
}

// allowsPublic reports whether a policy document lets anyone do action on
// resource.
func allowsPublic(policy, action, resource string) bool {
	var doc struct {
		Statement []struct {
			Effect    string
			Principal any
			Action    any
			Resource  any
		}
	}
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	for _, st := range doc.Statement {
		if st.Effect == "Allow" && anyone(st.Principal) && slices.Contains(strings1(st.Action), action) && slices.Contains(strings1(st.Resource), resource) {
			return true
		}
	}
	return false
}

func anyone(p any) bool {
	if s, ok := p.(string); ok {
		return s == "*"
	}
	if m, ok := p.(map[string]any); ok {
		return slices.Contains(strings1(m["AWS"]), "*")
	}
	return false
}

// strings1 reads a policy field that is a string or a list of them.
func strings1(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// SetCORS lets browsers on the given origins get objects (what the web
// interface needs when media is served from another host); no origins
// removes the rule.
func (s *Store) SetCORS(ctx context.Context, origins []string) error {
	if len(origins) == 0 {
		_, err := s.s3.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String(s.cfg.Bucket)})
		if isCode(err, "NoSuchCORSConfiguration", "NotImplemented") {
			err = nil // none there, or the store has no per-bucket CORS at all
		}
		return fail("removing CORS from bucket "+s.cfg.Bucket, err)
	}
	_, err := s.s3.PutBucketCors(ctx, &s3.PutBucketCorsInput{
		Bucket: aws.String(s.cfg.Bucket),
		CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{{
			AllowedOrigins: origins,
			AllowedMethods: []string{"GET", "HEAD"},
			AllowedHeaders: []string{"*"},
			MaxAgeSeconds:  aws.Int32(3000),
		}}},
	})
	if isCode(err, "NotImplemented") {
		return &Error{Step: "setting CORS on bucket " + s.cfg.Bucket, Code: "NotImplemented",
			Err: ErrNoBucketCORS}
	}
	return fail("setting CORS on bucket "+s.cfg.Bucket, err)
}

// CORS returns the origins allowed to GET objects.
func (s *Store) CORS(ctx context.Context) ([]string, error) {
	out, err := s.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String(s.cfg.Bucket)})
	if isCode(err, "NoSuchCORSConfiguration") {
		return nil, nil
	}
	if err != nil {
		return nil, fail("reading CORS of bucket "+s.cfg.Bucket, err)
	}
	var origins []string
	for _, r := range out.CORSRules {
		if slices.Contains(r.AllowedMethods, "GET") {
			for _, o := range r.AllowedOrigins {
				if !slices.Contains(origins, o) {
					origins = append(origins, o)
				}
			}
		}
	}
	return origins, nil
}

// proofPrefix holds the objects that Prove writes and deletes.
const proofPrefix = "terraform-provider-mastodon-check/"

// Prove shows that Mastodon can use the bucket: it puts a small object,
// reads it back, reads it anonymously at the bucket's own URL (unless
// access is none), checks that an anonymous listing of the bucket is
// refused, and deletes the object; err says which step failed.
//
// With aliasBase (the URL a CDN or custom domain serves the objects under,
// ending in "/"), it also reads the object there; a failure there is
// aliasErr, apart, since a CDN created in the same apply may take minutes
// before it serves anything.
func (s *Store) Prove(ctx context.Context, access Access, aliasBase string) (aliasErr, err error) {
	suffix := make([]byte, 8)
	_, _ = rand.Read(suffix)
	key := proofPrefix + hex.EncodeToString(suffix) + ".txt"
	body := []byte("Mastodon media check " + key + "\n")
	in := &s3.PutObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(key), Body: bytes.NewReader(body), ContentType: aws.String("text/plain")}
	if access == AccessACL {
		in.ACL = types.ObjectCannedACLPublicRead
	}
	if _, err := s.s3.PutObject(ctx, in); err != nil {
		return nil, fail("writing a test object", err)
	}
	err = s.prove(ctx, access, key, body)
	if err == nil && aliasBase != "" {
		aliasErr = s.readAnonymously(ctx, aliasBase+key, body, "")
	}
	if _, derr := s.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(key)}); derr != nil && err == nil {
		err = fail("deleting the test object "+key, derr)
	}
	return aliasErr, err
}

func (s *Store) prove(ctx context.Context, access Access, key string, body []byte) error {
	out, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return fail("reading the test object back", err)
	}
	got, err := io.ReadAll(out.Body)
	_ = out.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		return &Error{Step: "reading the test object back", Err: fmt.Errorf("got %d bytes that differ from the %d written (%w)", len(got), len(body), err)}
	}
	if access != AccessNone {
		hint := ""
		if access == AccessACL {
			hint = "the store may ignore object ACLs (MinIO does)"
		}
		if err := s.readAnonymously(ctx, s.cfg.BucketURL()+key, body, hint); err != nil {
			return err
		}
	}
	status, _, err := s.anonymousGet(ctx, s.cfg.BucketURL())
	step := "checking that anonymous listing of " + s.cfg.BucketURL() + " is refused"
	if err != nil {
		return &Error{Step: step, Err: err}
	}
	if status == http.StatusOK {
		return &Error{Step: step, Code: "200 OK", Err: errors.New("anyone can list the bucket's objects; allow only s3:GetObject to the public")}
	}
	return nil
}

// readAnonymously checks that anyone can read body at u.
func (s *Store) readAnonymously(ctx context.Context, u string, body []byte, hint string) error {
	status, got, err := s.anonymousGet(ctx, u)
	step := "reading the test object anonymously at " + u
	switch {
	case err != nil:
		return &Error{Step: step, Err: err}
	case status != http.StatusOK:
		err := ErrNotPublic
		if hint != "" {
			err = fmt.Errorf("%w: %s", ErrNotPublic, hint)
		}
		return &Error{Step: step, Code: http.StatusText(status), Err: err}
	case !bytes.Equal(got, body):
		return &Error{Step: step, Err: errors.New("it served other content than the object")}
	}
	return nil
}

func (s *Store) anonymousGet(ctx context.Context, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// Deletions in flight while Destroy lists: batches of up to 1,000 keys
// (one DeleteObjects request each), and on GCS, whose S3 interface has no
// batch delete, single deletions per batch. The listing (1,000 keys a
// request) then sets the pace, not the deletions behind it.
const (
	batchesInFlight   = 8
	gcsDeletesInBatch = 8
)

// Destroy deletes every object (every version, where the store keeps
// them) and then the bucket. It lists page by page and deletes each page
// as one batch while the listing goes on; progress, when not nil, is
// called (never concurrently) with the number of objects deleted so far
// after each batch.
func (s *Store) Destroy(ctx context.Context, progress func(deleted int)) error {
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan []types.ObjectIdentifier)
	var mu sync.Mutex
	deleted := 0
	for range batchesInFlight {
		g.Go(func() error {
			for ids := range batches {
				if err := s.deleteObjects(gctx, ids); err != nil {
					return err
				}
				mu.Lock()
				deleted += len(ids)
				if progress != nil {
					progress(deleted)
				}
				mu.Unlock()
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(batches)
		return s.listAll(gctx, func(ids []types.ObjectIdentifier) error {
			select {
			case batches <- ids:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	})
	if err := g.Wait(); err != nil {
		return err
	}
	return s.deleteBucket(ctx)
}

// listAll hands every object version and delete marker to batch, a page
// at a time; where the store has no version listing, every object.
func (s *Store) listAll(ctx context.Context, batch func([]types.ObjectIdentifier) error) error {
	bucket := aws.String(s.cfg.Bucket)
	var keyMarker, versionMarker *string
	for {
		out, err := s.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionMarker})
		if isCode(err, "NotImplemented") && keyMarker == nil {
			return s.listUnversioned(ctx, batch)
		}
		if err != nil {
			return fail("listing the objects of bucket "+s.cfg.Bucket, err)
		}
		var ids []types.ObjectIdentifier
		for _, v := range out.Versions {
			ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range out.DeleteMarkers {
			ids = append(ids, types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) > 0 {
			if err := batch(ids); err != nil {
				return err
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		keyMarker, versionMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
}

func (s *Store) listUnversioned(ctx context.Context, batch func([]types.ObjectIdentifier) error) error {
	p := s3.NewListObjectsV2Paginator(s.s3, &s3.ListObjectsV2Input{Bucket: aws.String(s.cfg.Bucket)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fail("listing the objects of bucket "+s.cfg.Bucket, err)
		}
		var ids []types.ObjectIdentifier
		for _, o := range out.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		if len(ids) > 0 {
			if err := batch(ids); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteObjects deletes one batch in one request where the store can;
// GCS's S3 interface has no batch delete, so there it deletes the objects
// one by one, a few at a time.
func (s *Store) deleteObjects(ctx context.Context, ids []types.ObjectIdentifier) error {
	if len(ids) == 0 {
		return nil
	}
	if s.kind == KindGCS {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(gcsDeletesInBatch)
		for _, id := range ids {
			g.Go(func() error {
				_, err := s.s3.DeleteObject(gctx, &s3.DeleteObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: id.Key, VersionId: id.VersionId})
				return fail("deleting object "+aws.ToString(id.Key), err)
			})
		}
		return g.Wait()
	}
	out, err := s.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(s.cfg.Bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
	if err != nil {
		return fail("deleting objects of bucket "+s.cfg.Bucket, err)
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		return &Error{Step: "deleting object " + aws.ToString(e.Key), Code: aws.ToString(e.Code), Err: errors.New(aws.ToString(e.Message))}
	}
	return nil
}

func (s *Store) deleteBucket(ctx context.Context) error {
	_, err := s.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(s.cfg.Bucket)})
	if isCode(err, "NoSuchBucket") {
		err = nil
	}
	return fail("deleting bucket "+s.cfg.Bucket, err)
}
