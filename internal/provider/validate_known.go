package provider

import (
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
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
// error about an attribute that is unknown or that lies inside or around
// an unknown value. A rule between attributes names the others it reads
// (mastodon.FieldError.Related, see relatedUnknown); nothing is guessed from
// where an attribute sits.
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

// affected says whether the attribute at p is unknown, lies inside an
// unknown value (a block unknown as a whole, a list with an unknown
// element, a map) or holds one.
func affected(p string, unknown map[string]bool) bool {
	for u := range unknown {
		if u == p || strings.HasPrefix(p, u+".") || strings.HasPrefix(p, u+"[") ||
			strings.HasPrefix(u, p+".") || strings.HasPrefix(u, p+"[") {
			return true
		}
	}
	return false
}

// relatedUnknown says whether a rule's error or warning reads a value that
// is not known yet, its own attribute or one it names as related: then it
// may not hold, and waits for the apply's check.
func relatedUnknown(e mastodon.FieldError, unknown map[string]bool) bool {
	if affected(e.Path, unknown) {
		return true
	}
	for _, p := range e.Related {
		if affected(p, unknown) {
			return true
		}
	}
	return false
}
