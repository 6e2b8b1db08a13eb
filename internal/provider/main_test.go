package provider

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// The provider's registry address, so that configurations that name it
	// (the examples) find the provider under test.
	if os.Getenv("TF_ACC_PROVIDER_NAMESPACE") == "" {
		_ = os.Setenv("TF_ACC_PROVIDER_NAMESPACE", "tootform")
	}
	os.Exit(m.Run())
}
