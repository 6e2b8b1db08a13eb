package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Moving Sidekiq to another Redis (sidekiq_redis added, changed, removed,
// or the main Redis changed without it) leaves its pending jobs behind: the
// plan says so, naming both; a change that keeps Sidekiq where it is says
// nothing.
func TestWarnSidekiqRedisMove(t *testing.T) {
	ctx := context.Background()
	external := func(host string, db int64) *redisModel {
		return &redisModel{Host: types.StringValue(host), DB: types.Int64Value(db)}
	}
	sentinels := &redisModel{Sentinel: &sentinelModel{Master: types.StringValue("jobs"),
		Hosts: types.ListValueMust(types.StringType, []attr.Value{types.StringValue("s-0"), types.StringValue("s-1")})}}
	plan := func(sidekiq, main *redisModel) tfsdk.Plan {
		st := instanceSchemaState(t)
		p := tfsdk.Plan{Schema: st.Schema, Raw: tftypes.NewValue(st.Schema.Type().TerraformType(ctx), nil)}
		for name, r := range map[string]*redisModel{"sidekiq_redis": sidekiq, "redis": main} {
			if diags := p.SetAttribute(ctx, path.Root(name), r); diags.HasError() {
				t.Fatal(diags)
			}
		}
		return p
	}
	for _, tc := range []struct {
		name                  string
		fromSidekiq, fromMain *redisModel
		toSidekiq, toMain     *redisModel
		want                  []string
	}{
		{"added", nil, nil, external("jobs.internal", 0), nil, []string{"from the embedded Redis social-redis to the Redis at jobs.internal:6379 (database 0)"}},
		{"removed", external("jobs.internal", 0), external("main.internal", 1), nil, external("main.internal", 1),
			[]string{"from the Redis at jobs.internal:6379 (database 0) to the Redis at main.internal:6379 (database 1)"}},
		{"another database", external("jobs.internal", 0), nil, external("jobs.internal", 3), nil, []string{"(database 3)"}},
		{"to Sentinels", external("jobs.internal", 0), nil, sentinels, nil, []string{`the Redis "jobs" of the Sentinels [s-0 s-1]`}},
		{"main changes under sidekiq_redis", external("jobs.internal", 0), nil, external("jobs.internal", 0), external("main.internal", 0), nil},
		{"main changes without it", nil, nil, nil, external("main.internal", 0), []string{"from the embedded Redis social-redis"}},
		{"nothing moves", external("jobs.internal", 0), nil, external("jobs.internal", 0), nil, nil},
		{"unknown host", external("jobs.internal", 0), nil, &redisModel{Host: types.StringUnknown()}, nil, nil},
	} {
		state := model("v4.7.3", nil)
		state.ID = types.StringValue("ns/social")
		state.SidekiqRedis, state.Redis = tc.fromSidekiq, tc.fromMain
		var diags diag.Diagnostics
		warnSidekiqRedisMove(ctx, plan(tc.toSidekiq, tc.toMain), state, &diags)
		if tc.want == nil {
			if len(diags) != 0 {
				t.Errorf("%s: %v", tc.name, diags)
			}
			continue
		}
		if len(diags) != 1 || diags.WarningsCount() != 1 {
			t.Fatalf("%s: %v", tc.name, diags)
		}
		for _, w := range append(tc.want, "stay there") {
			if !strings.Contains(diags[0].Detail(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, diags[0].Detail(), w)
			}
		}
	}
}
