package mastodon

import (
	"regexp"
	"testing"
)

func TestSecretFormats(t *testing.T) {
	var s Secrets
	if err := s.Fill(true, true); err != nil {
		t.Fatal(err)
	}
	formats := map[string]struct {
		value string
		re    string
	}{
		"SECRET_KEY_BASE":         {s.SecretKeyBase, `^[0-9a-f]{128}$`},
		"VAPID_PRIVATE_KEY":       {s.VapidPrivateKey, `^[A-Za-z0-9_-]{43}=$`},
		"VAPID_PUBLIC_KEY":        {s.VapidPublicKey, `^B[A-Za-z0-9_-]{86}=$`},
		"deterministic key":       {s.EncryptionDeterministicKey, `^[A-Za-z0-9]{32}$`},
		"key derivation salt":     {s.EncryptionKeyDerivationSalt, `^[A-Za-z0-9]{32}$`},
		"primary key":             {s.EncryptionPrimaryKey, `^[A-Za-z0-9]{32}$`},
		"embedded DB password":    {s.DatabasePassword, `^[A-Za-z0-9]{32}$`},
		"embedded Redis password": {s.RedisPassword, `^[A-Za-z0-9]{32}$`},
	}
	for name, f := range formats {
		if !regexp.MustCompile(f.re).MatchString(f.value) {
			t.Errorf("%s = %q does not match %s", name, f.value, f.re)
		}
	}
	if s.OTPSecret != "" {
		t.Errorf("a fresh instance must not get an OTP_SECRET")
	}
	pub, err := VapidPublicKeyOf(s.VapidPrivateKey)
	if err != nil || pub != s.VapidPublicKey {
		t.Fatalf("public key %q does not belong to the private key (%v)", s.VapidPublicKey, err)
	}
	if s.EncryptionDeterministicKey == s.EncryptionPrimaryKey || s.EncryptionPrimaryKey == s.EncryptionKeyDerivationSalt {
		t.Fatal("the three Active Record keys must be independent")
	}
}

func TestFillKeepsExistingValues(t *testing.T) {
	s := Secrets{SecretKeyBase: "kept", VapidPrivateKey: "p", VapidPublicKey: "q", OTPSecret: "otp"}
	if err := s.Fill(false, false); err != nil {
		t.Fatal(err)
	}
	if s.SecretKeyBase != "kept" || s.VapidPrivateKey != "p" || s.VapidPublicKey != "q" || s.OTPSecret != "otp" {
		t.Fatalf("existing values changed: %+v", s)
	}
	if s.DatabasePassword != "" || s.RedisPassword != "" {
		t.Fatal("no embedded passwords without embedded database and Redis")
	}
	again := s
	if err := again.Fill(false, false); err != nil || again != s {
		t.Fatal("a second Fill changed values")
	}
}
