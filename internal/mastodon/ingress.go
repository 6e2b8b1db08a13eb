package mastodon

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Ingress routes the instance's domain to web and streaming.
type Ingress struct {
	ClassName      string
	Annotations    map[string]string
	CertificatePEM string
	PrivateKeyPEM  string
	TLSSecretName  string
	// GKEStreamingTimeout, when set, is the backend timeout (seconds) of
	// GKE's load balancer for streaming: a BackendConfig attached to the
	// streaming Service. GKE's default, 30 s, cuts every websocket.
	GKEStreamingTimeout int32
}

// TLSSecretName is the Secret of the Ingress's certificate.
func (s *Spec) TLSSecretName() string {
	if s.Ingress != nil && s.Ingress.TLSSecretName != "" {
		return s.Ingress.TLSSecretName
	}
	return s.Name + "-tls"
}

// ingressFeature routes the domains to web and streaming (Spec.Ingress).
type ingressFeature struct{ noFeature }

func (ingressFeature) validate(s *Spec, e *fieldErrors) {
	in := s.Ingress
	if in == nil {
		return
	}
	// The cases read the three sources in order; the key is given clear
	// or write-only.
	add, related := e.add, func() {
		e.related("ingress.tls_secret_name", "ingress.certificate_pem", "ingress.private_key_pem", "ingress.private_key_pem_wo")
	}
	switch {
	case in.TLSSecretName != "" && (in.CertificatePEM != "" || in.PrivateKeyPEM != ""):
		add("ingress.tls_secret_name", "conflicts with ingress.certificate_pem and ingress.private_key_pem: give an existing Secret or a certificate, not both")
		related()
	case (in.CertificatePEM == "") != (in.PrivateKeyPEM == ""):
		add("ingress.certificate_pem", "and ingress.private_key_pem must be given together")
		related()
	case in.CertificatePEM != "":
		if _, err := tls.X509KeyPair([]byte(in.CertificatePEM), []byte(in.PrivateKeyPEM)); err != nil {
			add("ingress.certificate_pem", "and ingress.private_key_pem do not parse as a matching PEM certificate and key: %v", err)
			related()
		}
	}
}

// objects are the Secret of the certificate given, the streaming
// Service's BackendConfig and the Ingress, each where it is needed.
func (ingressFeature) objects(s *Spec, at stage) []Object {
	in := s.Ingress
	if in == nil {
		return nil
	}
	switch at {
	case afterSecrets:
		if in.CertificatePEM != "" {
			return []Object{NewObject(&corev1.Secret{
				TypeMeta:   typeMeta("v1", "Secret"),
				ObjectMeta: s.meta(s.TLSSecretName(), ComponentIngress),
				Type:       corev1.SecretTypeTLS,
				Data: map[string][]byte{
					corev1.TLSCertKey:       []byte(in.CertificatePEM),
					corev1.TLSPrivateKeyKey: []byte(in.PrivateKeyPEM),
				},
			})}
		}
	case beforeStreamingService:
		if bc := s.gkeBackendConfig(); bc != nil {
			return []Object{NewObject(bc)}
		}
	case afterWorkloads:
		return []Object{NewObject(s.renderIngress())}
	}
	return nil
}

// service attaches the BackendConfig to the streaming Service.
func (ingressFeature) service(s *Spec, svc *corev1.Service) {
	if bc := s.gkeBackendConfig(); bc != nil && svc.Labels[LabelComponent] == ComponentStreaming {
		if svc.Annotations == nil {
			svc.Annotations = map[string]string{}
		}
		svc.Annotations[AnnotationGKEBackendConfig] = `{"default":"` + bc.Name + `"}`
	}
}

