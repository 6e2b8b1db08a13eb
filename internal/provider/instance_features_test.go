package provider

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// withEveryBlock gives the model v every nested block, its lists, maps
// and references null.
func withEveryBlock(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Type() {
		case reflect.TypeOf(types.List{}):
			f.Set(reflect.ValueOf(types.ListNull(types.StringType)))
		case reflect.TypeOf(types.Map{}):
			f.Set(reflect.ValueOf(types.MapNull(types.StringType)))
		case reflect.TypeOf(&secretRefModel{}):
			continue // a reference, not a block
		}
		if v.Type().Field(i).Anonymous && f.Kind() == reflect.Struct {
			withEveryBlock(f) // a feature's part of a block (policyModel in settingsModel)
			continue
		}
		if f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct && f.CanSet() {
			f.Set(reflect.New(f.Type().Elem()))
			withEveryBlock(f.Elem())
		}
	}
}

// credentialsModel is a configuration with every block, every credential
// filled by fill.
func credentialsModel(t *testing.T, fill func(c credential, v *credentialValues)) *instanceModel {
	m := newPlanHarness(t).config(func(*instanceModel) {})
	withEveryBlock(reflect.ValueOf(m).Elem())
	for _, c := range instanceCredentials {
		v := c.in(m)
		if v == nil {
			t.Fatalf("%s: not found in a model with every block", c.path())
		}
		fill(c, v)
	}
	m.Version = types.StringValue("v4.7.2")
	m.Ingress.CertificatePEM = types.StringValue("certificate")
	return m
}

// renderedSecrets are the Secrets that s renders, by name.
func renderedSecrets(s *mastodon.Spec) map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	for _, o := range s.Render(mastodon.Secrets{}, "") {
		if o.Kind == "Secret" {
			out[o.Name] = &unstructured.Unstructured{Object: o.Body}
		}
	}
	return out
}

// Every credential of the table finds its three fields in the model, its
// block in the spec, and its three attributes in the schema; its clear
// value reaches the Secret and key that live names, and never the record;
// its write-only value reaches the spec (withWriteOnly) and the same
// Secret and key, from which fillWriteOnly reads it back.
func TestCredentialsOfTheTable(t *testing.T) {
	ctx := context.Background()
	var resp resource.SchemaResponse
	(&instanceResource{}).Schema(ctx, resource.SchemaRequest{}, &resp)
	if len(instanceCredentials) != 21 {
		t.Errorf("%d credentials, want 21", len(instanceCredentials))
	}
	value := func(form string, c credential) string { return form + " value of " + c.path().String() }
	m := credentialsModel(t, func(c credential, v *credentialValues) { *v.clear = types.StringValue(value("clear", c)) })
	for _, c := range instanceCredentials {
		for _, suffix := range []string{"", "_wo", "_wo_version"} {
			a, d := resp.Schema.AttributeAtPath(ctx, woPath(c.path(), suffix))
			if d.HasError() {
				t.Fatalf("%s%s: %v", c.path(), suffix, d)
			}
			if sa, ok := a.(schema.StringAttribute); suffix != "_wo_version" && (!ok || !sa.Sensitive || sa.WriteOnly != (suffix == "_wo")) {
				t.Errorf("%s%s: %#v", c.path(), suffix, a)
			}
		}
	}
	// live names where each value is, in the Secrets rendered from s.
	inSecrets := func(what string, s *mastodon.Spec, form string) {
		secrets := renderedSecrets(s)
		for _, c := range instanceCredentials {
			secret, key := c.live(s)
			if got := kube.SecretData(secrets[secret])[key]; got != value(form, c) {
				t.Errorf("%s: %s: Secret %s holds %q at %s", what, c.path(), secret, got, key)
			}
		}
	}
	s, d := m.spec(ctx)
	if d.HasError() {
		t.Fatal(d)
	}
	inSecrets("clear", s, "clear")
	record, err := encodeRecord(ctx, m, tfsdk.State{Schema: resp.Schema})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range instanceCredentials {
		if strings.Contains(record, value("clear", c)) {
			t.Errorf("%s: its clear value is in the record", c.path())
		}
	}

	wo := credentialsModel(t, func(c credential, v *credentialValues) {
		*v.wo, *v.version = types.StringValue(value("write-only", c)), types.Int64Value(1)
	})
	var invalid diag.Diagnostics
	if validateWriteOnly(wo, nil, &invalid); invalid.HasError() {
		t.Fatal(invalid)
	}
	s, d = wo.spec(ctx)
	d.Append(withWriteOnly(ctx, wo, s)...)
	if d.HasError() {
		t.Fatal(d)
	}
	inSecrets("withWriteOnly", s, "write-only")
	live := map[string]*unstructured.Unstructured{}
	for name, u := range renderedSecrets(s) {
		live["Secret/"+s.Namespace+"/"+name] = u
	}
	s, d = wo.spec(ctx)
	if d.HasError() {
		t.Fatal(d)
	}
	if !fillWriteOnly(wo, s, live, func(int) bool { return true }, false) {
		t.Error("fillWriteOnly filled nothing")
	}
	inSecrets("fillWriteOnly", s, "write-only")
}

