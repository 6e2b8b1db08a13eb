package provider

import (
	"testing"
	"time"

	"github.com/tootform/terraform-provider-mastodon/internal/testcert"
)

// testCertificatePEM returns a self-signed certificate and its key, in PEM.
func testCertificatePEM(t *testing.T) (string, string) {
	return testcert.SelfSigned(t, "social.example", time.Hour)
}
