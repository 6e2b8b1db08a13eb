package mastodon

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
)

// ServiceAccount is the identity every Pod of the instance runs as: the
// instance's own, carrying annotations that map it to a cloud identity
// (GKE Workload Identity, EKS IRSA, Azure Workload Identity), or an
// existing one someone else keeps (Name). On EKS Pod Identity the mapping
// is an association made outside the cluster: name the ServiceAccount it
// names.
type ServiceAccount struct {
	// Name is an existing ServiceAccount ("" for the instance's own,
	// named as the instance).
	Name        string
	Annotations map[string]string
}

// serviceAccountFeature renders the instance's own ServiceAccount, when
// it has one, before any Pod names it.
type serviceAccountFeature struct{ noFeature }

func (serviceAccountFeature) objects(s *Spec, at stage) []Object {
	if at != beforeConfig || !s.ownServiceAccount() {
		return nil
	}
	meta := s.meta(s.Name, ComponentInstance)
	if a := s.serviceAccountAnnotations(); len(a) > 0 {
		meta.Annotations = a
	}
	// No token is mounted: nothing in the Pods talks to the Kubernetes
	// API. The cloud identity webhooks (IRSA, Azure) mount their own.
	return []Object{NewObject(&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta, AutomountServiceAccountToken: ptr.To(false)})}
}

func (serviceAccountFeature) validate(s *Spec, e *fieldErrors) {
	a := s.ServiceAccount
	if a == nil {
		return
	}
	if a.Name != "" && len(a.Annotations) > 0 {
		e.add("service_account.annotations", "are for the instance's own ServiceAccount, and service_account.name names an existing one: annotate that one where it is kept, or remove service_account.name")
		e.related("service_account.name")
	}
	if a.Name != "" && len(validation.IsDNS1123Subdomain(a.Name)) > 0 {
		e.add("service_account.name", "%q is not a ServiceAccount name", a.Name)
	}
	if _, ok := a.Annotations[AnnotationWorkloadIdentity]; ok && s.workloadIdentity() != "" {
		e.add("service_account.annotations", "set %s, which database.cloud_sql.workload_identity_service_account sets: set it in one place", AnnotationWorkloadIdentity)
		e.related("database.cloud_sql")
	}
	for k := range a.Annotations {
		if reservedKey(k) || len(validation.IsQualifiedName(k)) > 0 {
			e.add("service_account.annotations", "key %q is not a valid annotation key of yours", k)
		}
	}
}

// ownServiceAccount says whether the instance renders a ServiceAccount of
// its own: asked for, or needed to carry Cloud SQL's Workload Identity.
func (s *Spec) ownServiceAccount() bool {
	if a := s.ServiceAccount; a != nil {
		return a.Name == ""
	}
	return s.workloadIdentity() != ""
}

// serviceAccountAnnotations are the own ServiceAccount's annotations.
func (s *Spec) serviceAccountAnnotations() map[string]string {
	out := map[string]string{}
	if a := s.ServiceAccount; a != nil {
		maps.Copy(out, a.Annotations)
	}
	if gsa := s.workloadIdentity(); gsa != "" {
		out[AnnotationWorkloadIdentity] = gsa
	}
	return out
}

// workloadIdentity is the Google service account that the instance's Pods
// act as through Cloud SQL's Workload Identity, or "".
func (s *Spec) workloadIdentity() string {
	if c := s.cloudSQL(); c != nil {
		return c.WorkloadIdentityServiceAccount
	}
	return ""
}

// serviceAccountName is the ServiceAccount every Pod runs as: an existing
// one, the instance's own, or "" for the namespace's default (one object
// fewer to apply and read on every refresh).
func (s *Spec) serviceAccountName() string {
	if a := s.ServiceAccount; a != nil && a.Name != "" {
		return a.Name
	}
	if s.ownServiceAccount() {
		return s.Name
	}
	return ""
}
