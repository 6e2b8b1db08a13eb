# Every instance this provider manages, in every namespace.
data "mastodon_instances" "all" {}

# Only those of one namespace.
data "mastodon_instances" "social" {
  namespace = "social"
}

output "not_ready" {
  value = [for i in data.mastodon_instances.all.instances : i.id if !i.ready]
}
