// Package kube holds the Kubernetes mechanics of the provider: connecting,
// listing by label, applying and waiting. It knows nothing of Mastodon.
package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Defaults for every client the provider builds. A plan of many instances
// refreshes them in parallel (50 instances: 400 list requests), which
// client-go's default of 5 QPS, or even 100, would throttle; the API
// server's own priority and fairness still guards it.
const (
	DefaultQPS   = 500
	DefaultBurst = 1000
	// DialTimeout bounds how long an unreachable API server can hold an
	// operation before it fails with a clear error.
	DialTimeout = 10 * time.Second
)

// ExecConfig is a client-go credential plugin.
type ExecConfig struct {
	APIVersion string
	Command    string
	Args       []string
	Env        map[string]string
}

// Config says how to reach a cluster. Every field is optional; with nothing
// set the usual kubeconfig loading rules apply (KUBECONFIG, ~/.kube/config,
// then in-cluster).
type Config struct {
	Host                 string
	Token                string
	ClusterCACertificate string
	ClientCertificate    string
	ClientKey            string
	Insecure             bool
	TLSServerName        string
	ProxyURL             string
	ConfigPath           string
	ConfigContext        string
	Exec                 *ExecConfig
	UserAgent            string
}

// FieldError is a configuration error tied to one setting.
type FieldError struct {
	Field   string // the setting's name, e.g. "cluster_ca_certificate"
	Message string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Message }

// Validate checks what can be checked without a cluster: settings that
// conflict, PEM data that does not parse, files that do not exist.
func (c Config) Validate() []*FieldError {
	var errs []*FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.Insecure && c.ClusterCACertificate != "" {
		add("insecure", "conflicts with cluster_ca_certificate: set one or the other (insecure skips verifying the server's certificate that cluster_ca_certificate would verify)")
	}
	if c.Token != "" && c.Exec != nil {
		add("token", "conflicts with exec: give a static token or an exec credential plugin, not both")
	}
	if c.ClientCertificate != "" && c.Exec != nil {
		add("client_certificate", "conflicts with exec: give a client certificate or an exec credential plugin, not both")
	}
	if (c.ClientCertificate == "") != (c.ClientKey == "") {
		if c.ClientCertificate == "" {
			add("client_key", "requires client_certificate")
		} else {
			add("client_certificate", "requires client_key")
		}
	}
	if c.ClusterCACertificate != "" {
		if err := parseCertificates(c.ClusterCACertificate); err != nil {
			add("cluster_ca_certificate", "is not a PEM-encoded certificate: %v", err)
		}
	}
	if c.ClientCertificate != "" && c.ClientKey != "" {
		if _, err := tls.X509KeyPair([]byte(c.ClientCertificate), []byte(c.ClientKey)); err != nil {
			add("client_certificate", "and client_key do not form a valid key pair: %v", err)
		}
	}
	if c.Host != "" {
		h := c.Host
		if !strings.Contains(h, "://") {
			h = "https://" + h
		}
		if u, err := url.Parse(h); err != nil || u.Host == "" {
			add("host", "is not a URL or host:port: %q", c.Host)
		}
	}
	if c.ProxyURL != "" {
		if u, err := url.Parse(c.ProxyURL); err != nil || u.Scheme == "" || u.Host == "" {
			add("proxy_url", "is not a URL with a scheme and host: %q", c.ProxyURL)
		}
	}
	for _, p := range c.configPaths() {
		if _, err := os.Stat(p); err != nil {
			add("config_path", "names a kubeconfig that cannot be read: %q: %v", p, errors.Unwrap(err))
		}
	}
	if c.Exec != nil && c.Exec.Command == "" {
		add("exec.command", "must be set")
	}
	return errs
}

func parseCertificates(data string) error {
	rest := []byte(data)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("unexpected PEM block %q", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return errors.New("no PEM certificate block found")
	}
	return nil
}

// configPaths splits config_path like KUBECONFIG (a list of files).
func (c Config) configPaths() []string {
	if c.ConfigPath == "" {
		return nil
	}
	var paths []string
	for _, p := range filepath.SplitList(c.ConfigPath) {
		if p == "" {
			continue
		}
		if strings.HasPrefix(p, "~/") {
			if home, err := os.UserHomeDir(); err == nil {
				p = filepath.Join(home, p[2:])
			}
		}
		paths = append(paths, p)
	}
	return paths
}

