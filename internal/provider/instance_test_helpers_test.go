package provider

import (
	"testing"
	"time"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
	"github.com/tootform/terraform-provider-mastodon/internal/testcert"
)

var mastodonVersionForTests = mastodon.DefaultVersion

// testCertificatePEM returns a self-signed certificate and its key, in PEM.
func testCertificatePEM(t *testing.T) (string, string) {
	return testcert.SelfSigned(t, "social.example", time.Hour)
}
