# A production cluster's demands: a dedicated node pool, a mesh that must
# not inject into Jobs, IRSA for the bucket, a cloud load balancer's
# settings on web's Service.
resource "mastodon_instance" "social" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.org"
  version      = "v4.7.3"

  media_bucket = {
    bucket   = "social-media"
    endpoint = "https://s3.eu-west-1.amazonaws.com"
    region   = "eu-west-1"
    access_key_id     = var.media_access_key_id
    secret_access_key = var.media_secret_access_key
  }

  # Every Pod: the Mastodon pool, its taint tolerated, the team's label.
  pod = {
    node_selector       = { "example.com/pool" = "mastodon" }
    tolerations         = [{ key = "dedicated", operator = "Equal", value = "mastodon", effect = "NoSchedule" }]
    labels              = { team = "fediverse" }
    priority_class_name = "production"
  }

  web = {
    replicas = 3
    # Spread hard across zones (the default spreads softly across nodes and zones).
    pod = {
      topology_spread = [
        { topology_key = "topology.kubernetes.io/zone", when_unsatisfiable = "DoNotSchedule" },
        { topology_key = "kubernetes.io/hostname" },
      ]
    }
    service_annotations    = { "service.beta.kubernetes.io/aws-load-balancer-type" = "nlb" }
    deployment_annotations = { "reloader.stakater.com/auto" = "true" }
  }

  sidekiq = [
    { name = "scheduler", queues = ["scheduler"] },
    {
      name     = "main"
      queues   = ["default,8", "push,6", "ingress,4", "mailers,2", "pull", "fasp"]
      replicas = 2
      # Sidekiq finishes the jobs it runs before it stops.
      pod = { termination_grace_period_seconds = 90 }
    },
  ]

  # The Jobs and CronJobs: no mesh sidecar (a Job whose sidecar keeps
  # running never completes), their own size.
  jobs = {
    resources = { cpu_request = "250m", memory_request = "768Mi" }
    pod       = { annotations = { "sidecar.istio.io/inject" = "false" } }
  }

  service_account = {
    annotations = { "eks.amazonaws.com/role-arn" = "arn:aws:iam::123456789012:role/mastodon" }
  }
}

variable "media_access_key_id" {
  type = string
}

variable "media_secret_access_key" {
  type      = string
  sensitive = true
}
