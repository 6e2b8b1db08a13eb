package provider

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// An account's destroy treats the instance as gone only when that is
// verified: neither its web Deployment nor its ConfigMap exists. Any other
// answer (refused, unreachable, half an instance) keeps the account.
func TestInstanceGoneOnlyWhenVerified(t *testing.T) {
	ctx := context.Background()
	owned := mastodon.Labels("social", mastodon.ComponentConfig, mastodon.OwnerInstance)
	if _, err := instancePod(ctx, fakeClient(), "ns", "social"); !errors.Is(err, errInstanceGone) {
		t.Errorf("nothing left: got %v, want the instance gone", err)
	}
	if _, err := instancePod(ctx, fakeClient(obj("ConfigMap", "social-env", owned)), "ns", "social"); err == nil || errors.Is(err, errInstanceGone) {
		t.Errorf("ConfigMap left: got %v, want an error that keeps the account", err)
	}
	c := fakeClient()
	c.Dynamic.(*dynamicfake.FakeDynamicClient).PrependReactor("get", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "social-web", errors.New("RBAC"))
	})
	if _, err := instancePod(ctx, c, "ns", "social"); err == nil || errors.Is(err, errInstanceGone) {
		t.Errorf("forbidden: got %v, want an error that keeps the account", err)
	}
}
