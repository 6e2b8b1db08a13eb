package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
)

func claim(name string, mutate func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	class := "fast"
	p := &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: "uid-" + "name"},
		Spec:       corev1.PersistentVolumeClaimSpec{StorageClassName: &class},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func toUnstructured(t *testing.T, o runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// A claim that never bound holds nothing; one that is or was bound (a
// volume named, or the mark binding leaves, even once the volume is lost)
// may hold data.
func TestClaimNeverBound(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.PersistentVolumeClaim)
		never  bool
	}{
		{"pending", nil, true},
		{"no status yet", func(p *corev1.PersistentVolumeClaim) { p.Status.Phase = "" }, true},
		{"bound", func(p *corev1.PersistentVolumeClaim) {
			p.Spec.VolumeName, p.Status.Phase = "pv-1", corev1.ClaimBound
		}, false},
		{"volume named, binding under way", func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeName = "pv-1" }, false},
		{"lost", func(p *corev1.PersistentVolumeClaim) {
			p.Spec.VolumeName, p.Status.Phase = "pv-1", corev1.ClaimLost
		}, false},
		{"bound once (mark kept)", func(p *corev1.PersistentVolumeClaim) {
			p.Annotations = map[string]string{"pv.kubernetes.io/bind-completed": "yes"}
		}, false},
	} {
		if got := ClaimNeverBound(toUnstructured(t, claim("c", tc.mutate))); got != tc.never {
			t.Errorf("%s: ClaimNeverBound = %v, want %v", tc.name, got, tc.never)
		}
	}
}

func storageClass(name, provisioner string, isDefault bool) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner}
	if isDefault {
		sc.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	}
	return sc
}

func TestStorageClassesSayWhatTheClusterHas(t *testing.T) {
	c := &Client{Clientset: fake.NewClientset(storageClass("standard", "kubernetes.io/host-path", true), storageClass("fast", "example.com/ssd", false))}
	sc, err := c.StorageClasses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sc.Default != "standard" || !sc.Exists("fast") || !sc.Exists("") || sc.Exists("no-such-class") || sc.Resolve("") != "standard" {
		t.Errorf("read %+v", sc)
	}
	for class, want := range map[string]string{
		"no-such-class": `storage class "no-such-class", which does not exist in the cluster (it has: fast, standard (default))`,
		"fast":          `storage class "fast", which exists (provisioner example.com/ssd)`,
		"":              `no storage class: the cluster's default, "standard" (provisioner kubernetes.io/host-path)`,
	} {
		if got := sc.Describe(class); got != want {
			t.Errorf("Describe(%q) = %q, want %q", class, got, want)
		}
	}
	none := &StorageClasses{Provisioners: map[string]string{"fast": "x"}}
	if none.Exists("") || !strings.Contains(none.Describe(""), "no default StorageClass") {
		t.Errorf("without a default: %q", none.Describe(""))
	}
}

// Replacing a claim that never bound deletes the StatefulSet whose Pod
// uses it first, then the claim, and waits until both are gone; a claim
// that bound meanwhile is not deleted.
func TestDeleteNeverBoundClaim(t *testing.T) {
	sts := &unstructured.Unstructured{}
	sts.SetAPIVersion("apps/v1")
	sts.SetKind("StatefulSet")
	sts.SetNamespace("ns")
	sts.SetName("social-postgresql")
	pending := toUnstructured(t, claim("data-social-postgresql-0", nil))
	c := &Client{Dynamic: fakeDynamic(sts, pending.DeepCopy()), REST: &rest.Config{Host: "https://127.0.0.1:6443"}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.DeleteNeverBoundClaim(ctx, pending, "social-postgresql"); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"StatefulSet", "PersistentVolumeClaim"} {
		if o, err := c.Get(ctx, kind, "ns", map[string]string{"StatefulSet": "social-postgresql", "PersistentVolumeClaim": pending.GetName()}[kind]); err != nil || o != nil {
			t.Errorf("%s still there (%v)", kind, err)
		}
	}

	bound := toUnstructured(t, claim("social-media", func(p *corev1.PersistentVolumeClaim) {
		p.Spec.VolumeName, p.Status.Phase = "pv-1", corev1.ClaimBound
	}))
	c = &Client{Dynamic: fakeDynamic(bound), REST: &rest.Config{Host: "https://127.0.0.1:6443"}}
	err := c.DeleteNeverBoundClaim(ctx, toUnstructured(t, claim("social-media", nil)), "")
	if err == nil || !strings.Contains(err.Error(), "changed while it was being replaced") {
		t.Errorf("a claim bound meanwhile: %v", err)
	}
	if o, _ := c.Get(ctx, "PersistentVolumeClaim", "ns", "social-media"); o == nil {
		t.Error("a bound claim was deleted")
	}
}

// The diagnostics of a Pod that waits on an unbound claim name the claim,
// its class, whether the cluster has that class, and the claim's events.
func TestDiagnoseNamesAnUnboundClaimAndItsClass(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "social-web-1", Namespace: "ns", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "media", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "social-media"}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	class := "no-such-class"
	pvc := claim("social-media", func(p *corev1.PersistentVolumeClaim) { p.Spec.StorageClassName = &class })
	event := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e1", Namespace: "ns"},
		InvolvedObject: corev1.ObjectReference{Kind: "PersistentVolumeClaim", Name: "social-media", Namespace: "ns"},
		Type:           "Warning", Reason: "ProvisioningFailed", Message: `storageclass.storage.k8s.io "no-such-class" not found`,
	}
	c := &Client{Clientset: fake.NewClientset(pod, pvc, event, storageClass("standard", "kubernetes.io/host-path", true))}
	got := c.Diagnose(context.Background(), "ns", "app=web")
	for _, want := range []string{
		`claim social-media: Pending, asking for storage class "no-such-class", which does not exist in the cluster (it has: standard (default))`,
		"ProvisioningFailed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Diagnose lacks %q:\n%s", want, got)
		}
	}
}
