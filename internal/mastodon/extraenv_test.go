package mastodon

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// No free-form variable replaces one the instance renders: with every
// feature on, each rendered name put into each of the four free-form maps
// is refused on that map, naming an attribute, once.
func TestExtraEnvNeverReplacesTheInstance(t *testing.T) {
	for _, cloudSQL := range []bool{true, false} {
		base := everythingSpec(t, cloudSQL)
		plain, secret := base.Environment(fixedSecrets)
		names := slices.Sorted(maps.Keys(plain))
		names = append(names, slices.Sorted(maps.Keys(secret))...)
		if len(names) < 60 {
			t.Fatalf("only %d rendered variables", len(names))
		}
		for _, k := range names {
			for attr, set := range map[string]func(*Spec){
				"settings.extra_env":             func(s *Spec) { s.Settings.ExtraEnv = map[string]string{k: "x"} },
				"settings.extra_secret_env":      func(s *Spec) { s.Settings.ExtraSecretEnv = map[string]string{k: "x"} },
				"settings.extra_secret_env_wo":   func(s *Spec) { s.Settings.ExtraSecretEnvWriteOnly = map[string]string{k: "x"} },
				"settings.extra_secret_env_refs": func(s *Spec) { s.Settings.ExtraSecretEnvRefs = map[string]*SecretRef{k: {Name: "s", Key: "k"}} },
			} {
				s := everythingSpec(t, cloudSQL)
				set(s)
				var hits []FieldError
				for _, e := range s.Validate() {
					if strings.Contains(e.Message, `"`+k+`"`) {
						hits = append(hits, e)
					}
				}
				if len(hits) != 1 || hits[0].Path != attr || !strings.Contains(hits[0].Message, " is set by ") {
					t.Errorf("%s in %s: %v", k, attr, hits)
				}
			}
		}
	}
}

// What the instance renders or an adoption maps is refused by name; a
// variable of a block's family that neither does is accepted while the
// block is unset, with a warning naming the block that owns the family;
// free variables (and a family's variables no attribute renders, as
// SMTP_RETURN_PATH) are free.
func TestExtraEnvOwners(t *testing.T) {
	s := defaultSpec()
	s.Settings.ExtraEnv = map[string]string{"DB_HOST": "db", "LOCAL_DOMAIN": "other.example", "SMTP_SERVER": "smtp",
		"OIDC_ENABLED": "true", "ES_HOST": "es", "GITHUB_REPOSITORY": "me/mastodon", "STREAMING_API_BASE_URL": "wss://x",
		"SMTP_RETURN_PATH": "bounces@social.example"}
	s.Settings.ExtraSecretEnv = map[string]string{"SECRET_KEY_BASE": "x", "VAPID_PUBLIC_KEY": "y"}
	var got []string
	for _, e := range s.Validate() {
		got = append(got, e.Path+": "+e.Message)
	}
	want := []string{
		`settings.extra_env: "DB_HOST" is set by database.host: set it there`,
		`settings.extra_env: "LOCAL_DOMAIN" is set by local_domain: set it there`,
		`settings.extra_env: "SMTP_SERVER" is set by smtp.server: set it there`,
		`settings.extra_env: "STREAMING_API_BASE_URL" is set by streaming_domain: set it there`,
		`settings.extra_secret_env: "SECRET_KEY_BASE" is set by own_secrets: set it there`,
		`settings.extra_secret_env: "VAPID_PUBLIC_KEY" is set by own_secrets: set it there`,
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var warned []string
	for _, w := range s.Warnings() {
		head, _, _ := strings.Cut(w.Message, ",")
		warned = append(warned, w.Path+": "+head)
	}
	if want := []string{`settings.extra_env: "ES_HOST" belongs to opensearch`, `settings.extra_env: "OIDC_ENABLED" belongs to sso`}; !slices.Equal(warned, want) {
		t.Errorf("warnings %v, want %v", warned, want)
	}
	// With sso set, its family is refused by sso's own rule, once.
	s.SSO = &SSO{OIDC: &OIDC{Issuer: "https://id.example", ClientID: "m", ClientSecret: "s"}}
	s.Defaults()
	n := 0
	for _, e := range s.Validate() {
		if strings.Contains(e.Message, `"OIDC_ENABLED"`) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("OIDC_ENABLED with sso set: %d errors, want 1", n)
	}
}
