# An account managed by this provider is imported by namespace/instance/username.
terraform import mastodon_admin_user.owner mastodon/social/alice
