package objectstore

import (
	"strings"
	"testing"
)

func TestValidateBucketName(t *testing.T) {
	for name, ok := range map[string]bool{
		"mastodon-media": true, "a.b.c": true, "abc": true, "123": true,
		"ab": false, "Media": false, "media_files": false, "-media": false, "media-": false,
		"a..b": false, "a.-b": false, "192.168.1.10": false, "xn--media": false, "media-s3alias": false,
		"a23456789012345678901234567890123456789012345678901234567890123":  true,
		"a234567890123456789012345678901234567890123456789012345678901234": false,
	} {
		if err := ValidateBucketName(name); (err == nil) != ok {
			t.Errorf("ValidateBucketName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestValidateEndpoint(t *testing.T) {
	for endpoint, ok := range map[string]bool{
		"https://storage.googleapis.com": true, "http://127.0.0.1:9000": true, "https://acct.r2.cloudflarestorage.com/": true,
		"storage.googleapis.com": false, "ftp://x": false, "https://": false, "https://host/bucket": false, "https://u:p@host": false,
	} {
		if err := ValidateEndpoint(endpoint); (err == nil) != ok {
			t.Errorf("ValidateEndpoint(%q) = %v, want ok=%v", endpoint, err, ok)
		}
	}
}

func TestKinds(t *testing.T) {
	for endpoint, want := range map[string]Kind{
		"": KindAWS, "https://s3.eu-west-1.amazonaws.com": KindAWS, "https://storage.googleapis.com": KindGCS,
		"https://0123.r2.cloudflarestorage.com": KindR2, "http://127.0.0.1:9000": KindGeneric,
	} {
		if got := KindOf(endpoint); got != want {
			t.Errorf("KindOf(%q) = %s, want %s", endpoint, got, want)
		}
	}
	if KindR2.Supports(AccessACL) == nil || KindGCS.Supports(AccessPolicy) == nil || KindAWS.Supports(AccessACL) != nil || KindGeneric.Supports(AccessPolicy) != nil {
		t.Error("Supports does not match the stores' features")
	}
	if KindGCS.DefaultAccess() != AccessACL || KindAWS.DefaultAccess() != AccessPolicy || KindR2.DefaultAccess() != AccessNone {
		t.Error("DefaultAccess does not match the stores' features")
	}
}

func TestBucketURL(t *testing.T) {
	c := Config{Endpoint: "http://127.0.0.1:9000/", Bucket: "media", PathStyle: true}
	if got := c.BucketURL(); got != "http://127.0.0.1:9000/media/" {
		t.Errorf("path style: %s", got)
	}
	// Mastodon links objects path-style whenever S3_ENDPOINT is set
	// (config/initializers/paperclip.rb: ':s3_path_url'), also when its
	// own requests are virtual-host style.
	c = Config{Region: "eu-west-1", Bucket: "media"}
	if got := c.BucketURL(); got != "https://s3.eu-west-1.amazonaws.com/media/" {
		t.Errorf("AWS: %s", got)
	}
}

func TestAllowsPublic(t *testing.T) {
	res := "arn:aws:s3:::media/*"
	for policy, want := range map[string]bool{
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::media/*"]}]}`:               true,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::media/*"}]}`:                             true,
		`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::media/*"}]}`:                              false,
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::media/*"}]}`: false,
		`not json`: false,
	} {
		if got := allowsPublic(policy, "s3:GetObject", res); got != want {
			t.Errorf("allowsPublic(%s) = %v, want %v", policy, got, want)
		}
	}
}

// Mastodon's `tootctl media remove-orphans` (run by the instance's
// maintenance CronJob) lists the whole bucket and deletes only keys that
// split into 7 or 10 segments on "/" once the segment "cache" is removed;
// other keys are logged as "Unrecognized file found" and left
// (lib/mastodon/cli/media.rb, VALID_PATH_SEGMENTS_SIZE, orphaned_file?;
// v4.6.5, 6f8664c). The claim and the proof's objects must stay out of it.
func TestKeysOutsideOrphanRemoval(t *testing.T) {
	for _, key := range []string{ClaimKey, proofPrefix + "0123456789abcdef.txt"} {
		var segments []string
		for _, s := range strings.Split(key, "/") {
			if s != "cache" {
				segments = append(segments, s)
			}
		}
		if n := len(segments); n == 7 || n == 10 {
			t.Errorf("%s has %d path segments: tootctl media remove-orphans would treat it as an attachment", key, n)
		}
	}
}
