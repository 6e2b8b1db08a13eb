package mastodon

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// OwnSecrets are secrets the user gives instead of letting the instance
// generate them: those of an instance moved from elsewhere (a Helm chart,
// a .env.production), which its sessions, push subscriptions and encrypted
// columns depend on. Any subset may be given; the rest is generated.
type OwnSecrets struct {
	// Given are the values given, by environment variable (an element of
	// GeneratedEnv, or VAPID_PUBLIC_KEY), exactly as given.
	Given map[string]string
	// From is the attribute that gave the values (for errors), and Keys
	// the keys of a referenced Secret, by variable (checked by name).
	From string
	Keys map[string]string
}

// EnvVapidPublicKey is the VAPID public key: given with the private key or
// derived from it.
const EnvVapidPublicKey = "VAPID_PUBLIC_KEY"

// OwnSecretEnv are the variables a user may give.
var OwnSecretEnv = append(slices.Clone(GeneratedEnv), EnvVapidPublicKey)

// OwnSecretKey is the key of a Secret given for own_secrets that holds env:
// the key keys names, else env itself, as in a .env.production and the
// legacy chart's Secret; none (ok false) for the password of an embedded
// service that is not used (external), which a .env.production holds for
// the external one under the same name.
func OwnSecretKey(env string, keys map[string]string, external bool) (key string, named, ok bool) {
	if key, named := keys[env]; named {
		return key, true, true
	}
	return env, false, !external
}

// SecretRotation is a secret as a rotation names it, with what a new value
// breaks. The VAPID pair is one: its keys only work together.
type SecretRotation struct {
	Name   string
	Env    []string
	Breaks string
}

// SecretRotations are the secrets that rotate_secrets may name. What each
// rotation breaks is read from Mastodon's source (see CONTRACTS.md).
var SecretRotations = []SecretRotation{
	{"SECRET_KEY_BASE", []string{"SECRET_KEY_BASE"},
		"every session ends and every signed or encrypted cookie is rejected (Rails derives their keys from it), so everyone signs in again"},
	{"OTP_SECRET", []string{"OTP_SECRET"},
		"two-factor secrets not yet moved to Active Record encryption (encrypted_otp_secret, from before 4.3) become unreadable"},
	{"VAPID", []string{"VAPID_PRIVATE_KEY", EnvVapidPublicKey},
		"every Web Push subscription stops receiving notifications until its browser or app subscribes again"},
	{"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", []string{"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY"},
		"columns encrypted deterministically become unreadable; Mastodon 4.6 has none (app/models), a later version may"},
	{"ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", []string{"ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT"},
		"every encrypted column becomes unreadable, as both keys are derived with it: two-factor secrets (users.otp_secret) and accounts' private keys (keypairs.private_key, from 4.6)"},
	{"ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", []string{"ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"},
		"two-factor secrets (users.otp_secret) and accounts' private keys (keypairs.private_key, from 4.6) become unreadable: Rails reads old values only with the old key kept as a previous key, which the provider does not configure"},
}

// setOnceSecrets are secrets a given value may set on a new instance but
// never change: the provider cannot change them where they are used.
var setOnceSecrets = []SecretRotation{
	{EnvDBPassword, []string{EnvDBPassword},
		"the embedded PostgreSQL keeps the password its data was initialised with (POSTGRES_PASSWORD is read once), so Mastodon could no longer connect"},
	{EnvRedisPassword, []string{EnvRedisPassword},
		"the embedded Redis would keep its old password until its Pod restarts, while Mastodon's Pods restart with the new one, so nothing would reach Redis"},
}

// MinKeyBase is the shortest SECRET_KEY_BASE accepted. Rails asks only for
// a non-empty string (it derives its keys with PBKDF2); Mastodon generates
// 128 hexadecimal characters (lib/tasks/mastodon.rake). Below 32 characters
// a key base is short enough to guess, so it is refused as a mistake.
const MinKeyBase = 32

// ActiveRecordTestSuffix ends the test environment's Active Record keys,
// which Mastodon refuses to boot with in production
// (config/initializers/active_record_encryption.rb).
const ActiveRecordTestSuffix = "DO_NOT_USE_IN_PRODUCTION"

// CheckOwnSecret says what is wrong with a value given for env, nil when
// Mastodon would take it. The VAPID public key is checked against the
// private one by CheckVapidPair.
func CheckOwnSecret(env, value string) error {
	if value == "" {
		return fmt.Errorf("%s is empty", env)
	}
	switch env {
	case "SECRET_KEY_BASE":
		if len(value) < MinKeyBase {
			return fmt.Errorf("SECRET_KEY_BASE has %d characters, fewer than %d (Mastodon generates 128 hexadecimal characters: `bin/rails secret`)", len(value), MinKeyBase)
		}
	case "VAPID_PRIVATE_KEY":
		if _, err := VapidPublicKeyOf(value); err != nil {
			return fmt.Errorf("%w (a VAPID private key is the 32-byte P-256 scalar in URL-safe base64, as `rails mastodon:webpush:generate_vapid_key` prints it)", err)
		}
	case EnvVapidPublicKey:
		if b, err := decodeBase64URL(value); err != nil || len(b) != 65 || b[0] != 4 {
			return fmt.Errorf("VAPID_PUBLIC_KEY is not an uncompressed P-256 point (65 bytes) in URL-safe base64")
		}
	case "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY":
		if strings.HasSuffix(value, ActiveRecordTestSuffix) {
			return fmt.Errorf("%s is the test environment's (it ends with %s), which Mastodon refuses in production", env, ActiveRecordTestSuffix)
		}
	}
	return nil
}