// RESTConfig turns the settings into a client-go configuration.
func (c Config) RESTConfig() (*rest.Config, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	rules := &clientcmd.ClientConfigLoadingRules{}
	switch {
	case len(c.configPaths()) > 0:
		rules.Precedence = c.configPaths()
	case c.Host == "":
		// Nothing says where the cluster is: the usual rules.
		rules = clientcmd.NewDefaultClientConfigLoadingRules()
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.ConfigContext}
	if c.Host != "" {
		overrides.ClusterInfo.Server = c.Host
	}
	if c.ClusterCACertificate != "" {
		overrides.ClusterInfo.CertificateAuthorityData = []byte(c.ClusterCACertificate)
	}
	if c.Insecure {
		overrides.ClusterInfo.InsecureSkipTLSVerify = true
	}
	overrides.ClusterInfo.TLSServerName = c.TLSServerName
	overrides.ClusterInfo.ProxyURL = c.ProxyURL
	if c.Token != "" {
		overrides.AuthInfo.Token = c.Token
	}
	if c.ClientCertificate != "" {
		overrides.AuthInfo.ClientCertificateData = []byte(c.ClientCertificate)
		overrides.AuthInfo.ClientKeyData = []byte(c.ClientKey)
	}
	if c.Exec != nil {
		exec := &clientcmdapi.ExecConfig{
			APIVersion:      c.Exec.APIVersion,
			Command:         c.Exec.Command,
			Args:            c.Exec.Args,
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		}
		names := make([]string, 0, len(c.Exec.Env))
		for k := range c.Exec.Env {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			exec.Env = append(exec.Env, clientcmdapi.ExecEnvVar{Name: k, Value: c.Exec.Env[k]})
		}
		overrides.AuthInfo.Exec = exec
	}

	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errors.New("no Kubernetes cluster is configured: set the provider's kubernetes.host " +
				"(with credentials) or kubernetes.config_path, the KUBE_HOST or KUBE_CONFIG_PATH environment variable, " +
				"or KUBECONFIG")
		}
		if c.ConfigContext != "" && strings.Contains(err.Error(), "context") {
			return nil, &FieldError{Field: "config_context", Message: "names a context the kubeconfig does not have: " + err.Error()}
		}
		return nil, fmt.Errorf("building the Kubernetes client configuration: %w", err)
	}
	cfg.QPS = DefaultQPS
	cfg.Burst = DefaultBurst
	if c.UserAgent != "" {
		cfg.UserAgent = c.UserAgent
	}
	dialer := &net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}
	cfg.Dial = dialer.DialContext
	return cfg, nil
}

// Client is the set of clients every resource shares.
type Client struct {
	REST      *rest.Config
	Clientset kubernetes.Interface
	Dynamic   dynamic.Interface
	// Requests counts the HTTP requests made through this client.
	Requests *atomic.Int64
	// view is the listing that refreshes share (ListShared); every write
	// through this client makes it stale.
	view *view
	// served keeps what discovery said of optional kinds (Serves).
	served sync.Map
}

// NewClient builds the shared clients. It makes no request.
func NewClient(c Config) (*Client, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	return NewClientFromREST(cfg)
}

// NewClientFromREST builds the shared clients from a client-go configuration,
// counting every request made through them.
func NewClientFromREST(cfg *rest.Config) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	var n atomic.Int64
	writes := new(atomic.Uint64)
	prev := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return countingRoundTripper{next: rt, n: &n, writes: writes}
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the Kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the Kubernetes client: %w", err)
	}
	return &Client{REST: cfg, Clientset: cs, Dynamic: dyn, Requests: &n, view: newView(writes)}, nil
}

type countingRoundTripper struct {
	next   http.RoundTripper
	n      *atomic.Int64
	writes *atomic.Uint64
}

func (c countingRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		c.writes.Add(1) // anything listed before is stale
	}
	if n, ok := r.Context().Value(requestCounterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
	return c.next.RoundTrip(r)
}

type requestCounterKey struct{}

// CountRequests returns a context whose requests through a Client are also
// counted in the returned counter: the cost of one operation, apart from
// the others running at the same time.
func CountRequests(ctx context.Context) (context.Context, *atomic.Int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, requestCounterKey{}, n), n
}
