package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// toggledConfig is the everyday toggle, `x = var.on ? {...} : null` with its
// alternative `var.on ? null : {...}`, for every pair of attributes that
// exclude each other: the database, Redis, the cache's Redis, the media store, the Ingress's
// TLS source, web's scaling mode and a write-only twin. The condition
// comes from terraform_data, so it is unknown while the plan is made (as
// every variable is to `terraform validate`).
func toggledConfig(ns string, on bool) string {
	return fmt.Sprintf(`
resource "terraform_data" "external" {
  input = %t
}

locals {
  on = terraform_data.external.output
}
`, on) + instanceConfig(ns, `
  database          = local.on ? { host = "db.internal", user = "mastodon", password = "db-password", sslmode = "disable" } : null
  embedded_database = local.on ? null : { delete_volume_on_destroy = true }
  redis             = local.on ? { host = "redis.internal", password = "redis-password" } : null
  embedded_redis    = local.on ? null : { delete_volume_on_destroy = true }
  cache_redis       = local.on ? { host = "cache.internal", password = "cache-password" } : null
  embedded_cache_redis = local.on ? null : { max_memory = "64mb" }
  media_bucket      = local.on ? { bucket = "media", endpoint = "http://127.0.0.1:9", access_key_id = "key", secret_access_key = "secret", path_style = true } : null
  media             = local.on ? null : { delete_volume_on_destroy = true }
  ingress = {
    class_name             = "nginx"
    wait_for_load_balancer = false
    tls_secret_name        = local.on ? "social-tls-external" : null
    certificate_pem        = local.on ? null : var_certificate
    private_key_pem        = local.on ? null : var_private_key
  }
  web = {
    replicas    = local.on ? null : 2
    autoscaling = local.on ? { max_replicas = 3, target_cpu_utilization = 70 } : null
    resources   = { cpu_request = "100m" }
  }
  smtp = {
    server              = "smtp.example.org"
    from_address        = "notifications@social.example"
    password            = local.on ? "clear-password" : null
    password_wo         = local.on ? null : "write-only-password"
    password_wo_version = local.on ? null : 1
  }`)
}

// Every toggle plans, applies and plans empty both ways, with the condition
// unknown at plan: a conflict is reported only between known values.
func TestAccInstance_conditionalToggles(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-toggle-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	cert, key := testCertificatePEM(t)
	config := func(on bool) string {
		s := toggledConfig(ns, on)
		return strings.NewReplacer("var_certificate", hclString(cert), "var_private_key", hclString(key)).Replace(s)
	}
	empty := tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []tfresource.TestStep{
			{Config: config(false), Check: tfresource.TestCheckResourceAttr("mastodon_instance.test", "ready", "true")},
			{Config: config(false), ConfigPlanChecks: empty},
			{Config: config(true), Check: tfresource.TestCheckResourceAttr("mastodon_instance.test", "database.host", "db.internal")},
			{Config: config(true), ConfigPlanChecks: empty},
			{Config: config(false), Check: tfresource.TestCheckNoResourceAttr("mastodon_instance.test", "database.host")},
			{Config: config(false), ConfigPlanChecks: empty},
		},
	})
}

// `terraform validate` sees every variable unknown: the toggled pairs are
// each unknown, and none is a conflict. Known on both sides, they are.
func TestValidateConfigTogglesUnknown(t *testing.T) {
	ctx := context.Background()
	r := &instanceResource{}
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	root := sr.Schema.Type().TerraformType(ctx).(tftypes.Object)
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	unknown := func(name string) tftypes.Value {
		return tftypes.NewValue(root.AttributeTypes[name], tftypes.UnknownValue)
	}
	block := func(name string, vals map[string]tftypes.Value) tftypes.Value {
		return withNulls(root.AttributeTypes[name].(tftypes.Object), vals)
	}
	base := map[string]tftypes.Value{"name": str("social"), "namespace": str("mastodon"), "local_domain": str("social.example")}
	validate := func(vals map[string]tftypes.Value) []string {
		all := map[string]tftypes.Value{}
		for k, v := range base {
			all[k] = v
		}
		for k, v := range vals {
			all[k] = v
		}
		resp := &resource.ValidateConfigResponse{}
		r.ValidateConfig(ctx, resource.ValidateConfigRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: withNulls(root, all)}}, resp)
		var errs []string
		for _, d := range resp.Diagnostics.Errors() {
			errs = append(errs, d.Summary()+": "+d.Detail())
		}
		return errs
	}
	pairs := [][2]string{{"database", "embedded_database"}, {"redis", "embedded_redis"}, {"media_bucket", "media"}, {"ingress", "gateway"},
		{"cache_redis", "embedded_cache_redis"}}
	for _, p := range pairs {
		if errs := validate(map[string]tftypes.Value{p[0]: unknown(p[0]), p[1]: unknown(p[1])}); len(errs) > 0 {
			t.Errorf("%s and %s both unknown: %v", p[0], p[1], errs)
		}
	}
	db := block("database", map[string]tftypes.Value{"host": str("db.internal"), "user": str("mastodon"), "password": str("pw")})
	if errs := validate(map[string]tftypes.Value{"database": db, "embedded_database": unknown("embedded_database")}); len(errs) > 0 {
		t.Errorf("database known, embedded_database unknown: %v", errs)
	}
	if errs := validate(map[string]tftypes.Value{"database": db, "embedded_database": block("embedded_database", nil)}); len(errs) == 0 {
		t.Error("database and embedded_database both known and set: no conflict reported")
	}
	cache := block("cache_redis", map[string]tftypes.Value{"host": str("cache.internal")})
	if errs := validate(map[string]tftypes.Value{"cache_redis": cache, "embedded_cache_redis": unknown("embedded_cache_redis")}); len(errs) > 0 {
		t.Errorf("cache_redis known, embedded_cache_redis unknown: %v", errs)
	}
	if errs := validate(map[string]tftypes.Value{"cache_redis": cache, "embedded_cache_redis": block("embedded_cache_redis", nil)}); len(errs) == 0 {
		t.Error("cache_redis and embedded_cache_redis both known and set: no conflict reported")
	}
}
