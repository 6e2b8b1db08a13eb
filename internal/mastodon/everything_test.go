package mastodon

import "testing"

// everythingSpec has every optional feature on, so that its golden files
// pin the order in which the features add their objects, volumes and
// environment (the order of features). Backup and Cloud SQL do not go
// together: cloudSQL picks one of them.
func everythingSpec(t *testing.T, cloudSQL bool) *Spec {
	cert, key := fixedCertificate(t)
	enabled := true
	s := &Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example", WebReplicas: 1, StreamReplicas: 1,
		WebResources:      Resources{CPURequest: "500m", MemoryRequest: "1Gi"},
		WebAutoscaling:    &Autoscaling{MinReplicas: 2, MaxReplicas: 6, TargetCPU: 70, TargetMemory: 85},
		StreamResources:   Resources{CPURequest: "100m"},
		StreamAutoscaling: &Autoscaling{MinReplicas: 2, MaxReplicas: 3, TargetCPU: 60},
		Sidekiq: []SidekiqProcess{
			{Name: "scheduler", Queues: []Queue{{Name: "scheduler"}}, Replicas: 1},
			{Name: "main", Queues: []Queue{{Name: "default", Weight: 8}, {Name: "push", Weight: 6}, {Name: "ingress", Weight: 4}, {Name: "mailers", Weight: 2},
				{Name: "pull"}, {Name: "fasp"}}, Resources: Resources{CPURequest: "1"}, Autoscaling: &Autoscaling{MinReplicas: 1, MaxReplicas: 4, TargetCPU: 80}},
		},
		Metrics: &Metrics{WebDetailed: true, SidekiqDetailed: true, ServiceMonitor: true, ServiceMonitorLabels: map[string]string{"release": "prometheus"}},
		Database: &Database{User: "mastodon", Password: "db-password", CloudSQL: &CloudSQL{InstanceConnectionName: "my-project:europe-west1:mastodon",
			CredentialsJSON: `{"type":"service_account"}`}},
		Redis:       &Redis{Host: "redis.internal", Password: "redis-secret"},
		SMTP:        &SMTP{Server: "smtp.example.org", Port: 587, Login: "mastodon", Password: "smtp-secret", FromAddress: "notifications@social.example"},
		MediaBucket: &MediaBucket{Bucket: "media", Endpoint: "https://storage.example.org", Region: "eu", AccessKeyID: "a", SecretAccessKey: "bucket-secret"},
		Ingress: &Ingress{ClassName: "gce", Annotations: map[string]string{"kubernetes.io/ingress.global-static-ip-name": "social"},
			CertificatePEM: cert, PrivateKeyPEM: key, GKEStreamingTimeout: 3600},
		Search:      &Search{Host: "opensearch.search", Scheme: "https", User: "mastodon", Password: "search-secret", Prefix: "social", CACertificatePEM: cert},
		Translation: &Translation{DeepL: &DeepL{APIKey: "deepl-secret", Plan: "pro"}},
		SSO: &SSO{OIDC: &OIDC{Issuer: "https://id.example.org", ClientID: "mastodon", ClientSecret: "oidc-secret"},
			LDAP: &LDAP{Host: "ldap.example.org", Base: "dc=example,dc=org", BindDN: "cn=mastodon,dc=example,dc=org", Password: "ldap-secret"}},
		Maintenance: Maintenance{Tasks: map[string]MaintenanceTask{"profile_media": {Enabled: &enabled, RetentionDays: 60},
			"accounts_cull": {Enabled: &enabled}, "accounts_refresh": {Enabled: &enabled}}},
		HCaptcha:      &HCaptcha{SiteKey: "hcaptcha-site", SecretKey: "hcaptcha-secret"},
		OpenTelemetry: &OpenTelemetry{Endpoint: "http://otel.monitoring:4318", TracesSampler: "parentbased_traceidratio", TracesSamplerRatio: ptrTo(0.1)},
		LogLevels:     LogLevels{Rails: "warn", Streaming: "warn"},
		Policy: Policy{EmailDomainAllowlist: []string{"social.example"}, IPRetentionSeconds: 2592000, UserActiveDays: 14,
			AllowedPrivateAddresses: []string{"10.0.0.0/8"}, HTTPProxy: "http://proxy.net:3128"},
	}
	if !cloudSQL {
		s.Database, s.Backup = nil, &Backup{Schedule: "30 2 * * *", Keep: 3}
	}
	s.Defaults()
	return s
}

// Every feature on at once: the objects in Render's order.
func TestRenderEverything(t *testing.T) {
	for name, cloudSQL := range map[string]bool{"everything-cloudsql.yaml": true, "everything-backup.yaml": false} {
		t.Run(name, func(t *testing.T) {
			s := everythingSpec(t, cloudSQL)
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			golden(t, name, renderYAML(t, append(s.Render(fixedSecrets, "recorded-configuration"), s.PrepareJob())))
		})
	}
}
