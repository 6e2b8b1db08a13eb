package mastodon

// OtherMediaStores are the variables of the media stores Mastodon knows
// besides S3 and the filesystem (config/initializers/paperclip.rb: OpenStack
// Swift when SWIFT_ENABLED is "true", Azure Blob when AZURE_ENABLED is;
// app/lib/content_security_policy.rb and app/helpers/application_helper.rb
// read SWIFT_OBJECT_URL and AZURE_ALIAS_HOST whether or not they are
// enabled). The instance does not deploy them: it mounts the media volume
// unless media_bucket is set, and with media_bucket (S3_ENABLED) Mastodon
// ignores them, so set through the free-form environment they would store
// media where the instance neither mounts, backs up nor cleans.
var OtherMediaStores = []string{
	"SWIFT_ENABLED", "SWIFT_USERNAME", "SWIFT_PROJECT_ID", "SWIFT_TENANT", "SWIFT_PASSWORD", "SWIFT_AUTH_URL",
	"SWIFT_DOMAIN_NAME", "SWIFT_REGION", "SWIFT_CACHE_TTL", "SWIFT_TEMP_URL_KEY", "SWIFT_CONTAINER", "SWIFT_OBJECT_URL",
	"AZURE_ENABLED", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCESS_KEY", "AZURE_CONTAINER_NAME", "AZURE_ALIAS_HOST",
}

// mediaStoresFeature refuses the variables of OtherMediaStores in the
// free-form environment.
type mediaStoresFeature struct{ noFeature }

func (mediaStoresFeature) validate(s *Spec, e *fieldErrors) {
	s.eachExtra(func(attr, k string) {
		if oneOf(k, OtherMediaStores) {
			e.add(attr, "%q configures OpenStack Swift or Azure Blob media storage, which the instance does not deploy: "+
				"use media_bucket with an S3-compatible store (Swift's S3 API, or an S3 gateway in front of Azure Blob), or the media volume", k)
		}
	})
}
