package mastodon

import (
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/objectstore"
)

// MediaBucket is the S3-compatible bucket that holds uploads instead of the
// media volume.
type MediaBucket struct {
	Bucket     string
	Endpoint   string // scheme://host[:port]
	Region     string
	AliasHost  string // the public host that serves the bucket's objects
	Permission string // the canned ACL of new objects; "" when the bucket is made public otherwise
	PathStyle  bool
	// AccessKeyID and SecretAccessKey are both set, or (media_bucket only)
	// both empty: keyless, see Keyless.
	AccessKeyID     string
	SecretAccessKey string
	// SecretAccessKeyRef, when set, gives the key instead (see SecretRef).
	SecretAccessKeyRef *SecretRef `json:",omitempty"`
}

// Keyless says whether the bucket is reached without keys: Mastodon then
// gets no AWS_ACCESS_KEY_ID nor AWS_SECRET_ACCESS_KEY, kt-paperclip gives
// its S3 client no credentials (it copies only those that are set; an empty string would count),
// and the AWS SDK takes its default chain: the environment, a web identity
// token (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, set by EKS IRSA),
// container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI, set by EKS Pod
// Identity), then the node's instance profile.
func (b *MediaBucket) Keyless() bool {
	return b.AccessKeyID == "" && b.SecretAccessKey == "" && b.SecretAccessKeyRef == nil
}

// S3Permission is the S3_PERMISSION that goes with a way of making objects
// public: Mastodon writes each object with this canned ACL, which stores
// without ACLs refuse, so it is empty unless objects are made public by ACL.
func S3Permission(publicByACL bool) string {
	if publicByACL {
		return "public-read"
	}
	return ""
}

// Secret keys of the bucket's credentials.
const (
	EnvS3AccessKey = "AWS_ACCESS_KEY_ID"
	EnvS3SecretKey = "AWS_SECRET_ACCESS_KEY"
)

// mediaBucketFeature stores uploads in a bucket (Spec.MediaBucket) instead
// of the media volume.
type mediaBucketFeature struct{ noFeature }

func (mediaBucketFeature) validate(s *Spec, e *fieldErrors) {
	if b := s.MediaBucket; b != nil {
		b.validate("media_bucket", "the instance's Secret", true, e)
	}
}

// validate checks a bucket's connection settings, given at block; secret
// names where the secret key goes. With keyless the keys may both be
// unset (Keyless), not one without the other.
func (b *MediaBucket) validate(block, secret string, keyless bool, e *fieldErrors) {
	if b.Bucket == "" {
		e.add(block+".bucket", "must be set")
	}
	if u, err := url.Parse(b.Endpoint); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		e.add(block+".endpoint", "%q must be a URL such as https://storage.googleapis.com", b.Endpoint)
	}
	// The secret key is given as a value (clear or write-only) or by a
	// reference to a Secret someone else keeps.
	hasSecret := b.SecretAccessKey != "" || b.SecretAccessKeyRef != nil
	keys := []string{block + ".access_key_id", block + ".secret_access_key", block + ".secret_access_key_wo", block + ".secret_access_key_secret_ref"}
	if !keyless {
		if b.AccessKeyID == "" {
			e.add(block+".access_key_id", "must be set")
		}
		if !hasSecret {
			e.add(block+".secret_access_key", "must be set (it reaches Pods through %s), or secret_access_key_secret_ref", secret)
			e.related(block+".secret_access_key_wo", block+".secret_access_key_secret_ref")
		}
		return
	}
	switch {
	case b.AccessKeyID != "" && !hasSecret:
		e.add(block+".secret_access_key", "must be set with access_key_id (it reaches Pods through %s), or secret_access_key_secret_ref; "+
			"or leave both unset for the Pods' own identity (service_account)", secret)
		e.related(keys...)
	case b.AccessKeyID == "" && hasSecret:
		e.add(block+".access_key_id", "must be set with secret_access_key; or leave both unset for the Pods' own identity (service_account)")
		e.related(keys...)
	case b.Keyless() && objectstore.KindOf(b.Endpoint) == objectstore.KindGCS:
		// GCS's XML API authenticates S3-style requests with HMAC keys
		// only; a Kubernetes identity (GKE Workload Identity) gives
		// OAuth tokens, which an S3 client cannot send.
		e.add(block+".access_key_id", "must be set: the endpoint is Cloud Storage, whose S3 interface takes only HMAC keys "+
			"(google_storage_hmac_key), not GKE Workload Identity: give the HMAC key's access_id and secret")
		e.related(append(keys, block+".endpoint")...)
	}
}

