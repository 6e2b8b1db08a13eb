package mastodon

import (
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The labels every object of an instance carries.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelVersion   = "app.kubernetes.io/version"

	AppName   = "mastodon"
	ManagedBy = "terraform-provider-mastodon"

	// ComponentConfig marks the instance's ConfigMap, the one object every
	// instance has from its first apply on: it anchors the instance.
	ComponentConfig = "config"
	// KeyLocalDomain is the ConfigMap key holding the handle domain.
	KeyLocalDomain = "LOCAL_DOMAIN"

	// LabelOwner says which Terraform resource owns an object: the
	// instance (OwnerInstance) or one of its accounts (AccountOwner). Reads
	// and prunes select by it, so no resource ever touches another's objects.
	LabelOwner    = "mastodon.tootform.dev/owner"
	OwnerInstance = "instance"
	// AnnotationCreatedBy marks a namespace the provider created, with the
	// name of the instance that created it: only such a namespace is ever
	// deleted, and only when nothing else lives in it.
	AnnotationCreatedBy = "mastodon.tootform.dev/created-by"
	// AnnotationClaim holds the claim of the Terraform state that owns an
	// instance or an account: a random ID each create writes on the objects
	// it owns (the instance's ConfigMap and generated secrets' Secret, an
	// account's Secret) and keeps in state. A refresh that finds another
	// claim knows that another state created the same objects again.
	AnnotationClaim = "mastodon.tootform.dev/claim"

	// labelProcess names a Sidekiq process on its Deployment and Pods.
	labelProcess = "mastodon.tootform.dev/process"
)

// LiveKinds are the kinds whose objects make an instance live: its
// ConfigMap (the record of its configuration) and its workloads. A destroy
// leaves none of them; what it keeps (the generated secrets' Secret and the
// data volumes) is data that a new instance of the same name reopens.
var LiveKinds = []string{"ConfigMap", "StatefulSet", "Deployment", "CronJob", "Job"}

// Claim is the claim an object's annotations record ("" for none: an
// object of an earlier release, or one a create has not claimed yet).
func Claim(annotations map[string]string) string { return annotations[AnnotationClaim] }

// Labels are the labels of one component of an instance, owned by owner
// (OwnerInstance or AccountOwner).
func Labels(instance, component, owner string) map[string]string {
	return map[string]string{
		LabelName:      AppName,
		LabelInstance:  instance,
		LabelComponent: component,
		LabelManagedBy: ManagedBy,
		LabelOwner:     owner,
	}
}

// AccountOwner is the owner mark of one account's objects.
func AccountOwner(username string) string { return "account." + strings.ToLower(username) }

// OwnedByInstance says whether an object with these labels belongs to the
// instance resource. Objects written before owner marks existed carry no
// owner label: then every object of the instance but its accounts' (the
// only other objects that carried the instance label) is the instance's.
func OwnedByInstance(l map[string]string) bool {
	if l[LabelManagedBy] != ManagedBy || l[LabelName] != AppName {
		return false
	}
	if owner, ok := l[LabelOwner]; ok {
		return owner == OwnerInstance
	}
	return l[LabelComponent] != ComponentAccount
}

// OwnedByAccount says whether an object with these labels belongs to the
// account resource of username (legacy objects: the account component and
// the username label).
func OwnedByAccount(l map[string]string, username string) bool {
	if l[LabelManagedBy] != ManagedBy || l[LabelName] != AppName || l[LabelComponent] != ComponentAccount {
		return false
	}
	if owner, ok := l[LabelOwner]; ok {
		return owner == AccountOwner(username)
	}
	return l[LabelUsername] == strings.ToLower(username)
}

// NamespaceCreatedBy says whether a namespace's annotations record that the
// instance created it.
func NamespaceCreatedBy(annotations map[string]string, instance string) bool {
	return annotations[AnnotationCreatedBy] == instance
}

// AllInstancesSelector selects the objects of every instance the provider manages.
func AllInstancesSelector() string {
	return labels.SelectorFromSet(labels.Set{LabelName: AppName, LabelManagedBy: ManagedBy}).String()
}

// InstanceSelector selects the objects the instance resource owns (and, on
// the server, leaves its accounts' out); OwnedByInstance decides.
func InstanceSelector(instance string) string {
	return labels.SelectorFromSet(labels.Set{LabelName: AppName, LabelManagedBy: ManagedBy, LabelInstance: instance}).String() +
		"," + LabelComponent + "!=" + ComponentAccount
}

// Summary is what the cluster says of one instance.
type Summary struct {
	Name        string
	Namespace   string
	LocalDomain string
	Version     string
	// Ready is true when the instance has Deployments and every one of them
	// has rolled out its current template and has all its replicas ready.
	Ready bool
}

// Summarize groups the labelled ConfigMaps and Deployments of any number of
// instances into one summary each, sorted by namespace and name; ready says
// whether a Deployment is ready.
func Summarize(configMaps []corev1.ConfigMap, deployments []appsv1.Deployment, ready func(*appsv1.Deployment) bool) []Summary {
	type key struct{ ns, name string }
	byKey := map[key]*Summary{}
	for i := range configMaps {
		cm := &configMaps[i]
		if cm.Labels[LabelComponent] != ComponentConfig || cm.Labels[LabelInstance] == "" {
			continue
		}
		k := key{cm.Namespace, cm.Labels[LabelInstance]}
		byKey[k] = &Summary{
			Name:        k.name,
			Namespace:   k.ns,
			LocalDomain: cm.Data[KeyLocalDomain],
			Version:     cm.Labels[LabelVersion],
		}
	}
	seen := map[key]bool{}
	for i := range deployments {
		d := &deployments[i]
		k := key{d.Namespace, d.Labels[LabelInstance]}
		s, ok := byKey[k]
		if !ok {
			continue
		}
		if !seen[k] {
			seen[k] = true
			s.Ready = true
		}
		s.Ready = s.Ready && ready(d)
	}
	out := make([]Summary, 0, len(byKey))
	for _, s := range byKey {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}