// Annotations the Ingress reads or sets.
const (
	// AnnotationProxyBodySize is ingress-nginx's request body limit, 1 MiB
	// unless raised.
	AnnotationProxyBodySize = "nginx.ingress.kubernetes.io/proxy-body-size"
	// MaxUploadSize is the body limit Mastodon's own reverse-proxy
	// configuration sets (dist/nginx.conf: client_max_body_size 99m), the
	// size of its largest media (app/models/media_attachment.rb).
	MaxUploadSize = "99m"
)

// AnnotationGKEBackendConfig attaches a BackendConfig to a Service's
// backends of GKE's load balancer.
const AnnotationGKEBackendConfig = "cloud.google.com/backend-config"

// backendConfig is GKE's BackendConfig (cloud.google.com/v1), the part we set.
type backendConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		TimeoutSec int32 `json:"timeoutSec"`
	} `json:"spec"`
}

// gkeBackendConfig is the streaming Service's BackendConfig, or nil.
func (s *Spec) gkeBackendConfig() *backendConfig {
	if s.Ingress == nil || s.Ingress.GKEStreamingTimeout == 0 {
		return nil
	}
	bc := &backendConfig{TypeMeta: typeMeta("cloud.google.com/v1", "BackendConfig"), ObjectMeta: s.meta(s.StreamingName(), ComponentStreaming)}
	bc.Spec.TimeoutSec = s.Ingress.GKEStreamingTimeout
	return bc
}

// certificateAnnotations make a certificate appear without our TLS Secret:
// cert-manager fills the Secret the Ingress names; GKE attaches managed or
// pre-shared certificates itself.
var certificateAnnotations = map[string]bool{
	"cert-manager.io/cluster-issuer":            true,
	"cert-manager.io/issuer":                    true,
	"networking.gke.io/managed-certificates":    true,
	"ingress.gcp.kubernetes.io/pre-shared-cert": true,
}

// wellKnownPaths are where remote servers look up users of the local
// domain (MASTODON.md: webfinger, host-meta, nodeinfo).
var wellKnownPaths = []string{"/.well-known/webfinger", "/.well-known/host-meta", "/.well-known/nodeinfo"}

// ingressTLS says how the Ingress gets a certificate: "ours" (the
// certificate given, in our Secret), "secret" (an existing Secret),
// "cert-manager", "gke" (a certificate the load balancer attaches itself)
// or "" (none: the controller would serve its own placeholder).
func (in *Ingress) ingressTLS() string {
	switch {
	case in.CertificatePEM != "":
		return "ours"
	case in.Annotations["cert-manager.io/cluster-issuer"] != "" || in.Annotations["cert-manager.io/issuer"] != "":
		// cert-manager fills the Secret named (tls_secret_name or ours).
		return "cert-manager"
	case in.TLSSecretName != "":
		return "secret"
	}
	for k := range in.Annotations {
		if certificateAnnotations[k] {
			return "gke"
		}
	}
	return ""
}

// splitDomains says whether the handle domain differs from the web domain.
func (s *Spec) splitDomains() bool { return s.WebDomain != "" && s.WebDomain != s.LocalDomain }

// otherHosts are the hosts the Ingress routes besides the web domain: the
// handle domains' (handleHosts), then the streaming domain.
func (s *Spec) otherHosts() []string {
	hosts := s.handleHosts()
	if s.Domains.Streaming != "" {
		hosts = append(hosts, s.Domains.Streaming)
	}
	return hosts
}

// tlsHosts are the hosts the Ingress's TLS section covers: the web domain,
// and each other host the certificate covers too (ours, checked;
// cert-manager's, which is issued for every host listed).
func (s *Spec) tlsHosts() []string {
	hosts := []string{s.Domain()}
	for _, h := range s.otherHosts() {
		switch s.Ingress.ingressTLS() {
		case "cert-manager":
			hosts = append(hosts, h)
		case "ours":
			if certificateCovers(s.Ingress.CertificatePEM, h) {
				hosts = append(hosts, h)
			}
		}
	}
	return hosts
}

func certificateCovers(certPEM, host string) bool {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	return err == nil && cert.VerifyHostname(host) == nil
}

