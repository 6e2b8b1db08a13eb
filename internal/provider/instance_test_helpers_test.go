package provider

import "github.com/tootform/terraform-provider-mastodon/internal/mastodon"

var mastodonVersionForTests = mastodon.DefaultVersion
