// Package objectstore holds the S3 operations of mastodon_media_bucket: it
// knows S3-compatible stores (AWS S3, GCS's XML interface, R2, MinIO) and
// nothing of Mastodon or Terraform.
package objectstore

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// Kind is the type of store, told from its endpoint where it can be.
type Kind string

const (
	KindAWS     Kind = "s3"      // AWS S3 (no endpoint, or *.amazonaws.com)
	KindGCS     Kind = "gcs"     // storage.googleapis.com
	KindR2      Kind = "r2"      // *.r2.cloudflarestorage.com
	KindGeneric Kind = "generic" // anything else: MinIO, Ceph, Garage...
)

// KindOf tells the store type from an endpoint URL ("" is AWS).
func KindOf(endpoint string) Kind {
	if endpoint == "" {
		return KindAWS
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return KindGeneric
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "storage.googleapis.com":
		return KindGCS
	case strings.HasSuffix(host, ".r2.cloudflarestorage.com"):
		return KindR2
	case host == "amazonaws.com" || strings.HasSuffix(host, ".amazonaws.com"):
		return KindAWS
	}
	return KindGeneric
}

// HasObjectACLs says whether the store can make single objects public with
// a canned ACL. R2 has no ACLs; MinIO ignores them, but that cannot be told
// from its address, so only the proof finds out.
func (k Kind) HasObjectACLs() bool { return k != KindR2 }

var (
	bucketChars = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`)
	ipLike      = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)
)

// ValidateBucketName applies S3's bucket naming rules (which GCS, R2 and
// MinIO share for names that work everywhere).
func ValidateBucketName(name string) error {
	switch {
	case len(name) < 3 || len(name) > 63:
		return fmt.Errorf("must be 3 to 63 characters long, not %d", len(name))
	case !bucketChars.MatchString(name):
		return fmt.Errorf("%q may hold only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit", name)
	case strings.Contains(name, ".."):
		return fmt.Errorf("%q must not contain two adjacent dots", name)
	case strings.Contains(name, ".-") || strings.Contains(name, "-."):
		return fmt.Errorf("%q must not have a hyphen next to a dot", name)
	case ipLike.MatchString(name):
		return fmt.Errorf("%q must not look like an IP address", name)
	case strings.HasPrefix(name, "xn--") || strings.HasPrefix(name, "sthree-"):
		return fmt.Errorf("%q must not begin with a reserved prefix (xn--, sthree-)", name)
	case strings.HasSuffix(name, "-s3alias") || strings.HasSuffix(name, "--ol-s3") || strings.HasSuffix(name, "--x-s3"):
		return fmt.Errorf("%q must not end with a reserved suffix (-s3alias, --ol-s3, --x-s3)", name)
	}
	return nil
}

// ValidateEndpoint checks that an endpoint is an http(s) URL with a host
// and nothing after it but an optional "/".
func ValidateEndpoint(endpoint string) error {
	if !strings.Contains(endpoint, "://") {
		return fmt.Errorf("%q must be a URL beginning with https:// (or http://)", endpoint)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", endpoint, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%q must begin with https:// (or http://)", endpoint)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q has no host", endpoint)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must be only a scheme and a host (and port), such as https://storage.googleapis.com", endpoint)
	}
	return nil
}

// ValidateHost checks a bare host name such as a media alias host.
func ValidateHost(host string) error {
	if host == "" || strings.ContainsAny(host, "/:@ ") && net.ParseIP(host) == nil {
		return fmt.Errorf("%q must be a bare host name such as files.example.com (no scheme, port or path)", host)
	}
	return nil
}

// ValidateOrigin checks a CORS origin: "*" or scheme://host[:port].
func ValidateOrigin(origin string) error {
	if origin == "*" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("%q must be \"*\" or an origin such as https://mastodon.example.com", origin)
	}
	return nil
}
