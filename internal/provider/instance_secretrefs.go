package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// References to existing Secrets (credential.setRef, settings.extra_secret_env_refs):
// the Pods read the values; the provider reads the Secrets at plan, at the
// start of an apply and at every refresh, only to check that each key is
// there and to put a hash of its value into the Pods' checksum
// (mastodon.SecretRef.ReadFrom), so that a changed value rolls them.

// objectGetter reads one object of the cluster, nil when it does not exist
// (kube.Client.Get).
type objectGetter func(ctx context.Context, kind, namespace, name string) (*unstructured.Unstructured, error)

// refProblem is a reference whose Secret or key is missing: the attribute
// that gives it (as mastodon.SecretRefAt names it) and what is wrong.
type refProblem struct{ path, msg string }

// readSecretRefs reads the Secrets that the spec's references name, each
// once, and sets the references' hashes. It returns the references whose
// Secret or key is missing; an error when a Secret could not be read.
func readSecretRefs(ctx context.Context, get objectGetter, s *mastodon.Spec) ([]refProblem, error) {
	type secret struct {
		found bool
		data  map[string]string
	}
	read := map[string]secret{}
	var out []refProblem
	for _, at := range s.SecretRefs() {
		r := at.Ref
		sec, done := read[r.Name]
		if !done {
			u, err := get(ctx, "Secret", s.Namespace, r.Name)
			if err != nil {
				return nil, fmt.Errorf("reading Secret %s/%s, which %s references: %w", s.Namespace, r.Name, at.Path, err)
			}
			if u != nil {
				sec = secret{found: true, data: kube.SecretData(u)}
			}
			read[r.Name] = sec
		}
		switch {
		case !sec.found:
			out = append(out, refProblem{at.Path, fmt.Sprintf("Secret %s/%s does not exist: create it (or let the tool that manages it create it) "+
				"before the instance uses it.", s.Namespace, r.Name)})
		case !r.ReadFrom(sec.data):
			keys := slices.Sorted(maps.Keys(sec.data))
			out = append(out, refProblem{at.Path, fmt.Sprintf("Secret %s/%s has no key %q (its keys: %s).", s.Namespace, r.Name, r.Key,
				strings.Join(quoted(keys), ", "))})
		}
	}
	return out, nil
}

func quoted(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = fmt.Sprintf("%q", s)
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// refPath is the path of a reference's attribute: a credential's, or an
// element of settings.extra_secret_env_refs (`...["NAME"]`).
func refPath(p string) path.Path {
	base, key, isMap := strings.Cut(p, "[\"")
	out := attributePath(base)
	if isMap {
		out = out.AtMapKey(strings.TrimSuffix(key, "\"]"))
	}
	return out
}

// reportRefs reports the references whose Secret or key is missing, as
// errors of their attributes.
func reportRefs(problems []refProblem, diags *diag.Diagnostics) {
	for _, p := range problems {
		diags.AddAttributeError(refPath(p.path), "Missing referenced Secret", p.path+": "+p.msg)
	}
}

// checkSecretRefs reads the references of the spec an apply is about to
// make true, before it changes anything: a missing Secret or key is an
// error, and nothing is applied.
func checkSecretRefs(ctx context.Context, c instanceCluster, s *mastodon.Spec, diags *diag.Diagnostics) {
	problems, err := readSecretRefs(ctx, c.Get, s)
	if err != nil {
		diags.AddError("Cannot read a referenced Secret", err.Error())
		return
	}
	reportRefs(problems, diags)
}

// checkSecretRefsAtPlan refuses at plan time the references whose Secret
// or key is missing, where the cluster can be reached and the namespace
// and the references are known (the apply checks again).
func (r *instanceResource) checkSecretRefsAtPlan(ctx context.Context, plan tfsdk.Plan, diags *diag.Diagnostics) {
	if plan.Raw.IsNull() || plan.Schema == nil {
		return
	}
	_, known, err := splitUnknown(plan.Raw)
	if err != nil {
		return
	}
	var m instanceModel
	if d := (&tfsdk.Plan{Schema: plan.Schema, Raw: known}).Get(ctx, &m); d.HasError() || m.Namespace.IsNull() {
		return
	}
	s, _ := m.spec(ctx)
	if len(s.SecretRefs()) == 0 {
		return
	}
	c := planClient(ctx, r.clients)
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, planCheckTimeout)
	defer cancel()
	problems, err := readSecretRefs(ctx, c.Get, s)
	if err != nil {
		tflog.Debug(ctx, "no plan-time check of the referenced Secrets: the apply checks", map[string]any{"error": err.Error()})
		return
	}
	reportRefs(problems, diags)
}
