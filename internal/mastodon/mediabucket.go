package mastodon

import (
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// MediaBucket is the S3-compatible bucket that holds uploads instead of the
// media volume.
type MediaBucket struct {
	Bucket          string
	Endpoint        string // scheme://host[:port]
	Region          string
	AliasHost       string // the public host that serves the bucket's objects
	Permission      string // the canned ACL of new objects; "" when the bucket is made public otherwise
	PathStyle       bool
	AccessKeyID     string
	SecretAccessKey string
	// SecretAccessKeyRef, when set, gives the key instead (see SecretRef).
	SecretAccessKeyRef *SecretRef `json:",omitempty"`
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
		b.validate("media_bucket", "the instance's Secret", e)
	}
}

// validate checks a bucket's connection settings, given at block; secret
// names where the secret key goes.
func (b *MediaBucket) validate(block, secret string, e *fieldErrors) {
	if b.Bucket == "" {
		e.add(block+".bucket", "must be set")
	}
	if u, err := url.Parse(b.Endpoint); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		e.add(block+".endpoint", "%q must be a URL such as https://storage.googleapis.com", b.Endpoint)
	}
	if b.AccessKeyID == "" {
		e.add(block+".access_key_id", "must be set")
	}
	if b.SecretAccessKey == "" && b.SecretAccessKeyRef == nil {
		e.add(block+".secret_access_key", "must be set (it reaches Pods through %s), or secret_access_key_secret_ref", secret)
		e.related(block+".secret_access_key_wo", block+".secret_access_key_secret_ref")
	}
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
	secret[EnvS3AccessKey] = b.AccessKeyID
	if b.SecretAccessKeyRef == nil {
		secret[EnvS3SecretKey] = b.SecretAccessKey
	}
}

// pod mounts the media volume when there is no bucket.
func (mediaBucketFeature) pod(s *Spec, pod *corev1.PodSpec) {
	if s.MediaBucket == nil {
		s.withMediaVolume(pod)
	}
}
