package provider

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// hclMap is a map of strings in HCL, its keys sorted.
func hclMap(m map[string]string) string {
	var b strings.Builder
	b.WriteString("{\n")
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "      %s = %q\n", k, m[k])
	}
	return b.String() + "    }"
}

// checkOwnSecrets checks that the instance's Secret, which its Pods read,
// holds want byte for byte, and that `secrets` and vapid_public_key show
// the same values.
func (c *testCluster) checkOwnSecrets(ns string, want map[string]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		sec, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), "social-secrets", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for k, v := range want {
			if string(sec.Data[k]) != v {
				return fmt.Errorf("Secret social-secrets: %s = %q, want %q", k, sec.Data[k], v)
			}
		}
		attrs := s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes
		for _, g := range generatedSecrets {
			if v, ok := want[g.env]; ok && attrs["secrets."+g.attr] != v {
				return fmt.Errorf("secrets.%s = %q, want %q", g.attr, attrs["secrets."+g.attr], v)
			}
		}
		if v, ok := want[mastodon.EnvVapidPublicKey]; ok && attrs["vapid_public_key"] != v {
			return fmt.Errorf("vapid_public_key = %q, want %q", attrs["vapid_public_key"], v)
		}
		return nil
	}
}

// noInstanceSecret checks that nothing was created: the instance's Secret
// does not exist.
func (c *testCluster) noInstanceSecret(t *testing.T, ns string) func() {
	return func() {
		_, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), "social-secrets", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Fatalf("a configuration refused at plan time created Secret %s/social-secrets (%v)", ns, err)
		}
	}
}

func refusedAt(want string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(want), " ", `\s+`))
}

func mustGenerate(t *testing.T) (keyBase, private, public string) {
	t.Helper()
	keyBase, err := mastodon.GenerateSecretKeyBase()
	if err == nil {
		private, public, err = mastodon.GenerateVapidKeys()
	}
	if err != nil {
		t.Fatal(err)
	}
	return keyBase, private, public
}