func (s *Spec) renderIngress() *networkingv1.Ingress {
	in := s.Ingress
	prefix := networkingv1.PathTypePrefix
	backend := func(name, port string) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: name, Port: networkingv1.ServiceBackendPort{Name: port}}}
	}
	rules := []networkingv1.IngressRule{{
		Host: s.Domain(),
		IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
			{Path: "/api/v1/streaming", PathType: &prefix, Backend: backend(s.StreamingName(), "streaming")},
			{Path: "/", PathType: &prefix, Backend: backend(s.WebName(), "http")},
		}}},
	}}
	// Remote servers resolve user@LOCAL_DOMAIN (and user@ an alternate
	// domain) at that domain; Mastodon accepts it as a host.
	for _, host := range s.handleHosts() {
		var paths []networkingv1.HTTPIngressPath
		for _, p := range wellKnownPaths {
			paths = append(paths, networkingv1.HTTPIngressPath{Path: p, PathType: &prefix, Backend: backend(s.WebName(), "http")})
		}
		rules = append(rules, networkingv1.IngressRule{Host: host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}})
	}
	if h := s.Domains.Streaming; h != "" {
		rules = append(rules, networkingv1.IngressRule{Host: h, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: backend(s.StreamingName(), "streaming")}}}}})
	}
	ing := &networkingv1.Ingress{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "Ingress"),
		ObjectMeta: s.meta(s.Name, ComponentIngress),
		Spec: networkingv1.IngressSpec{
			IngressClassName: optional(in.ClassName),
			Rules:            rules,
		},
	}
	switch in.ingressTLS() {
	case "ours", "secret", "cert-manager":
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: s.tlsHosts(), SecretName: s.TLSSecretName()}}
	}
	ing.Annotations = map[string]string{AnnotationProxyBodySize: MaxUploadSize}
	for k, v := range in.Annotations {
		ing.Annotations[k] = v
	}
	return ing
}

// warnings are about the certificate.
func (ingressFeature) warnings(s *Spec) []FieldError {
	var out []FieldError
	in := s.Ingress
	if in == nil {
		return out
	}
	tls := in.ingressTLS()
	if tls == "" {
		out = append(out, FieldError{Path: "ingress", Message: "no certificate: give certificate_pem and private_key_pem, tls_secret_name, or a cert-manager issuer annotation " +
			"(cert-manager.io/cluster-issuer). Without one the Ingress has no TLS section and the controller serves its own placeholder certificate, which browsers and other servers refuse."})
	}
	uncovered := func(host string) bool {
		return tls == "secret" || tls == "gke" || (tls == "ours" && !certificateCovers(in.CertificatePEM, host))
	}
	for _, h := range s.handleHosts() {
		if uncovered(h) {
			attr, related := "local_domain", []string{"local_domain", "web_domain"}
			if h != s.LocalDomain {
				attr, related = "alternate domain", []string{"alternate_domains"}
			}
			out = append(out, FieldError{Path: "ingress", Message: "the certificate is not known to cover " + attr + " " + h +
				": its /.well-known/ paths (webfinger, host-meta, nodeinfo) are routed to Mastodon, but remote servers reach them over HTTPS, " +
				"so the certificate must cover " + h + " too (or serve those paths from " + h + " elsewhere).",
				Related: related})
		}
	}
	if h := s.Domains.Streaming; h != "" && uncovered(h) {
		out = append(out, FieldError{Path: "ingress", Message: "the certificate is not known to cover streaming_domain " + h +
			": browsers open their streams at wss://" + h + " and refuse a certificate that does not name it.", Related: []string{"streaming_domain"}})
	}
	return out
}

// CheckSecretName checks the name of a Secret.
func CheckSecretName(v string) error {
	if v != "" && len(validation.IsDNS1123Subdomain(v)) > 0 {
		return fmt.Errorf("%q is not a valid Secret name", v)
	}
	return nil
}
