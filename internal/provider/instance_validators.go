package provider

import (
	"context"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// described is a validator's description: what a valid value is.
type described string

func (d described) Description(context.Context) string         { return string(d) }
func (d described) MarkdownDescription(context.Context) string { return string(d) }

// stringCheck is a validator that runs one of mastodon's checks of a
// single attribute (mastodon.CheckPullPolicy, ...).
type stringCheck struct {
	described
	check func(string) error
}

func (c stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if known(req.ConfigValue) {
		invalid(req.Path, c.check(req.ConfigValue.ValueString()), &resp.Diagnostics)
	}
}

// int64Check is stringCheck for a number.
type int64Check struct {
	described
	check func(int64) error
}

func (c int64Check) ValidateInt64(_ context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	if known(req.ConfigValue) {
		invalid(req.Path, c.check(req.ConfigValue.ValueInt64()), &resp.Diagnostics)
	}
}

// queuesCheck runs mastodon.CheckQueues on a process's queues. A list with
// an unknown element waits until it is known.
type queuesCheck struct{ described }

func (queuesCheck) ValidateList(_ context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if !known(req.ConfigValue) {
		return
	}
	var queues []string
	for _, e := range req.ConfigValue.Elements() {
		q, ok := e.(types.String)
		if !ok || q.IsNull() || q.IsUnknown() {
			return
		}
		queues = append(queues, q.ValueString())
	}
	for _, err := range mastodon.CheckQueues(queues) {
		invalid(req.Path, err, &resp.Diagnostics)
	}
}

var checkQueues = []validator.List{queuesCheck{"Mastodon's queues, each once, optionally weighted"}}

// envNamesCheck runs mastodon.CheckEnvName on the names of a map of
// environment variables, in order. The names of a map are known even
// while some of its values are not.
type envNamesCheck struct{ described }

func (envNamesCheck) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if !known(req.ConfigValue) {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(req.ConfigValue.Elements())) {
		invalid(req.Path, mastodon.CheckEnvName(k), &resp.Diagnostics)
	}
}

var checkEnvNames = []validator.Map{envNamesCheck{"names of environment variables"}}

// invalid reports a failed check as the spec's errors are reported
// (ValidateConfig), at the attribute.
func invalid(at path.Path, err error, diags *diag.Diagnostics) {
	if err != nil {
		diags.AddAttributeError(at, "Invalid "+at.String(), at.String()+": "+err.Error())
	}
}

// on adds the check to a string attribute.
func (c stringCheck) on(a schema.StringAttribute) schema.StringAttribute {
	a.Validators = append(a.Validators, c)
	return a
}

// on adds the check to a number attribute.
func (c int64Check) on(a schema.Int64Attribute) schema.Int64Attribute {
	a.Validators = append(a.Validators, c)
	return a
}

// checkQuantity checks a Kubernetes quantity such as example.
func checkQuantity(example string) stringCheck {
	return stringCheck{described: described("a Kubernetes quantity such as " + example), check: func(v string) error {
		return mastodon.CheckQuantity(v, example)
	}}
}

// The checks of the core's attributes.
var (
	checkName       = stringCheck{described: "a lowercase DNS label of at most 40 characters", check: mastodon.CheckName}
	checkNamespace  = stringCheck{described: "a namespace name", check: mastodon.CheckNamespace}
	checkDomain     = stringCheck{described: "a domain name", check: mastodon.CheckDomain}
	checkVersion    = stringCheck{described: "a Mastodon version's image tag such as " + mastodon.DefaultVersion, check: mastodon.CheckVersion}
	checkPullPolicy = stringCheck{described: "Always, IfNotPresent or Never", check: mastodon.CheckPullPolicy}
	checkProcess    = stringCheck{described: "a lowercase DNS label of at most 20 characters", check: mastodon.CheckProcessName}
	checkClaimName  = stringCheck{described: "a PersistentVolumeClaim name", check: mastodon.CheckClaimName}
	checkAccessMode = stringCheck{described: "ReadWriteOnce or ReadWriteMany", check: mastodon.CheckAccessMode}
	checkLocale     = stringCheck{described: "a locale such as en or pt-BR", check: mastodon.CheckLocale}
	checkTimeZone   = stringCheck{described: "an IANA time zone such as Europe/Berlin", check: mastodon.CheckTimeZone}
	checkSSLMode    = stringCheck{described: "a libpq sslmode", check: mastodon.CheckSSLMode}
	checkReplicas   = int64Check{described: "not negative", check: mastodon.CheckReplicas}
	checkCount      = int64Check{described: "at least 1 (0 for the default)", check: mastodon.CheckCount}
	checkPort       = int64Check{described: "a TCP port (0 for the default)", check: mastodon.CheckPort}
	checkNotNeg     = int64Check{described: "not negative", check: mastodon.CheckNotNegative}
	checkAtLeastOne = int64Check{described: "at least 1", check: mastodon.CheckAtLeastOne}
	checkDataKey    = stringCheck{described: "a key of a Secret's data", check: mastodon.CheckSecretKey}
)