// CheckVapidPair says whether public is the public key of private (the
// same bytes, whatever the padding).
func CheckVapidPair(private, public string) error {
	derived, err := VapidPublicKeyOf(private)
	if err != nil {
		return err
	}
	want, _ := decodeBase64URL(derived)
	got, err := decodeBase64URL(public)
	if err != nil || !bytes.Equal(want, got) {
		return fmt.Errorf("VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY")
	}
	return nil
}

func decodeBase64URL(s string) ([]byte, error) {
	if b, err := base64.URLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// CheckOwnSecrets checks given values: each known and well formed, a
// VAPID public key only with its private key and matching it. Each
// problem is one error, naming the variable.
func CheckOwnSecrets(given map[string]string) []error {
	var errs []error
	for _, env := range slices.Sorted(maps.Keys(given)) {
		if err := checkOwnName(env); err != nil {
			errs = append(errs, err)
		} else if err := CheckOwnSecret(env, given[env]); err != nil {
			errs = append(errs, err)
		}
	}
	private, hasPrivate := given["VAPID_PRIVATE_KEY"]
	public, hasPublic := given[EnvVapidPublicKey]
	switch {
	case hasPublic && !hasPrivate:
		errs = append(errs, errors.New("VAPID_PUBLIC_KEY is given without VAPID_PRIVATE_KEY: give both, or the private key alone (its public key is derived)"))
	case hasPublic && CheckOwnSecret("VAPID_PRIVATE_KEY", private) == nil && CheckOwnSecret(EnvVapidPublicKey, public) == nil:
		if err := CheckVapidPair(private, public); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// CheckOwnSecretNames checks the variables a referenced Secret's keys are
// named for (own_secrets.secret_keys).
func CheckOwnSecretNames(names []string) []error {
	var errs []error
	for _, env := range names {
		if err := checkOwnName(env); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func checkOwnName(env string) error {
	if !slices.Contains(OwnSecretEnv, env) {
		return fmt.Errorf("%q is not a secret of the instance (one of %s)", env, strings.Join(OwnSecretEnv, ", "))
	}
	return nil
}

// CheckRotation checks a name of own_secrets.rotate.
func CheckRotation(name string) error {
	var names []string
	for _, r := range SecretRotations {
		names = append(names, r.Name)
	}
	if !slices.Contains(names, name) {
		return fmt.Errorf("%q is not a secret that can be rotated (one of %s)", name, strings.Join(names, ", "))
	}
	return nil
}

// TakeOwnSecrets puts the given values into the instance's secrets (cur):
// a secret the instance does not hold yet is taken, one equal to the
// instance's is no change, and one that differs is refused unless rotate
// names it. It returns the names of the secrets that change, and one
// message per refusal.
func TakeOwnSecrets(cur *Secrets, given map[string]string, rotate []string) (changed, refused []string) {
	for _, r := range append(slices.Clone(SecretRotations), setOnceSecrets...) {
		values := map[string]string{}
		for _, env := range r.Env {
			if v, ok := given[env]; ok {
				values[env] = v
			}
		}
		if len(values) == 0 {
			continue
		}
		if r.Name == "VAPID" && values[EnvVapidPublicKey] == "" {
			values[EnvVapidPublicKey], _ = VapidPublicKeyOf(values["VAPID_PRIVATE_KEY"])
		}
		held, same := false, true
		for env, v := range values {
			held = held || *cur.Field(env) != ""
			same = same && sameSecret(env, *cur.Field(env), v)
		}
		switch {
		case held && same:
			continue
		case held && slices.ContainsFunc(setOnceSecrets, func(f SecretRotation) bool { return f.Name == r.Name }):
			refused = append(refused, fmt.Sprintf("%s differs from the instance's, and it cannot be rotated: %s. Give the instance's "+
				"value (in its secrets), or leave it out of own_secrets.", r.Name, r.Breaks))
			continue
		case held && !slices.Contains(rotate, r.Name):
			refused = append(refused, fmt.Sprintf("%s differs from the instance's, and changing it breaks things: %s. "+
				"If that is what you want, add %q to own_secrets.rotate.", r.Name, r.Breaks, r.Name))
			continue
		}
		for env, v := range values {
			*cur.Field(env) = v
		}
		changed = append(changed, r.Name)
	}
	return changed, refused
}

// sameSecret compares a value with the instance's: VAPID keys by their
// bytes (padding aside), others as strings.
func sameSecret(env, a, b string) bool {
	if a == b {
		return true
	}
	if env != "VAPID_PRIVATE_KEY" && env != EnvVapidPublicKey {
		return false
	}
	x, errX := decodeBase64URL(a)
	y, errY := decodeBase64URL(b)
	return errX == nil && errY == nil && bytes.Equal(x, y)
}

// ownSecretsFeature checks what of the secrets a user gives depends on
// other attributes (each value's form is CheckOwnSecrets', run by the
// provider's schema): a password of an embedded service that is not used.
type ownSecretsFeature struct{ noFeature }

func (ownSecretsFeature) validate(s *Spec, e *fieldErrors) {
	o := s.OwnSecrets
	if o == nil {
		return
	}
	for _, x := range []struct {
		env, block string
		external   bool
	}{{EnvDBPassword, "database", s.Database != nil}, {EnvRedisPassword, "redis", s.Redis != nil}} {
		_, given := o.Given[x.env]
		_, keyed := o.Keys[x.env]
		for _, at := range []struct {
			set  bool
			path string
		}{{given, o.From}, {keyed, "own_secrets.secret_keys"}} {
			if at.set && x.external {
				e.add(at.path, "%s is the password of the embedded service, which is not used when %s is given: give %s.password instead", x.env, x.block, x.block)
				e.related(x.block)
			}
		}
	}
}