// warnings: a keyless bucket that the Pods reach with no identity of
// their own, neither service_account nor an AWS endpoint (on EKS a node's
// instance profile may serve): the SDK's default chain most likely finds
// nothing, and the first upload fails. R2, MinIO and the like take keys
// only.
func (mediaBucketFeature) warnings(s *Spec) []FieldError {
	b := s.MediaBucket
	if b == nil || !b.Keyless() || s.ServiceAccount != nil || objectstore.KindOf(b.Endpoint) == objectstore.KindAWS {
		return nil
	}
	var out fieldErrors
	out.add("media_bucket.access_key_id", "is unset, as is secret_access_key, so Mastodon's S3 client looks for credentials in the AWS SDK's "+
		"default chain: AWS_ACCESS_KEY_ID in the environment, a web identity token (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, EKS IRSA), "+
		"container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI, EKS Pod Identity), then the node's instance profile. Without service_account "+
		"and with an endpoint (%s) that is not AWS, the Pods most likely have none and the first upload fails: give the keys, or a service_account "+
		"mapped to an identity the store accepts", b.Endpoint)
	out.related("media_bucket.secret_access_key", "media_bucket.secret_access_key_wo", "media_bucket.secret_access_key_secret_ref", "media_bucket.endpoint", "service_account")
	return out
}

// env says where uploads go: the bucket, or the media volume.
func (mediaBucketFeature) env(s *Spec, plain, secret map[string]string) {
	if b := s.MediaBucket; b != nil {
		b.env(plain, secret)
	} else {
		plain["PAPERCLIP_ROOT_PATH"] = MediaPath
	}
}

// env sets the S3_* variables of the bucket's settings (plain) and its
// credentials (secret), as Mastodon reads them.
func (b *MediaBucket) env(plain, secret map[string]string) {
	u, _ := url.Parse(b.Endpoint)
	plain["S3_ENABLED"] = "true"
	plain["S3_BUCKET"] = b.Bucket
	plain["S3_REGION"] = b.Region
	if plain["S3_REGION"] == "" {
		plain["S3_REGION"] = "us-east-1"
	}
	plain["S3_ENDPOINT"] = strings.TrimSuffix(b.Endpoint, "/")
	plain["S3_HOSTNAME"] = u.Host
	plain["S3_PROTOCOL"] = u.Scheme
	plain["S3_PERMISSION"] = b.Permission
	if b.AliasHost != "" {
		plain["S3_ALIAS_HOST"] = b.AliasHost
	}
	if !b.PathStyle {
		// With S3_ENDPOINT set (always, here) Mastodon addresses the
		// bucket path-style unless this is true (config/initializers/paperclip.rb).
		plain["S3_OVERRIDE_PATH_STYLE"] = "true"
	}
	// Keyless: neither variable, not an empty one (kt-paperclip would hand
	// an empty key to the S3 client as a static credential). A secret key
	// given by reference reaches the Pods by secretKeyRef instead.
	setNonEmpty(secret, map[string]string{EnvS3AccessKey: b.AccessKeyID})
	if b.SecretAccessKeyRef == nil {
		setNonEmpty(secret, map[string]string{EnvS3SecretKey: b.SecretAccessKey})
	}
}

// pod mounts the media volume when there is no bucket.
func (mediaBucketFeature) pod(s *Spec, pod *corev1.PodSpec) {
	if s.MediaBucket == nil {
		s.withMediaVolume(pod)
	}
}
