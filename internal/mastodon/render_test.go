package mastodon

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tootform/terraform-provider-mastodon/internal/testcert"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var fixedSecrets = Secrets{
	SecretKeyBase:               strings.Repeat("ab", 64),
	VapidPrivateKey:             "private-key",
	VapidPublicKey:              "public-key",
	EncryptionDeterministicKey:  "deterministic",
	EncryptionKeyDerivationSalt: "salt",
	EncryptionPrimaryKey:        "primary",
	DatabasePassword:            "db-password",
	RedisPassword:               "redis-password",
}

func defaultSpec() *Spec {
	s := &Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example", WebReplicas: 1, StreamReplicas: 1}
	s.Defaults()
	return s
}

func fullSpec(t *testing.T) *Spec {
	cert, key := fixedCertificate(t)
	s := &Spec{
		Name: "social", Namespace: "fediverse", LocalDomain: "example.org", WebDomain: "social.example.org",
		Version: "v4.6.6", Repository: "registry.example/mastodon", StreamingRepo: "registry.example/mastodon-streaming",
		PullPolicy: "Always", PullSecrets: []string{"registry"},
		WebReplicas: 3, WebResources: Resources{CPURequest: "500m", MemoryRequest: "1Gi", MemoryLimit: "2Gi"},
		WebConcurrency: 3, MaxThreads: 8,
		StreamReplicas: 2, StreamResources: Resources{CPURequest: "100m", MemoryRequest: "256Mi"},
		Sidekiq: []SidekiqProcess{
			{Name: "scheduler", Queues: []Queue{{Name: "scheduler"}}, Concurrency: 2, Replicas: 1},
			{Name: "main", Queues: []Queue{{Name: "default", Weight: 8}, {Name: "push", Weight: 6}, {Name: "ingress", Weight: 4}, {Name: "mailers", Weight: 2}, {Name: "pull"}, {Name: "fasp"}}, Concurrency: 25, Replicas: 2, Resources: Resources{MemoryLimit: "1536Mi"}},
		},
		Database: &Database{Host: "10.1.2.3", Name: "mastodon", User: "mastodon", Password: "external-db-password", SSLMode: "require", Pool: 10},
		Redis:    &Redis{Host: "redis.internal", Password: "external-redis-password"},
		SMTP:     &SMTP{Server: "smtp.sendgrid.net", Port: 2525, Login: "apikey", Password: "smtp-secret", FromAddress: "notifications@example.org"},
		Media:    Media{StorageSize: "50Gi", StorageClass: "standard-rwx", AccessMode: "ReadWriteMany"},
		Ingress:  &Ingress{ClassName: "nginx", Annotations: map[string]string{"nginx.ingress.kubernetes.io/proxy-body-size": "40m"}, CertificatePEM: cert, PrivateKeyPEM: key},
		Settings: Settings{SingleUserMode: true, AuthorizedFetch: true, DefaultLocale: "pt-BR", TrustedProxyIP: "10.0.0.0/8",
			ExtraEnv: map[string]string{"ES_ENABLED": "false"}, ExtraSecretEnv: map[string]string{"DEEPL_API_KEY": "deepl-secret"}},
	}
	s.Defaults()
	return s
}

func renderYAML(t *testing.T, objs []Object) string {
	t.Helper()
	var b strings.Builder
	for _, o := range objs {
		y, err := yaml.Marshal(o.Body)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/mastodon -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs from the rendering; if the change is intended, run go test ./internal/mastodon -update\n%s", path, firstDiff(string(want), got))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + fmt.Sprint(i+1) + ":\n  golden: " + x + "\n  now:    " + y
		}
	}
	return ""
}

func TestRenderDefault(t *testing.T) {
	s := defaultSpec()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	objs := append(append([]Object{s.NamespaceObject()}, s.Render(fixedSecrets, "recorded-configuration")...), s.PrepareJob())
	golden(t, "default.yaml", renderYAML(t, objs))
}

func TestRenderFull(t *testing.T) {
	s := fullSpec(t)
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	objs := append(s.Render(fixedSecrets, "recorded-configuration"), s.PrepareJob())
	out := renderYAML(t, objs)
	for _, secret := range []string{"external-db-password", "external-redis-password", "smtp-secret", "deepl-secret"} {
		for _, o := range objs {
			if o.Kind != "Secret" && strings.Contains(renderYAML(t, []Object{o}), secret) {
				t.Errorf("%s holds the secret %q outside a Secret", o.Key(), secret)
			}
		}
	}
	golden(t, "full.yaml", out)
}

// fixedCertificate is a certificate kept in testdata, so the golden file is stable.
func fixedCertificate(t *testing.T) (string, string) {
	t.Helper()
	cert, err1 := os.ReadFile(filepath.Join("testdata", "tls.crt"))
	key, err2 := os.ReadFile(filepath.Join("testdata", "tls.key"))
	if err1 == nil && err2 == nil {
		return string(cert), string(key)
	}
	if !*update {
		t.Fatal("testdata/tls.crt missing: run go test ./internal/mastodon -update")
	}
	c, k := testcert.SelfSigned(t, "social.example.org", 100*365*24*time.Hour)
	_ = os.MkdirAll("testdata", 0o755)
	if err := os.WriteFile(filepath.Join("testdata", "tls.crt"), []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "tls.key"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return c, k
}

func cloudSQLSpec(c CloudSQL) *Spec {
	s := &Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example", WebReplicas: 1, StreamReplicas: 1,
		Database: &Database{User: "mastodon", Password: "db-password", CloudSQL: &c}}
	s.Defaults()
	return s
}

