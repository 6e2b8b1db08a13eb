package provider

import (
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// splitUnknown reads a configuration that may hold unknown values (a value
// computed by another resource in the same apply): it returns the paths of
// the unknown values ("database.host", "sidekiq[1].queues"; a map is one
// path) and the configuration with each of them null. A list, set or map
// with an unknown element is null as a whole (Go values cannot hold a null
// element) and its path counts as unknown.
func splitUnknown(config tftypes.Value) (map[string]bool, tftypes.Value, error) {
	collections := map[string]bool{}
	_, err := tftypes.Transform(config, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if !v.IsKnown() && len(p.Steps()) > 0 {
			switch p.Steps()[len(p.Steps())-1].(type) {
			case tftypes.ElementKeyInt, tftypes.ElementKeyString, tftypes.ElementKeyValue:
				collections[tftypes.NewAttributePathWithSteps(p.Steps()[:len(p.Steps())-1]).String()] = true
			}
		}
		return v, nil
	})
	if err != nil {
		return nil, config, err
	}
	unknown := map[string]bool{}
	known, err := tftypes.Transform(config, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if v.IsKnown() && !collections[p.String()] {
			return v, nil
		}
		unknown[pathString(p)] = true
		return tftypes.NewValue(v.Type(), nil), nil
	})
	return unknown, known, err
}

// pathString writes an attribute path as the spec's errors name them; a
// map's keys are left out (the map is one value).
func pathString(p *tftypes.AttributePath) string {
	var b strings.Builder
	for _, step := range p.Steps() {
		switch s := step.(type) {
		case tftypes.AttributeName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(s))
		case tftypes.ElementKeyInt:
			b.WriteString("[" + strconv.FormatInt(int64(s), 10) + "]")
		default:
			return b.String()
		}
	}
	return b.String()
}

// knownOnly drops the diagnostics that unknown values could change: an
// error about an attribute that is unknown, that lies inside or around an
// unknown value, or that sits beside an unknown value in the same nested
// block (cross-field rules, such as a certificate and its key). Errors of
// top-level attributes are kept unless that attribute itself is unknown.
func knownOnly(diags diag.Diagnostics, unknown map[string]bool) diag.Diagnostics {
	if len(unknown) == 0 {
		return diags
	}
	var out diag.Diagnostics
	for _, d := range diags {
		wp, ok := d.(diag.DiagnosticWithPath)
		if !ok || !affected(strings.Split(wp.Path().String(), "[\"")[0], unknown) {
			out.Append(d)
		}
	}
	return out
}

func affected(p string, unknown map[string]bool) bool {
	parent := func(s string) string {
		if i := strings.LastIndexAny(s, ".["); i >= 0 {
			return s[:i]
		}
		return ""
	}
	for u := range unknown {
		switch {
		case u == p, strings.HasPrefix(p, u+"."), strings.HasPrefix(p, u+"["),
			strings.HasPrefix(u, p+"."), strings.HasPrefix(u, p+"["):
			return true
		case parent(p) != "" && parent(u) == parent(p):
			return true
		}
	}
	return false
}