// A credential at the top level (block "") finds its fields at the root
// of the model; a field the model lacks or of another type is a mistake of
// the table, which panics naming the credential and the field.
func TestCredentialReflection(t *testing.T) {
	type model struct {
		Token          types.String    `tfsdk:"token"`
		TokenWO        types.String    `tfsdk:"token_wo"`
		TokenWOVersion types.Int64     `tfsdk:"token_wo_version"`
		TokenRef       *secretRefModel `tfsdk:"token_secret_ref"`
		Other          types.Int64     `tfsdk:"other"`
		Block          *model          `tfsdk:"block"`
	}
	top := credential{name: "token"}
	if got := top.path(); !got.Equal(path.Root("token")) {
		t.Errorf("path: %s", got)
	}
	if got := (featureTable{{credentials: []credential{top}}}).unrecorded(); !reflect.DeepEqual(got, [][]string{{"token"}}) {
		t.Errorf("unrecorded: %v", got)
	}
	m := &model{}
	v := top.in(m)
	*v.clear, *v.wo, *v.version = types.StringValue("a"), types.StringValue("b"), types.Int64Value(1)
	*v.ref = &secretRefModel{Name: types.StringValue("s"), Key: types.StringValue("k")}
	if m.Token.ValueString() != "a" || m.TokenWO.ValueString() != "b" || m.TokenWOVersion.ValueInt64() != 1 || m.TokenRef != *v.ref {
		t.Errorf("top level: %+v", m)
	}
	if v := (credential{name: "token", noRef: "other"}).in(m); v.ref != nil {
		t.Errorf("without a reference form: %+v", v)
	}
	if v := (credential{block: "block", name: "token"}).in(m); v != nil {
		t.Errorf("absent block: %+v", v)
	}
	m.Block = &model{}
	if v := (credential{block: "block", name: "token"}).in(m); v == nil || v.clear != &m.Block.Token {
		t.Errorf("block: %+v", v)
	}
	for _, tc := range []struct {
		c    credential
		want string
	}{
		{credential{name: "secret"}, `credential secret: the model (provider.model) has no field for attribute "secret"`},
		{credential{block: "missing", name: "token"}, `credential missing.token: the model (provider.model) has no field for attribute "missing"`},
		{credential{block: "token", name: "token"},
			`credential token.token: the field for attribute "token" of the model (provider.model) is a basetypes.StringValue, not a block`},
		{credential{name: "other"},
			`credential other: the field for attribute "other" of the model (provider.model) is a basetypes.Int64Value, not a basetypes.StringValue`},
	} {
		c, want := tc.c, tc.want
		func() {
			defer func() {
				if got := fmt.Sprint(recover()); got != want {
					t.Errorf("%s: panic %q, want %q", c.path(), got, want)
				}
			}()
			c.in(m)
		}()
	}
}

