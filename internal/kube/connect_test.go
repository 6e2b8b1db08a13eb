package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tootform/terraform-provider-mastodon/internal/testcert"
)

func selfSigned(t *testing.T) (string, string) {
	return testcert.SelfSigned(t, "test", time.Hour)
}

func TestValidate(t *testing.T) {
	cert, key := selfSigned(t)
	_, otherKey := selfSigned(t)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "config")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		cfg   Config
		field string // "" when valid
		msg   string
	}{
		{"empty", Config{}, "", ""},
		{"host and token", Config{Host: "https://127.0.0.1:6443", Token: "t", ClusterCACertificate: cert}, "", ""},
		{"host without scheme", Config{Host: "127.0.0.1:6443"}, "", ""},
		{"client cert", Config{Host: "https://h", ClientCertificate: cert, ClientKey: key}, "", ""},
		{"kubeconfig", Config{ConfigPath: kubeconfig, ConfigContext: "x"}, "", ""},
		{"insecure and CA", Config{Insecure: true, ClusterCACertificate: cert}, "insecure", "conflicts with cluster_ca_certificate"},
		{"token and exec", Config{Token: "t", Exec: &ExecConfig{Command: "x"}}, "token", "conflicts with exec"},
		{"cert and exec", Config{ClientCertificate: cert, ClientKey: key, Exec: &ExecConfig{Command: "x"}}, "client_certificate", "conflicts with exec"},
		{"cert without key", Config{ClientCertificate: cert}, "client_certificate", "requires client_key"},
		{"key without cert", Config{ClientKey: key}, "client_key", "requires client_certificate"},
		{"mismatched pair", Config{ClientCertificate: cert, ClientKey: otherKey}, "client_certificate", "do not form a valid key pair"},
		{"malformed CA", Config{ClusterCACertificate: "not a certificate"}, "cluster_ca_certificate", "no PEM certificate block"},
		{"key as CA", Config{ClusterCACertificate: key}, "cluster_ca_certificate", "unexpected PEM block"},
		{"missing kubeconfig", Config{ConfigPath: filepath.Join(dir, "missing")}, "config_path", "names a kubeconfig that cannot be read"},
		{"bad proxy", Config{ProxyURL: "nope"}, "proxy_url", "is not a URL"},
		{"bad host", Config{Host: "https://"}, "host", "is not a URL"},
		{"exec without command", Config{Exec: &ExecConfig{APIVersion: "v1"}}, "exec.command", "must be set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.cfg.Validate()
			if tc.field == "" {
				if len(errs) > 0 {
					t.Fatalf("want no error, got %v", errs)
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("want an error on %s, got none", tc.field)
			}
			if errs[0].Field != tc.field || !strings.Contains(errs[0].Message, tc.msg) {
				t.Fatalf("want %s: ...%s..., got %v", tc.field, tc.msg, errs[0])
			}
		})
	}
}

func TestRESTConfig(t *testing.T) {
	cert, key := selfSigned(t)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "config")
	data := `apiVersion: v1
kind: Config
current-context: one
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:1111"}
- name: c2
  cluster: {server: "https://127.0.0.1:2222"}
users:
- name: u
  user: {token: from-file}
contexts:
- name: one
  context: {cluster: c1, user: u}
- name: two
  context: {cluster: c2, user: u}
`
	if err := os.WriteFile(kubeconfig, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("kubeconfig current context", func(t *testing.T) {
		cfg, err := Config{ConfigPath: kubeconfig}.RESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != "https://127.0.0.1:1111" || cfg.BearerToken != "from-file" {
			t.Fatalf("got host %q token %q", cfg.Host, cfg.BearerToken)
		}
		if cfg.QPS != DefaultQPS || cfg.Burst != DefaultBurst {
			t.Fatalf("got QPS %v burst %v", cfg.QPS, cfg.Burst)
		}
	})
	t.Run("kubeconfig other context", func(t *testing.T) {
		cfg, err := Config{ConfigPath: kubeconfig, ConfigContext: "two"}.RESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != "https://127.0.0.1:2222" {
			t.Fatalf("got host %q", cfg.Host)
		}
	})
	t.Run("unknown context", func(t *testing.T) {
		_, err := Config{ConfigPath: kubeconfig, ConfigContext: "three"}.RESTConfig()
		if err == nil || !strings.Contains(err.Error(), "config_context") || !strings.Contains(err.Error(), "three") {
			t.Fatalf("want an error naming config_context and three, got %v", err)
		}
	})
	t.Run("host overrides", func(t *testing.T) {
		cfg, err := Config{Host: "https://10.0.0.1", Token: "tok", ClusterCACertificate: cert, TLSServerName: "kubernetes"}.RESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != "https://10.0.0.1" || cfg.BearerToken != "tok" || string(cfg.CAData) != cert || cfg.ServerName != "kubernetes" {
			t.Fatalf("got %+v", cfg)
		}
	})
	t.Run("host alone does not read the default kubeconfig", func(t *testing.T) {
		t.Setenv("KUBECONFIG", kubeconfig)
		cfg, err := Config{Host: "https://10.0.0.1", ClientCertificate: cert, ClientKey: key}.RESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.BearerToken != "" || string(cfg.CertData) != cert {
			t.Fatalf("got token %q", cfg.BearerToken)
		}
	})
	t.Run("exec", func(t *testing.T) {
		cfg, err := Config{Host: "https://10.0.0.1", Exec: &ExecConfig{APIVersion: "client.authentication.k8s.io/v1", Command: "cred", Args: []string{"a"}, Env: map[string]string{"B": "2", "A": "1"}}}.RESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ExecProvider == nil || cfg.ExecProvider.Command != "cred" || len(cfg.ExecProvider.Env) != 2 || cfg.ExecProvider.Env[0].Name != "A" {
			t.Fatalf("got %+v", cfg.ExecProvider)
		}
	})
	t.Run("nothing at all", func(t *testing.T) {
		t.Setenv("KUBECONFIG", filepath.Join(dir, "none"))
		t.Setenv("HOME", dir)
		t.Setenv("KUBERNETES_SERVICE_HOST", "")
		_, err := Config{}.RESTConfig()
		if err == nil || !strings.Contains(err.Error(), "no Kubernetes cluster is configured") {
			t.Fatalf("want a clear error, got %v", err)
		}
	})
}
