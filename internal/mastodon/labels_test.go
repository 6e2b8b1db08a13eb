package mastodon

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func configMap(ns, instance, domain, version string) corev1.ConfigMap {
	l := Labels(instance, ComponentConfig)
	l[LabelVersion] = version
	return corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: instance + "-env", Namespace: ns, Labels: l},
		Data:       map[string]string{KeyLocalDomain: domain},
	}
}

func deployment(ns, instance, component string, replicas, ready int32) appsv1.Deployment {
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: instance + "-" + component, Namespace: ns, Labels: Labels(instance, component), Generation: 2},
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
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Labels: Labels("one", "web")}},
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
	if got := InstanceSelector("x"); got != "app.kubernetes.io/instance=x,app.kubernetes.io/managed-by=terraform-provider-mastodon,app.kubernetes.io/name=mastodon" {
		t.Fatal(got)
	}
}

// ready is the rule the provider uses (kube.DeploymentReady), restated for the test.
func ready(d *appsv1.Deployment) bool {
	return d.Status.ObservedGeneration >= d.Generation && d.Status.ReadyReplicas == *d.Spec.Replicas &&
		d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.AvailableReplicas == *d.Spec.Replicas
}
