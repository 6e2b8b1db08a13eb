// Command terraform-provider-mastodon is a Terraform provider that runs
// Mastodon instances on Kubernetes.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/tootform/terraform-provider-mastodon/internal/provider"
)

// version is set by goreleaser at build time.
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()
	quietUnlessRead()
	stopProfile := profile()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/tootform/mastodon",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	stopProfile()
	if err != nil {
		log.Fatal(err)
	}
}
