package mastodon

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
)

// Secrets are the values an instance generates once and keeps forever:
// changing any of them after the first start breaks sessions, push
// subscriptions or encrypted columns.
type Secrets struct {
	SecretKeyBase               string
	VapidPrivateKey             string
	VapidPublicKey              string
	EncryptionDeterministicKey  string
	EncryptionKeyDerivationSalt string
	EncryptionPrimaryKey        string
	// OTPSecret is only kept for instances that already have one (created
	// before 4.3); fresh instances do not get one.
	OTPSecret string
	// Passwords of the embedded PostgreSQL and Redis.
	DatabasePassword string
	RedisPassword    string
}

// Environment variables of the instance's Secret that the provider reads back.
const (
	EnvDBPassword    = "DB_PASS"
	EnvRedisPassword = "REDIS_PASSWORD"
)

// GeneratedEnv are the environment variables of the generated secrets, in
// the order they are shown. The VAPID public key is apart: it is derived
// from the private one.
var GeneratedEnv = []string{
	"SECRET_KEY_BASE", "VAPID_PRIVATE_KEY",
	"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY",
	"OTP_SECRET", EnvDBPassword, EnvRedisPassword,
}

// Field is the value that the environment variable env (one of
// GeneratedEnv, or VAPID_PUBLIC_KEY) holds, or nil.
func (s *Secrets) Field(env string) *string {
	switch env {
	case "SECRET_KEY_BASE":
		return &s.SecretKeyBase
	case "VAPID_PRIVATE_KEY":
		return &s.VapidPrivateKey
	case "VAPID_PUBLIC_KEY":
		return &s.VapidPublicKey
	case "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY":
		return &s.EncryptionDeterministicKey
	case "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT":
		return &s.EncryptionKeyDerivationSalt
	case "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY":
		return &s.EncryptionPrimaryKey
	case "OTP_SECRET":
		return &s.OTPSecret
	case EnvDBPassword:
		return &s.DatabasePassword
	case EnvRedisPassword:
		return &s.RedisPassword
	}
	return nil
}

// SecretsFromEnv reads the generated secrets back from the instance's
// Secret data (its environment variables). The database and Redis
// passwords there are the embedded services' only while they are used.
func SecretsFromEnv(data map[string]string, embeddedDatabase, embeddedRedis bool) Secrets {
	var s Secrets
	for _, env := range append(GeneratedEnv, "VAPID_PUBLIC_KEY") {
		if (env == EnvDBPassword && !embeddedDatabase) || (env == EnvRedisPassword && !embeddedRedis) {
			continue
		}
		*s.Field(env) = data[env]
	}
	return s
}

// GeneratePassword returns a new password for an embedded service or an
// account: 32 alphanumeric characters.
func GeneratePassword() (string, error) { return RandomAlphanumeric(32) }

const alphanumeric = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// RandomAlphanumeric returns n random characters from [a-zA-Z0-9].
func RandomAlphanumeric(n int) (string, error) {
	out := make([]byte, n)
	max := big.NewInt(int64(len(alphanumeric)))
	for i := range out {
		j, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		out[i] = alphanumeric[j.Int64()]
	}
	return string(out), nil
}

// GenerateSecretKeyBase returns 128 lowercase hex characters (64 random bytes).
func GenerateSecretKeyBase() (string, error) {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// GenerateVapidKeys returns a P-256 key pair in the encoding Mastodon reads:
// the private scalar (32 bytes) and the uncompressed public point (65 bytes),
// both URL-safe base64 with padding.
func GenerateVapidKeys() (private, public string, err error) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	priv := key.Bytes() // already left-padded to 32 bytes
	pub := key.PublicKey().Bytes()
	return base64.URLEncoding.EncodeToString(priv), base64.URLEncoding.EncodeToString(pub), nil
}

// VapidPublicKeyOf derives the public key from a private one, so a pair that
// does not match is detected.
func VapidPublicKeyOf(private string) (string, error) {
	raw, err := base64.URLEncoding.DecodeString(private)
	if err != nil {
		if raw, err = base64.RawURLEncoding.DecodeString(private); err != nil {
			return "", fmt.Errorf("VAPID private key is not URL-safe base64: %w", err)
		}
	}
	key, err := ecdh.P256().NewPrivateKey(raw)
	if err != nil {
		return "", fmt.Errorf("VAPID private key is not a P-256 scalar: %w", err)
	}
	return base64.URLEncoding.EncodeToString(key.PublicKey().Bytes()), nil
}

// Fill generates every secret that is still empty and leaves the others
// alone, so values once generated never change.
func (s *Secrets) Fill(embeddedDatabase, embeddedRedis bool) error {
	var err error
	gen := func(dst *string, f func() (string, error)) {
		if err == nil && *dst == "" {
			*dst, err = f()
		}
	}
	alnum32 := GeneratePassword
	gen(&s.SecretKeyBase, GenerateSecretKeyBase)
	if err == nil && (s.VapidPrivateKey == "" || s.VapidPublicKey == "") {
		s.VapidPrivateKey, s.VapidPublicKey, err = GenerateVapidKeys()
	}
	gen(&s.EncryptionDeterministicKey, alnum32)
	gen(&s.EncryptionKeyDerivationSalt, alnum32)
	gen(&s.EncryptionPrimaryKey, alnum32)
	if embeddedDatabase {
		gen(&s.DatabasePassword, alnum32)
	}
	if embeddedRedis {
		gen(&s.RedisPassword, alnum32)
	}
	return err
}
