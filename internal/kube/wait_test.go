package kube

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

func fakeDynamic(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	lists := map[schema.GroupVersionResource]string{}
	for _, k := range Kinds {
		lists[k.GVR] = k.Name + "List"
	}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)
}

func configMap(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetNamespace("ns")
	u.SetName(name)
	return u
}

// A wait the credentials cannot make (no list or watch permission) ends at
// once, saying so, instead of retrying until its timeout.
func TestWaitFailsAtOnceWhenForbidden(t *testing.T) {
	for _, verb := range []string{"list", "watch"} {
		dyn := fakeDynamic(configMap("other"))
		dyn.PrependReactor(verb, "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", errors.New("RBAC: no "+verb))
		})
		dyn.PrependWatchReactor("configmaps", func(k8stesting.Action) (bool, watch.Interface, error) {
			if verb == "watch" {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", errors.New("RBAC: no watch"))
			}
			return false, nil, nil
		})
		c := &Client{Dynamic: dyn, REST: &rest.Config{Host: "https://127.0.0.1:6443"}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := c.WaitDeleted(ctx, "ConfigMap", "ns", "other")
		expired := ctx.Err() != nil
		cancel()
		if err == nil || !strings.Contains(err.Error(), "forbidden") || expired {
			t.Errorf("%s forbidden: got %v, want a forbidden error before the deadline", verb, err)
		}
	}
}

// An API server that does not answer for a while (a restart) is ridden
// out: the wait lists again until it answers.
func TestWaitRidesOutAnUnansweringServer(t *testing.T) {
	RetryInterval = 10 * time.Millisecond
	defer func() { RetryInterval = time.Second }()
	dyn := fakeDynamic()
	failures := 3
	dyn.PrependReactor("list", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failures > 0 {
			failures--
			return true, nil, syscall.ECONNREFUSED
		}
		return false, nil, nil
	})
	c := &Client{Dynamic: dyn, REST: &rest.Config{Host: "https://127.0.0.1:6443"}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitDeleted(ctx, "ConfigMap", "ns", "gone"); err != nil {
		t.Fatal(err)
	}
	if failures != 0 {
		t.Fatal("the wait did not ask again")
	}
}

func pod(name string, labels map[string]string, phase corev1.PodPhase, waiting string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels}, Status: corev1.PodStatus{Phase: phase}}
	if waiting != "" {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting, Message: "the reason"}}}}
	}
	return p
}

// What cannot resolve by itself ends a wait once it has lasted
// FailFastAfter, naming the cause; what can resolve does not.
func TestPodTrouble(t *testing.T) {
	FailFastAfter = 0
	defer func() { FailFastAfter = time.Minute }()
	web := map[string]string{"app": "web"}
	job := map[string]string{"job-name": "prepare"}
	cases := []struct {
		name, selector string
		pods           []runtime.Object
		want           string
	}{
		{"image cannot be pulled", "app=web", []runtime.Object{pod("w", web, corev1.PodPending, "ImagePullBackOff")}, "container web has been in ImagePullBackOff"},
		{"crashing", "app=web", []runtime.Object{pod("w", web, corev1.PodRunning, "CrashLoopBackOff")}, "CrashLoopBackOff"},
		{"missing configuration", "app=web", []runtime.Object{pod("w", web, corev1.PodPending, "CreateContainerConfigError")}, "CreateContainerConfigError"},
		{"starting", "app=web", []runtime.Object{pod("w", web, corev1.PodPending, "ContainerCreating")}, ""},
		{"running", "app=web", []runtime.Object{pod("w", web, corev1.PodRunning, "")}, ""},
		{"no Pod at all", "app=web", nil, "no Pod was created"},
		{"Job Pod succeeded, Job not complete", "job-name=prepare", []runtime.Object{pod("p", job, corev1.PodSucceeded, "")}, "Job controller"},
	}
	for _, tc := range cases {
		c := &Client{Clientset: fake.NewSimpleClientset(tc.pods...)}
		err := c.podTrouble(context.Background(), "ns", tc.selector, persistent{}, "Pods")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	// A state must last: seen once, it is only remembered.
	FailFastAfter = time.Hour
	c := &Client{Clientset: fake.NewSimpleClientset(pod("w", web, corev1.PodPending, "ImagePullBackOff"))}
	if err := c.podTrouble(context.Background(), "ns", "app=web", persistent{}, "Pods"); err != nil {
		t.Errorf("a passing state ended the wait: %v", err)
	}
}

func TestFailedCondition(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": []any{
		map[string]any{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet has timed out progressing."},
	}}}}
	if got := failedCondition(u); !strings.Contains(got, "progress deadline exceeded") {
		t.Errorf("got %q", got)
	}
	u.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}}}
	if got := failedCondition(u); got != "" {
		t.Errorf("got %q", got)
	}
}

// A namespace holding only what Kubernetes puts in every namespace is empty,
// on a cluster that does not serve the optional kinds (BackendConfig is
// GKE's); one holding anything else is not; a kind that cannot be listed
// for another reason leaves the question open.
func TestNamespaceContentsWithoutOptionalKinds(t *testing.T) {
	notServed := func(dyn *dynamicfake.FakeDynamicClient, resource string, err error) {
		dyn.PrependReactor("list", resource, func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, err })
	}
	rootCA := configMap("kube-root-ca.crt")
	for name, tc := range map[string]struct {
		objs    []runtime.Object
		refuse  string
		want    string
		wantErr bool
	}{
		"empty":         {objs: []runtime.Object{rootCA}},
		"not empty":     {objs: []runtime.Object{rootCA, configMap("someone-elses")}, want: "ConfigMap someone-elses"},
		"other refusal": {objs: []runtime.Object{rootCA}, refuse: "ingresses", wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			dyn := fakeDynamic(tc.objs...)
			for _, k := range Kinds {
				if optionalKinds[k.Name] {
					notServed(dyn, k.GVR.Resource, apierrors.NewNotFound(k.GVR.GroupResource(), ""))
				}
			}
			if tc.refuse != "" {
				notServed(dyn, tc.refuse, apierrors.NewForbidden(schema.GroupResource{Resource: tc.refuse}, "", nil))
			}
			got, err := (&Client{Dynamic: dyn, REST: &rest.Config{}}).NamespaceContents(context.Background(), "ns")
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if strings.Join(got, ",") != tc.want {
				t.Fatalf("contents %q, want %q", got, tc.want)
			}
		})
	}
}
