package mastodon

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func configMap(ns, instance, domain, version string) corev1.ConfigMap {
	l := Labels(instance, ComponentConfig, OwnerInstance)
	l[LabelVersion] = version
	return corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: instance + "-env", Namespace: ns, Labels: l},
		Data:       map[string]string{KeyLocalDomain: domain},
	}
}

func deployment(ns, instance, component string, replicas, ready int32) appsv1.Deployment {
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: instance + "-" + component, Namespace: ns, Labels: Labels(instance, component, OwnerInstance), Generation: 2},
		Spec:       appsv1.DeploymentSpec{Replicas: &replicas},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: replicas, UpdatedReplicas: replicas,
			ReadyReplicas: ready, AvailableReplicas: ready},
	}
}

func TestSummarize(t *testing.T) {
	cms := []corev1.ConfigMap{
		configMap("b", "social", "social.example", "v4.5.2"),
		configMap("a", "one", "one.example", "v4.4.0"),
		configMap("a", "two", "two.example", "v4.5.2"),
		// Not an instance anchor: ignored.
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Labels: Labels("one", "web", OwnerInstance)}},
	}
	deps := []appsv1.Deployment{
		deployment("a", "one", "web", 2, 2),
		deployment("a", "one", "streaming", 1, 1),
		deployment("a", "two", "web", 2, 1),
		deployment("b", "social", "web", 1, 1),
		deployment("b", "orphan", "web", 1, 1),
	}
	stale := deployment("b", "social", "sidekiq", 1, 1)
	stale.Generation = 3
	deps = append(deps, stale)

	got := Summarize(cms, deps, ready)
	want := []Summary{
		{Name: "one", Namespace: "a", LocalDomain: "one.example", Version: "v4.4.0", Ready: true},
		{Name: "two", Namespace: "a", LocalDomain: "two.example", Version: "v4.5.2", Ready: false},
		{Name: "social", Namespace: "b", LocalDomain: "social.example", Version: "v4.5.2", Ready: false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}

	// An instance with no Deployment yet is not ready.
	got = Summarize([]corev1.ConfigMap{configMap("c", "new", "new.example", "v4.5.2")}, nil, ready)
	if len(got) != 1 || got[0].Ready {
		t.Fatalf("got %+v", got)
	}
}

func TestSelectors(t *testing.T) {
	if got := AllInstancesSelector(); got != "app.kubernetes.io/managed-by=terraform-provider-mastodon,app.kubernetes.io/name=mastodon" {
		t.Fatal(got)
	}
	if got := InstanceSelector("x"); got != "app.kubernetes.io/instance=x,app.kubernetes.io/managed-by=terraform-provider-mastodon,app.kubernetes.io/name=mastodon,app.kubernetes.io/component!=account" {
		t.Fatal(got)
	}
}

// Each object belongs to one resource: the instance, or one account of it.
// Objects written before owner marks existed are told apart by the only
// rule older versions followed: accounts' objects had the account component.
func TestOwnership(t *testing.T) {
	legacy := func(component string, extra ...string) map[string]string {
		l := Labels("social", component, "")
		delete(l, LabelOwner)
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	foreign := map[string]string{LabelName: AppName, LabelInstance: "social", LabelComponent: "web"}
	cases := []struct {
		name              string
		labels            map[string]string
		instance, account bool
	}{
		{"instance object", Labels("social", ComponentWeb, OwnerInstance), true, false},
		{"account object", Labels("social", ComponentAccount, AccountOwner("Gargron")), false, true},
		{"another account", Labels("social", ComponentAccount, AccountOwner("other")), false, false},
		{"legacy instance object", legacy(ComponentSecrets), true, false},
		{"legacy account object", legacy(ComponentAccount, LabelUsername, "gargron"), false, true},
		{"legacy account of another user", legacy(ComponentAccount, LabelUsername, "other"), false, false},
		{"not managed by us", foreign, false, false},
		{"account component claiming the instance", Labels("social", ComponentAccount, OwnerInstance), true, false},
	}
	for _, c := range cases {
		if got := OwnedByInstance(c.labels); got != c.instance {
			t.Errorf("%s: OwnedByInstance = %v, want %v", c.name, got, c.instance)
		}
		if got := OwnedByAccount(c.labels, "Gargron"); got != c.account {
			t.Errorf("%s: OwnedByAccount = %v, want %v", c.name, got, c.account)
		}
	}
	if !NamespaceCreatedBy(map[string]string{AnnotationCreatedBy: "social"}, "social") || NamespaceCreatedBy(nil, "social") ||
		NamespaceCreatedBy(map[string]string{AnnotationCreatedBy: "other"}, "social") {
		t.Error("NamespaceCreatedBy")
	}
}

// ready is the rule the provider uses (kube.DeploymentReady), restated for the test.
func ready(d *appsv1.Deployment) bool {
	return d.Status.ObservedGeneration >= d.Generation && d.Status.ReadyReplicas == *d.Spec.Replicas &&
		d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.AvailableReplicas == *d.Spec.Replicas
}

// A component scaled elsewhere is rendered without replicas (so server-side
// apply leaves them to that controller); a negative count is refused.
func TestScaledElsewhere(t *testing.T) {
	s := defaultSpec()
	s.WebReplicas = ScaledElsewhere
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, o := range s.Render(Secrets{}, "") {
		if o.Kind == "Deployment" && o.Name == s.WebName() {
			if _, has := o.Body["spec"].(map[string]any)["replicas"]; has {
				t.Error("web scaled elsewhere still renders replicas")
			}
		}
	}
	// The schema runs CheckReplicas at each replicas (internal/provider,
	// TestCoreChecks).
	if err := CheckReplicas(-1); err == nil {
		t.Error("replicas -1 is accepted")
	}
}
