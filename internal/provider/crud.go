package provider

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
)

// timeoutOf is the Create, Read, Update or Delete method of a timeouts
// block: the timeout it gives, else the default.
type timeoutOf func(ctx context.Context, def time.Duration) (time.Duration, diag.Diagnostics)

// begin is the preamble of every CRUD method, once the method has read its
// model (plan, state, configuration) into diags: unless that reported an
// error, it bounds ctx by the timeout (def when the configuration gives
// none) and gets the cluster's client (client nil: a resource that has
// none). ok is false when diags hold an error, and the method returns;
// cancel is to be deferred either way.
func begin(ctx context.Context, timeout timeoutOf, def time.Duration, client func() (*kube.Client, diag.Diagnostics),
	diags *diag.Diagnostics) (_ context.Context, cancel context.CancelFunc, c *kube.Client, ok bool) {
	if diags.HasError() {
		return ctx, func() {}, nil, false
	}
	t, d := timeout(ctx, def)
	diags.Append(d...)
	ctx, cancel = context.WithTimeout(ctx, t)
	if client != nil {
		c, d = client()
		diags.Append(d...)
	}
	return ctx, cancel, c, !diags.HasError()
}

// identified is a resource's model (a pointer, for State.Get), which gives
// the resource identity of what it holds.
type identified interface{ identity() []any }

// readState starts a refresh: it reads the state into m and writes the
// resource identity that m gives once read. It asks m itself: a method
// value taken before the read (state.identity) would, with a value
// receiver, hold a copy of the empty model. It says whether the refresh
// goes on.
func readState(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse, m identified) bool {
	resp.Diagnostics.Append(req.State.Get(ctx, m)...)
	if resp.Diagnostics.HasError() {
		return false
	}
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, m.identity()...)...)
	return true
}

// crudStep is one step of a refresh or a destroy, as an apply's are
// (applyStep): what it does, and the summary its error is reported under.
type crudStep struct {
	name   string
	run    func(ctx context.Context) error
	failed string
}

// errStop ends the steps without an error to report: the step reported
// its own diagnostics, or found nothing left to do.
var errStop = errors.New("stop")

// stopOn is errStop when diags hold an error.
func stopOn(diags diag.Diagnostics) error {
	if diags.HasError() {
		return errStop
	}
	return nil
}

// runSteps runs steps in order until one fails, logging each with fields
// (nil: not logged; a refresh, which runs for every instance of every
// plan, does not pay for lines nobody reads).
func runSteps(ctx context.Context, steps []crudStep, fields map[string]any, diags *diag.Diagnostics) {
	for _, st := range steps {
		if fields != nil {
			tflog.Debug(ctx, st.name, fields)
		}
		if err := st.run(ctx); err != nil {
			if !errors.Is(err, errStop) {
				diags.AddError(st.failed, err.Error())
			}
			return
		}
	}
}