// Every credential but those without a reference form (the ingress key,
// whose reference form is tls_secret_name) takes a reference to an
// existing Secret's key: no rendered Secret holds its key, and the Pods
// read it from the referenced Secret: the instance's variables by
// secretKeyRef in every Rails container, the Cloud SQL key as the file of
// a volume, the restore bucket's key in the restore Job's download. The
// value read from the cluster (for its hash) is in no rendered object.
func TestCredentialsByReference(t *testing.T) {
	ctx := context.Background()
	var resp resource.SchemaResponse
	(&instanceResource{}).Schema(ctx, resource.SchemaRequest{}, &resp)
	refName := func(c credential) string {
		return "ref-" + strings.NewReplacer(".", "-", "_", "-").Replace(c.path().String())
	}
	m := credentialsModel(t, func(c credential, v *credentialValues) {
		if v.ref == nil {
			*v.clear = types.StringValue("clear value")
			return
		}
		*v.ref = &secretRefModel{Name: types.StringValue(refName(c)), Key: types.StringValue("k")}
	})
	for _, c := range instanceCredentials {
		_, d := resp.Schema.AttributeAtPath(ctx, woPath(c.path(), "_secret_ref"))
		if d.HasError() != (c.noRef != "") {
			t.Errorf("%s_secret_ref: %v (noRef %q)", c.path(), d, c.noRef)
		}
	}
	var invalid diag.Diagnostics
	if validateWriteOnly(m, nil, &invalid); invalid.HasError() {
		t.Fatal(invalid)
	}
	s, d := m.spec(ctx)
	if d.HasError() {
		t.Fatal(d)
	}
	refs := s.SecretRefs()
	if len(refs) != len(instanceCredentials)-1 {
		t.Errorf("%d references in the spec, want %d: %+v", len(refs), len(instanceCredentials)-1, refs)
	}
	for _, at := range refs {
		if !at.Ref.ReadFrom(map[string]string{"k": "the referenced value of " + at.Path}) {
			t.Fatal(at.Path)
		}
	}
	rendered := s.Render(mastodon.Secrets{}, "")
	rendered = append(rendered, s.RestoreJob())
	secrets := renderedSecrets(s)
	envOf := func(c map[string]any) map[string]any {
		out := map[string]any{}
		for _, e := range asList(c["env"]) {
			out[e["name"].(string)] = e["valueFrom"]
		}
		return out
	}
	for _, c := range instanceCredentials {
		if c.noRef != "" {
			continue
		}
		secret, key := c.live(s)
		if u := secrets[secret]; u != nil {
			if _, held := kube.SecretData(u)[key]; held {
				t.Errorf("%s: Secret %s holds %s", c.path(), secret, key)
			}
		}
		want := map[string]any{"secretKeyRef": map[string]any{"name": refName(c), "key": "k"}}
		for _, o := range rendered {
			pod := podSpec(o.Body)
			if pod == nil {
				continue
			}
			containers := asList(pod["containers"])
			switch {
			case c.secret == nil && o.Kind != "StatefulSet" && o.Kind != "Job":
				if got := envOf(containers[0])[c.key]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %s %s reads %s from %v, want %v", c.path(), o.Kind, o.Name, c.key, got, want)
				}
			case c.path().String() == "database.cloud_sql.credentials_json" && o.Kind == "Deployment":
				found := false
				for _, v := range asList(pod["volumes"]) {
					sec, _ := v["secret"].(map[string]any)
					found = found || (v["name"] == "cloudsql-key" && sec["secretName"] == refName(c) &&
						reflect.DeepEqual(sec["items"], []any{map[string]any{"key": "k", "path": mastodon.CloudSQLKeyFile}}))
				}
				if !found {
					t.Errorf("%s: %s %s mounts no key of %s: %v", c.path(), o.Kind, o.Name, refName(c), pod["volumes"])
				}
			case c.path().String() == "restore.bucket.secret_access_key" && o.Kind == "Job" && strings.Contains(o.Name, "restore"):
				for _, ct := range asList(pod["initContainers"]) {
					if ct["name"] == "download" {
						if got := envOf(ct)[c.key]; !reflect.DeepEqual(got, want) {
							t.Errorf("%s: the download reads %s from %v", c.path(), c.key, got)
						}
					}
				}
			}
		}
	}
	for _, o := range rendered {
		if body := fmt.Sprint(o.Body); strings.Contains(body, "the referenced value") {
			t.Errorf("%s %s holds a referenced value", o.Kind, o.Name)
		}
	}
}

// podSpec is the Pod spec of a rendered workload, nil for other objects.
func podSpec(body map[string]any) map[string]any {
	spec, _ := body["spec"].(map[string]any)
	if jt, ok := spec["jobTemplate"].(map[string]any); ok {
		spec, _ = jt["spec"].(map[string]any)
	}
	tmpl, _ := spec["template"].(map[string]any)
	pod, _ := tmpl["spec"].(map[string]any)
	return pod
}

// asList is a list of objects of a rendered body.
func asList(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, e := range l {
		out = append(out, e.(map[string]any))
	}
	return out
}