// Secrets given write-only: bad formats are refused at plan time, naming
// the attribute, and create nothing; given ones are the instance's, byte
// for byte (the VAPID public key derived); a new value under a new version
// is refused, changing nothing, until rotated; removing the input keeps
// them.
func TestAccInstance_ownSecretsWriteOnly(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-own-wo-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	keyBase, private, public := mustGenerate(t)
	newKeyBase, _, otherPublic := mustGenerate(t)
	given := map[string]string{"SECRET_KEY_BASE": keyBase, "VAPID_PRIVATE_KEY": private, "OTP_SECRET": "otp-secret-of-a-4-2-instance",
		"ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY": "primary-key-of-the-old-instance"}
	with := func(env, value string) map[string]string {
		m := maps.Clone(given)
		m[env] = value
		return m
	}
	config := func(values map[string]string, version int, rotate string) string {
		if values == nil {
			return instanceConfig(ns, "")
		}
		return instanceConfig(ns, fmt.Sprintf("  own_secrets = {\n    values_wo = %s\n    values_wo_version = %d\n    rotate = [%s]\n  }",
			hclMap(values), version, rotate))
	}
	derived := with(mastodon.EnvVapidPublicKey, public)
	rotated := maps.Clone(derived)
	rotated["SECRET_KEY_BASE"] = newKeyBase
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config(with("SECRET_KEY_BASE", "0123456789abcdef"), 1, ""), PlanOnly: true,
				ExpectError: refusedAt(`own_secrets.values_wo: SECRET_KEY_BASE has 16 characters, fewer than 32`)},
			{Config: config(with(mastodon.EnvVapidPublicKey, otherPublic), 1, ""), PlanOnly: true,
				ExpectError: refusedAt(`own_secrets.values_wo: VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY`)},
			{Config: config(with("VAPID_PRIVATE_KEY", "not-a-key"), 1, ""), PlanOnly: true,
				ExpectError: refusedAt(`own_secrets.values_wo: VAPID private key is not URL-safe base64`)},
			{
				PreConfig: func() {
					if _, err := c.cs.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
						t.Fatalf("a configuration refused at plan time created namespace %s (%v)", ns, err)
					}
				},
				Config: config(given, 1, ""),
				Check:  c.checkOwnSecrets(ns, derived),
			},
			{Config: config(given, 1, ""), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{ResourceName: "mastodon_instance.test", ImportState: true, ImportStateId: ns + "/social", ImportStateVerify: true},
			{Config: config(with("SECRET_KEY_BASE", newKeyBase), 2, ""), PlanOnly: true,
				ExpectError: refusedAt(`own_secrets.values_wo: SECRET_KEY_BASE differs from the instance's, and changing it breaks things: every session ends`)},
			// Nothing changed: the configuration of before applies nothing.
			{Config: config(given, 1, ""), Check: c.checkOwnSecrets(ns, derived),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{Config: config(with("SECRET_KEY_BASE", newKeyBase), 2, `"SECRET_KEY_BASE"`), Check: c.checkOwnSecrets(ns, rotated)},
			{Config: config(nil, 0, ""), Check: c.checkOwnSecrets(ns, rotated)},
			{Config: config(nil, 0, ""), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

// Secrets taken from an existing Secret, under the keys of the official
// chart's: a bad one is refused at plan time naming the attribute; the
// instance's Secret holds them byte for byte; a value changed in the
// referenced Secret is refused at plan time until rotated, and so is a
// referenced Secret deleted; removing the reference keeps them.
func TestAccInstance_ownSecretsFromSecret(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-own-ref")
	keyBase, private, public := mustGenerate(t)
	newKeyBase, _, _ := mustGenerate(t)
	chart := map[string]string{"secret-key-base": keyBase, "vapid-private-key": private, "vapid-public-key": public,
		"ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT": "salt-of-the-old-instance"}
	put := func(name string, data map[string]string) func() {
		return func() {
			sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: data}
			_, err := c.cs.CoreV1().Secrets(ns).Create(context.Background(), sec, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				_, err = c.cs.CoreV1().Secrets(ns).Update(context.Background(), sec, metav1.UpdateOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	config := func(secret, rotate string) string {
		if secret == "" {
			return instanceConfig(ns, "")
		}
		return instanceConfig(ns, fmt.Sprintf(`  own_secrets = {
    secret_name = %q
    secret_keys = { SECRET_KEY_BASE = "secret-key-base", VAPID_PRIVATE_KEY = "vapid-private-key", VAPID_PUBLIC_KEY = "vapid-public-key" }
    rotate      = [%s]
  }`, secret, rotate))
	}
	want := map[string]string{"SECRET_KEY_BASE": keyBase, "VAPID_PRIVATE_KEY": private, mastodon.EnvVapidPublicKey: public,
		"ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT": "salt-of-the-old-instance"}
	rotated := maps.Clone(want)
	rotated["SECRET_KEY_BASE"] = newKeyBase
	changed := maps.Clone(chart)
	changed["secret-key-base"] = newKeyBase
	bad := maps.Clone(chart)
	bad["vapid-private-key"] = "AAAA"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{PreConfig: put("bad-secrets", bad), Config: config("bad-secrets", ""), PlanOnly: true,
				ExpectError: refusedAt(`own_secrets.secret_name: VAPID private key is not a P-256 scalar`)},
			{PreConfig: func() { c.noInstanceSecret(t, ns)(); put("chart-secrets", chart)() }, Config: config("chart-secrets", ""), Check: c.checkOwnSecrets(ns, want)},
			{Config: config("chart-secrets", ""), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{ResourceName: "mastodon_instance.test", ImportState: true, ImportStateId: ns + "/social", ImportStateVerify: true},
			{PreConfig: put("chart-secrets", changed), Config: config("chart-secrets", ""), PlanOnly: true,
				ExpectError: refusedAt(`own_secrets.secret_name: SECRET_KEY_BASE differs from the instance's`)},
			// Nothing changed: with the old value back, nothing to apply.
			{PreConfig: put("chart-secrets", chart), Config: config("chart-secrets", ""), Check: c.checkOwnSecrets(ns, want),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{PreConfig: put("chart-secrets", changed), Config: config("chart-secrets", `"SECRET_KEY_BASE"`), Check: c.checkOwnSecrets(ns, rotated)},
			// The referenced Secret deleted while referenced: refused at plan.
			{
				PreConfig: func() {
					_ = c.cs.CoreV1().Secrets(ns).Delete(context.Background(), "chart-secrets", metav1.DeleteOptions{})
				},
				Config: config("chart-secrets", `"SECRET_KEY_BASE"`), PlanOnly: true,
				ExpectError: refusedAt("own_secrets.secret_name: Secret " + ns + "/chart-secrets does not exist"),
			},
			{Config: config("", ""), Check: c.checkOwnSecrets(ns, rotated)},
			{Config: config("", ""), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}
