package mastodon

import (
	"encoding/base64"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

// The formats Mastodon takes, from its source (glitch-soc/mastodon at
// v4.6.5, and v4.3.23 for OTP_SECRET):
//   - lib/tasks/mastodon.rake: SECRET_KEY_BASE is SecureRandom.hex(64), the
//     Active Record keys SecureRandom.alphanumeric(32), the VAPID pair
//     Webpush.generate_key (a P-256 key in URL-safe base64).
//   - config/initializers/active_record_encryption.rb: each Active Record
//     key must be non-blank, and one ending with DO_NOT_USE_IN_PRODUCTION
//     aborts the boot in production. Rails derives the keys from them with
//     PBKDF2, so it asks for no length.
//   - app/models/keypair.rb (encrypts :private_key) and devise-two-factor
//     6.4.0 of Gemfile.lock (encrypts :otp_secret): what the Active Record
//     keys protect, which SecretRotations names.
//   - config/vapid.yml and app/lib/web_push_request.rb: the pair is read
//     as given (Webpush::VapidKey.from_keys(public, private)), so the
//     public key must be the private key's.
//   - app/models/concerns/legacy_otp_secret.rb (v4.3.23): OTP_SECRET is a
//     PBKDF2 password for the two-factor secrets of before 4.3; any
//     non-empty value.
func TestOwnSecretFormatsContract(t *testing.T) {
	var s Secrets
	if err := s.Fill(true, true); err != nil {
		t.Fatal(err)
	}
	_, otherPublic, _ := GenerateVapidKeys()
	raw := strings.TrimRight(s.VapidPrivateKey, "=")
	for _, tc := range []struct {
		env, value, want string // want: "" for accepted
	}{
		{"SECRET_KEY_BASE", s.SecretKeyBase, ""},
		{"SECRET_KEY_BASE", strings.Repeat("a", 32), ""},
		{"SECRET_KEY_BASE", "0123456789abcdef", "SECRET_KEY_BASE has 16 characters, fewer than 32"},
		{"SECRET_KEY_BASE", "", "SECRET_KEY_BASE is empty"},
		{"OTP_SECRET", "x", ""},
		{"OTP_SECRET", "", "OTP_SECRET is empty"},
		{"VAPID_PRIVATE_KEY", s.VapidPrivateKey, ""},
		{"VAPID_PRIVATE_KEY", raw, ""},
		{"VAPID_PRIVATE_KEY", "not base64!", "not URL-safe base64"},
		{"VAPID_PRIVATE_KEY", base64.URLEncoding.EncodeToString(make([]byte, 32)), "not a P-256 scalar"},
		{"VAPID_PRIVATE_KEY", base64.URLEncoding.EncodeToString([]byte("short")), "not a P-256 scalar"},
		{"VAPID_PUBLIC_KEY", s.VapidPublicKey, ""},
		{"VAPID_PUBLIC_KEY", s.VapidPrivateKey, "not an uncompressed P-256 point"},
		{"ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", s.EncryptionPrimaryKey, ""},
		{"ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", "k", ""},
		{"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "", "is empty"},
		{"ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", "salt_DO_NOT_USE_IN_PRODUCTION", "is the test environment's"},
		{EnvDBPassword, "p", ""},
		{EnvRedisPassword, "", "is empty"},
	} {
		err := CheckOwnSecret(tc.env, tc.value)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.env, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s = %q: got %v, want %q", tc.env, tc.value, err, tc.want)
		}
	}
	for _, tc := range []struct {
		given map[string]string
		want  string
	}{
		{map[string]string{"VAPID_PRIVATE_KEY": s.VapidPrivateKey, "VAPID_PUBLIC_KEY": s.VapidPublicKey}, ""},
		{map[string]string{"VAPID_PRIVATE_KEY": raw, "VAPID_PUBLIC_KEY": strings.TrimRight(s.VapidPublicKey, "=")}, ""},
		{map[string]string{"VAPID_PRIVATE_KEY": s.VapidPrivateKey}, ""},
		{map[string]string{"VAPID_PRIVATE_KEY": s.VapidPrivateKey, "VAPID_PUBLIC_KEY": otherPublic}, "not the public key of VAPID_PRIVATE_KEY"},
		{map[string]string{"VAPID_PUBLIC_KEY": s.VapidPublicKey}, "without VAPID_PRIVATE_KEY"},
		{map[string]string{"SECRET": "x"}, `"SECRET" is not a secret of the instance`},
	} {
		got := errors.Join(CheckOwnSecrets(tc.given)...)
		if got == nil {
			got = errors.New("")
		}
		if (tc.want == "") != (got.Error() == "") || !strings.Contains(got.Error(), tc.want) {
			t.Errorf("%v: got %q, want %q", slices.Sorted(maps.Keys(tc.given)), got, tc.want)
		}
	}
}

// A value equal to the instance's is no change; a different one is
// refused unless rotated; a secret the instance does not hold is taken.
func TestTakeOwnSecrets(t *testing.T) {
	var held Secrets
	if err := held.Fill(true, true); err != nil {
		t.Fatal(err)
	}
	newPrivate, newPublic, _ := GenerateVapidKeys()
	for _, tc := range []struct {
		name            string
		given           map[string]string
		rotate          []string
		changed, refuse []string
	}{
		{"equal", map[string]string{"SECRET_KEY_BASE": held.SecretKeyBase, "VAPID_PRIVATE_KEY": held.VapidPrivateKey}, nil, nil, nil},
		{"equal without padding", map[string]string{"VAPID_PRIVATE_KEY": strings.TrimRight(held.VapidPrivateKey, "="),
			"VAPID_PUBLIC_KEY": strings.TrimRight(held.VapidPublicKey, "=")}, nil, nil, nil},
		{"not held yet", map[string]string{"OTP_SECRET": "otp"}, nil, []string{"OTP_SECRET"}, nil},
		{"changed", map[string]string{"SECRET_KEY_BASE": strings.Repeat("b", 64)}, nil, nil, []string{"SECRET_KEY_BASE"}},
		{"changed, another rotated", map[string]string{"SECRET_KEY_BASE": strings.Repeat("b", 64)}, []string{"VAPID"}, nil, []string{"SECRET_KEY_BASE"}},
		{"rotated", map[string]string{"VAPID_PRIVATE_KEY": newPrivate}, []string{"VAPID"}, []string{"VAPID"}, nil},
		{"rotated, one refused", map[string]string{"VAPID_PRIVATE_KEY": newPrivate, EnvDBPassword: "other"}, []string{"VAPID"}, []string{"VAPID"}, []string{EnvDBPassword}},
		{"a password never rotates", map[string]string{EnvRedisPassword: "other"}, []string{EnvRedisPassword}, nil, []string{EnvRedisPassword}},
	} {
		cur := held
		changed, refused := TakeOwnSecrets(&cur, tc.given, tc.rotate)
		if !slices.Equal(changed, tc.changed) || len(refused) != len(tc.refuse) {
			t.Errorf("%s: changed %v, refused %q", tc.name, changed, refused)
			continue
		}
		for i, name := range tc.refuse {
			if !strings.HasPrefix(refused[i], name+" differs") || !strings.Contains(refused[i], "own_secrets.") {
				t.Errorf("%s: refusal %q", tc.name, refused[i])
			}
		}
		for _, name := range tc.refuse {
			for _, r := range append(slices.Clone(SecretRotations), setOnceSecrets...) {
				for _, env := range r.Env {
					if r.Name == name && *cur.Field(env) != *held.Field(env) {
						t.Errorf("%s: the refused %s was taken", tc.name, env)
					}
				}
			}
		}
		if slices.Contains(tc.changed, "VAPID") && (cur.VapidPrivateKey != newPrivate || cur.VapidPublicKey != newPublic) {
			t.Errorf("%s: VAPID pair %q %q, want the new private key and its derived public key", tc.name, cur.VapidPrivateKey, cur.VapidPublicKey)
		}
		if tc.name == "equal without padding" && cur != held {
			t.Errorf("%s: the instance's values were replaced", tc.name)
		}
	}
}

// The names of secret_keys and rotate are Mastodon's variables and the
// rotations' names.
func TestOwnSecretNames(t *testing.T) {
	if errs := CheckOwnSecretNames([]string{"SECRET_KEY_BASE", "VAPID_PUBLIC_KEY", "SECRET"}); len(errs) != 1 ||
		!strings.HasPrefix(errs[0].Error(), `"SECRET" is not a secret of the instance`) {
		t.Errorf("secret_keys: %v", errs)
	}
	for _, name := range []string{"VAPID", "SECRET_KEY_BASE", "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"} {
		if err := CheckRotation(name); err != nil {
			t.Errorf("rotate %s: %v", name, err)
		}
	}
	// The embedded services' passwords are set once: the provider cannot
	// change them inside PostgreSQL or a running Redis.
	for _, name := range []string{EnvDBPassword, EnvRedisPassword} {
		if err := CheckRotation(name); err == nil {
			t.Errorf("rotate %s: accepted", name)
		}
	}
	if err := CheckRotation("VAPID_PRIVATE_KEY"); err == nil || !strings.Contains(err.Error(), "not a secret that can be rotated (one of SECRET_KEY_BASE, OTP_SECRET, VAPID,") {
		t.Errorf("rotate VAPID_PRIVATE_KEY: %v", err)
	}
}

// Validate refuses a password of an embedded service while an external
// one is used, given or keyed, naming the attribute.
func TestOwnSecretsValidate(t *testing.T) {
	s := defaultSpec()
	s.Database = &Database{Host: "db.internal", User: "mastodon", Password: "p"}
	s.OwnSecrets = &OwnSecrets{From: "own_secrets.values_wo", Given: map[string]string{"SECRET_KEY_BASE": "short", EnvDBPassword: "p"},
		Keys: map[string]string{EnvDBPassword: "password", EnvRedisPassword: "redis-password"}}
	s.Defaults()
	var got []string
	for _, e := range s.Validate() {
		if strings.HasPrefix(e.Path, "own_secrets") {
			got = append(got, e.Path+": "+e.Message)
		}
	}
	want := []string{"own_secrets.values_wo: DB_PASS is the password of the embedded service, which is not used when database is given: give database.password instead",
		"own_secrets.secret_keys: DB_PASS is the password of the embedded service, which is not used when database is given: give database.password instead"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A Secret given for own_secrets holds each variable under the key
// secret_keys names, else under the variable's name (.env.production, the
// legacy chart); the password of an embedded service that is not used is
// not read under its name (a .env.production holds the external one's).
func TestOwnSecretKey(t *testing.T) {
	for _, tc := range []struct {
		env      string
		keys     map[string]string
		external bool
		key      string
		named    bool
		ok       bool
	}{
		{"SECRET_KEY_BASE", nil, false, "SECRET_KEY_BASE", false, true},
		{"SECRET_KEY_BASE", map[string]string{"SECRET_KEY_BASE": "secret-key-base"}, false, "secret-key-base", true, true},
		{EnvDBPassword, nil, true, EnvDBPassword, false, false},
		{EnvDBPassword, nil, false, EnvDBPassword, false, true},
		{EnvDBPassword, map[string]string{EnvDBPassword: "password"}, true, "password", true, true},
	} {
		key, named, ok := OwnSecretKey(tc.env, tc.keys, tc.external)
		if key != tc.key || named != tc.named || ok != tc.ok {
			t.Errorf("%s %v external %v: %q %v %v, want %q %v %v", tc.env, tc.keys, tc.external, key, named, ok, tc.key, tc.named, tc.ok)
		}
	}
}
