# An instance created by this provider is imported by namespace/name. Every
# attribute comes back from the cluster (the configuration recorded on the
# instance's ConfigMap and the values in its Secrets), except write-only passwords.
terraform import mastodon_instance.social mastodon/social