func TestRenderCloudSQL(t *testing.T) {
	for name, c := range map[string]CloudSQL{
		"cloudsql-key.yaml": {InstanceConnectionName: "my-project:europe-west1:mastodon", CredentialsJSON: `{"type":"service_account"}`},
		"cloudsql-workload-identity.yaml": {InstanceConnectionName: "my-project:europe-west1:mastodon", PrivateIP: true, AutoIAMAuthn: true,
			WorkloadIdentityServiceAccount: "mastodon@my-project.iam.gserviceaccount.com", ProxyResources: Resources{CPURequest: "50m", MemoryRequest: "64Mi"}},
	} {
		t.Run(name, func(t *testing.T) {
			s := cloudSQLSpec(c)
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			objs := append(s.Render(fixedSecrets, ""), s.PrepareJob())
			// Every Pod that talks to the database has the sidecar.
			for _, o := range objs {
				if o.Kind != "Deployment" && o.Kind != "Job" {
					continue
				}
				y := renderYAML(t, []Object{o})
				if !strings.Contains(y, "name: cloud-sql-proxy") || !strings.Contains(y, "restartPolicy: Always") {
					t.Errorf("%s has no Cloud SQL sidecar", o.Key())
				}
				if strings.Contains(y, "service_account") {
					t.Errorf("%s holds the key", o.Key())
				}
			}
			golden(t, name, renderYAML(t, objs))
		})
	}
}

// The connection name's and the service account's forms are the schema's
// validators: internal/provider, TestFeatureChecks.
func TestCloudSQLValidation(t *testing.T) {
	cases := map[string]struct {
		c    CloudSQL
		want string
	}{
		"two ways":       {CloudSQL{InstanceConnectionName: "my-project:us-central1:db", CredentialsJSON: "{}", WorkloadIdentityServiceAccount: "a@p.iam.gserviceaccount.com"}, "database.cloud_sql.credentials_json"},
		"no way":         {CloudSQL{InstanceConnectionName: "my-project:us-central1:db"}, "database.cloud_sql.workload_identity_service_account"},
		"base64 key":     {CloudSQL{InstanceConnectionName: "my-project:us-central1:db", CredentialsJSON: "eyJ0eXBlIjo="}, "database.cloud_sql.credentials_json"},
		"legacy project": {CloudSQL{InstanceConnectionName: "example.com:my-project:us-central1:db", CredentialsJSON: "{}"}, ""},
		"an SA":          {CloudSQL{InstanceConnectionName: "my-project:us-central1:db", WorkloadIdentityServiceAccount: "a@p.iam.gserviceaccount.com"}, ""},
	}
	for name, tc := range cases {
		errs := cloudSQLSpec(tc.c).Validate()
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%s: %v", name, errs)
		case tc.want != "" && (len(errs) == 0 || errs[0].Path != tc.want):
			t.Errorf("%s: want an error on %s, got %v", name, tc.want, errs)
		}
	}
}

func TestRenderMediaBucket(t *testing.T) {
	s := defaultSpec()
	s.MediaBucket = &MediaBucket{Bucket: "social-media", Endpoint: "https://storage.googleapis.com", AliasHost: "files.social.example",
		Permission: S3Permission(true), AccessKeyID: "GOOG1EXAMPLE", SecretAccessKey: "hmac-secret"}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	objs := s.Render(fixedSecrets, "")
	plain, secret := s.Environment(fixedSecrets)
	want := map[string]string{"S3_ENABLED": "true", "S3_BUCKET": "social-media", "S3_REGION": "us-east-1", "S3_ENDPOINT": "https://storage.googleapis.com",
		"S3_HOSTNAME": "storage.googleapis.com", "S3_PROTOCOL": "https", "S3_PERMISSION": "public-read", "S3_ALIAS_HOST": "files.social.example"}
	for k, v := range want {
		if plain[k] != v {
			t.Errorf("ConfigMap %s = %q, want %q", k, plain[k], v)
		}
	}
	if _, ok := plain["PAPERCLIP_ROOT_PATH"]; ok {
		t.Error("PAPERCLIP_ROOT_PATH is set with a bucket")
	}
	if secret[EnvS3AccessKey] != "GOOG1EXAMPLE" || secret[EnvS3SecretKey] != "hmac-secret" {
		t.Errorf("Secret lacks the credentials: %v", secret)
	}
	for _, o := range objs {
		y := renderYAML(t, []Object{o})
		if o.Kind != "Secret" && (strings.Contains(y, "hmac-secret") || strings.Contains(y, "GOOG1EXAMPLE")) {
			t.Errorf("%s holds a credential outside a Secret", o.Key())
		}
		if o.Kind == "PersistentVolumeClaim" && o.Name == s.MediaName() {
			t.Error("the media volume is rendered with a bucket")
		}
		if strings.Contains(y, "mastodon.tootform.dev/media") || strings.Contains(y, "podAffinity") {
			t.Errorf("%s still mounts or follows the media volume", o.Key())
		}
	}
	s.MediaBucket.PathStyle, s.MediaBucket.Permission, s.MediaBucket.Endpoint = true, S3Permission(false), "http://127.0.0.1:9000"
	plain, _ = s.Environment(fixedSecrets)
	if _, set := plain["S3_OVERRIDE_PATH_STYLE"]; set || plain["S3_HOSTNAME"] != "127.0.0.1:9000" || plain["S3_PROTOCOL"] != "http" {
		t.Errorf("path-style MinIO: %v", plain)
	}
	if v, ok := plain["S3_PERMISSION"]; !ok || v != "" {
		t.Errorf("S3_PERMISSION must be set and empty without ACLs, got %q (set: %v)", v, ok)
	}
	s.MediaBucket.SecretAccessKey = ""
	if errs := s.Validate(); len(errs) != 1 || errs[0].Path != "media_bucket.secret_access_key" {
		t.Errorf("missing secret: %v", errs)
	}
}
