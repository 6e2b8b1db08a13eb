package mastodon

import (
	"strings"
)

// The free-form environment (settings.extra_env, extra_secret_env,
// extra_secret_env_wo, extra_secret_env_refs) is for what no attribute
// renders. It is merged last (Environment), so a variable there that the
// instance renders would silently replace the typed value: DB_HOST over
// database.host, SECRET_KEY_BASE over the generated secret. Such a
// variable is refused, naming the attribute to use, whenever
//   - the instance renders it for this configuration (the core's, a
//     credential's, a generated secret's, a block's), or
//   - an adoption maps it to an attribute (AdoptedVariables): an adopted
//     release never leaves it in extra_env, so it has one way only.
// A variable of a block's family that the instance does not render while
// the block is unset (OIDC_* without sso, ES_* without opensearch) is
// accepted, because an adopted release carries what its chart set there
// as it is; the plan warns, naming the block.

// ownedFamilies are the typed blocks' variable families, longest prefix
// first.
var ownedFamilies = []struct{ prefix, block string }{
	{"REPLICA_", "database.replica"}, {"CACHE_REDIS_", "cache_redis"}, {"SIDEKIQ_REDIS_", "sidekiq_redis"},
	{"REDIS_", "redis"}, {"DB_", "database"}, {"SMTP_", "smtp"}, {"S3_", "media_bucket"}, {"AWS_", "media_bucket"},
	{"ES_", "opensearch"}, {"DEEPL_", "translation"}, {"LIBRE_TRANSLATE_", "translation"},
	{"OTEL_", "opentelemetry"}, {"HCAPTCHA_", "hcaptcha"},
}

// wholeFamilies are the blocks that own every variable of their family
// (they refuse the whole family while set): a free-form variable of one is
// the block's to render.
var wholeFamilies = map[string]bool{"database.replica": true, "opensearch": true, "translation": true, "sso": true,
	"cache_redis": true, "sidekiq_redis": true}

// ownerOf names the attribute (or block) that renders variable k, "" for
// none.
func ownerOf(k string) string {
	if v, ok := AdoptedVariableOf(k); ok {
		return v.Path
	}
	switch {
	case ssoEnv(k):
		return "sso"
	case k == "STREAMING_API_BASE_URL":
		return "streaming_domain"
	case k == "PREPARED_STATEMENTS":
		return "database.pooler"
	case k == "VAPID_PUBLIC_KEY":
		return "own_secrets"
	}
	for _, f := range ownedFamilies {
		if strings.HasPrefix(k, f.prefix) {
			return f.block
		}
	}
	for _, g := range GeneratedEnv {
		if g == k {
			return "own_secrets"
		}
	}
	return ""
}

func adopted(k string) bool {
	_, ok := AdoptedVariableOf(k)
	return ok
}

// AdoptedVariableOf is the entry of AdoptedVariables for variable k.
func AdoptedVariableOf(k string) (AdoptedVariable, bool) {
	for _, v := range AdoptedVariables {
		if v.Env == k {
			return v, true
		}
	}
	return AdoptedVariable{}, false
}

// renderedNames are the names of the variables the instance renders for
// this configuration, the free-form ones left out.
func (s *Spec) renderedNames() map[string]bool {
	var sec Secrets
	for _, env := range append(GeneratedEnv, "VAPID_PUBLIC_KEY") {
		*sec.Field(env) = "-"
	}
	keyBase := s.keyBase
	plain, secret := s.ownEnvironment(sec)
	s.keyBase = keyBase
	out := make(map[string]bool, len(plain)+len(secret))
	for k := range plain {
		out[k] = true
	}
	for k := range secret {
		out[k] = true
	}
	return out
}

// refuseOwnedExtra refuses the free-form variables that the instance
// renders or that an attribute owns, unless a block's own rule refused
// them already.
func (s *Spec) refuseOwnedExtra(e *fieldErrors) {
	rendered := s.renderedNames()
	s.eachExtra(func(attr, k string) {
		if !rendered[k] && !adopted(k) || e.refused(attr, k) {
			return
		}
		owner := ownerOf(k)
		if owner == "" {
			owner = "the instance"
		}
		e.add(attr, "%q is set by %s: set it there", k, owner)
		if !adopted(k) && owner != "the instance" && owner != "own_secrets" {
			e.related(owner) // rendered because of it: not while it is unknown
		}
	})
}

// refused says whether an error on attr names variable k already.
func (e *fieldErrors) refused(attr, k string) bool {
	for _, f := range *e {
		if f.Path == attr && strings.HasPrefix(f.Message, `"`+k+`" `) {
			return true
		}
	}
	return false
}

// extraFamilyWarnings: a free-form variable of a family that a block owns
// whole (wholeFamilies), accepted while the block is unset, is not validated or wired: the plan names the
// block that would.
func (s *Spec) extraFamilyWarnings() []FieldError {
	var out []FieldError
	rendered := s.renderedNames()
	s.eachExtra(func(attr, k string) {
		if rendered[k] || adopted(k) {
			return // refused (refuseOwnedExtra)
		}
		owner := ownerOf(k)
		if !wholeFamilies[owner] {
			return // SMTP_RETURN_PATH: no attribute of smtp renders it
		}
		out = append(out, FieldError{Path: attr, Message: "\"" + k + "\" belongs to " + owner + ", which validates and wires it: set it there. " +
			"Free-form it is passed on unchecked"})
	})
	return out
}
