package provider

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// withEveryBlock gives the model v every nested block, its lists and maps
// null.
func withEveryBlock(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Type() {
		case reflect.TypeOf(types.List{}):
			f.Set(reflect.ValueOf(types.ListNull(types.StringType)))
		case reflect.TypeOf(types.Map{}):
			f.Set(reflect.ValueOf(types.MapNull(types.StringType)))
		}
		if f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct && f.CanSet() {
			f.Set(reflect.New(f.Type().Elem()))
			withEveryBlock(f.Elem())
		}
	}
}

// Every credential of the table finds its three fields in the model, its
// block in the spec, and its three attributes in the schema; its clear
// value reaches the Secret and key that live names, and the record leaves
// it out.
func TestCredentialsOfTheTable(t *testing.T) {
	ctx := context.Background()
	var resp resource.SchemaResponse
	(&instanceResource{}).Schema(ctx, resource.SchemaRequest{}, &resp)
	m := &instanceModel{}
	withEveryBlock(reflect.ValueOf(m).Elem())
	if len(instanceCredentials) != 9 {
		t.Errorf("%d credentials, want 9", len(instanceCredentials))
	}
	for _, c := range instanceCredentials {
		v := c.in(m)
		if v == nil {
			t.Fatalf("%s: not found in a model with every block", c.path())
		}
		*v.clear = types.StringValue("clear " + c.path().String())
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
	m.Name, m.Namespace, m.Version = types.StringValue("x"), types.StringValue("ns"), types.StringValue("v4.7.2")
	m.Ingress.CertificatePEM = types.StringValue("certificate")
	s, d := m.spec(ctx)
	if d.HasError() {
		t.Fatal(d)
	}
	objects := map[string]map[string]any{}
	for _, o := range s.Render(mastodon.Secrets{}, "") {
		objects[o.Kind+"/"+o.Name] = o.Body
	}
	for _, c := range instanceCredentials {
		secret, key := c.live(s)
		u := &unstructured.Unstructured{Object: objects["Secret/"+secret]}
		if got := kube.SecretData(u)[key]; got != "clear "+c.path().String() {
			t.Errorf("%s: Secret %s holds %q at %s", c.path(), secret, got, key)
		}
	}
	recorded := map[string]bool{}
	for _, p := range unrecordedPaths {
		recorded[strings.Join(p, ".")] = true
	}
	for _, c := range instanceCredentials {
		if !recorded[c.block+"."+c.name] {
			t.Errorf("%s: recorded", c.path())
		}
	}
}
