package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// claims reads the instance's claims: their UIDs, classes and phases.
func (c *testCluster) claims(ns string) (map[string]corev1.PersistentVolumeClaim, error) {
	list, err := c.cs.CoreV1().PersistentVolumeClaims(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]corev1.PersistentVolumeClaim{}
	for _, p := range list.Items {
		out[p.Name] = p
	}
	return out, nil
}

// checkClaimsBound checks (waiting a little: nothing waits for a volume
// no Pod uses yet) that the claims are bound and ask for class, and that
// none is one of the claims in not (by UID).
func (c *testCluster) checkClaimsBound(ns, class string, not map[types.UID]bool, names ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		deadline := time.Now().Add(30 * time.Second)
		for {
			claims, err := c.claims(ns)
			if err != nil {
				return err
			}
			var problem error
			for _, n := range names {
				p, ok := claims[n]
				switch {
				case !ok:
					problem = fmt.Errorf("claim %s is missing", n)
				case not[p.UID]:
					problem = fmt.Errorf("claim %s is the one that never bound (UID %s): it was not replaced", n, p.UID)
				case p.Spec.StorageClassName == nil || *p.Spec.StorageClassName != class:
					problem = fmt.Errorf("claim %s asks for class %v, want %s", n, p.Spec.StorageClassName, class)
				case p.Status.Phase != corev1.ClaimBound:
					problem = fmt.Errorf("claim %s is %s", n, p.Status.Phase)
				}
			}
			if problem == nil || time.Now().After(deadline) {
				return problem
			}
			time.Sleep(time.Second)
		}
	}
}

// A storage class that does not exist fails the create at once, before
// anything is created, naming each claim, its class and the classes the
// cluster has; once the configuration names a class that exists, one
// apply makes the instance.
func TestAccInstance_missingStorageClass(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-noclass")
	classes := func(class string) string {
		return fmt.Sprintf("  embedded_database = { storage_class = %q }\n  media = { storage_class = %q }\n", class, class)
	}
	var started time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { started = time.Now() },
				Config:    instanceConfig(ns, classes("no-such-class")),
				ExpectError: regexp.MustCompile(`(?s)embedded_database.storage_class: claim data-social-postgresql-0 would ask.*"no-such-class",.*does not exist in the cluster` +
					`.*standard \(default\).*media.storage_class: claim social-media.*Nothing was created`),
			},
			{
				PreConfig: func() {
					if d := time.Since(started); d > time.Minute {
						t.Errorf("the missing class was reported after %s, not at once (create timeout 3m)", d)
					}
					ctx := context.Background()
					secrets, err1 := c.cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=mastodon"})
					sets, err2 := c.cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
					claims, err3 := c.claims(ns)
					if err1 != nil || err2 != nil || err3 != nil {
						t.Fatal(err1, err2, err3)
					}
					if len(secrets.Items)+len(sets.Items)+len(claims) > 0 {
						t.Errorf("the refused create left %d Secrets, %d StatefulSets, %d claims", len(secrets.Items), len(sets.Items), len(claims))
					}
				},
				Config: instanceConfig(ns, classes("standard")),
				Check:  c.checkClaimsBound(ns, "standard", nil, "data-social-postgresql-0", "social-media"),
			},
		},
	})
}

// A class that exists but gives no volume (its provisioner runs nowhere):
// the create fails at its timeout naming each claim, its class, that the
// class exists, and the fix. Fixing the class, one apply replaces the
// tainted instance: its destroy deletes the claims that never bound
// (delete_volume_on_destroy is false), the create makes them anew and
// reuses the generated secrets. A claim added by an update (the backup
// volume) with such a class is replaced when the class changes, though the
// API server never lets a claim's class change.
func TestAccInstance_unboundClaimReplaced(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-unbound")
	nobody := "nobody-" + randomSuffix()
	ctx := context.Background()
	if _, err := c.cs.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: nobody},
		Provisioner: "example.invalid/nobody"}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.cs.StorageV1().StorageClasses().Delete(context.Background(), nobody, metav1.DeleteOptions{})
	})
	config := func(class, extra string) string {
		return instanceConfig(ns, fmt.Sprintf("  embedded_database = { storage_class = %q }\n  media = { storage_class = %q }\n%s", class, class, extra))
	}
	var keyBase string
	stale := map[types.UID]bool{}
	remember := func() {
		sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the failed create left no Secret: %v", err)
		}
		keyBase = string(sec.Data["SECRET_KEY_BASE"])
		claims, err := c.claims(ns)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range claims {
			if p.Status.Phase != corev1.ClaimBound {
				stale[p.UID] = true
			}
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: regexp.MustCompile(`create = "3m"`).ReplaceAllString(config(nobody, ""), `create = "20s"`),
				ExpectError: regexp.MustCompile(`(?s)claim data-social-postgresql-0: Pending, asking for storage class "` + nobody + `", which exists` +
					`.*embedded_database.storage_class: claim data-social-postgresql-0 never bound.*media.storage_class: claim social-media never bound` +
					`.*the claim is replaced`),
			},
			{
				PreConfig: remember,
				Config:    config("standard", ""),
				Check: resource.ComposeTestCheckFunc(
					c.checkClaimsBound(ns, "standard", stale, "data-social-postgresql-0", "social-media"),
					func(*terraform.State) error {
						if len(stale) != 2 {
							return fmt.Errorf("the failed create left %d unbound claims, want 2", len(stale))
						}
						sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
						if err != nil {
							return err
						}
						if keyBase == "" || string(sec.Data["SECRET_KEY_BASE"]) != keyBase {
							return fmt.Errorf("the generated secrets changed when the tainted instance was replaced")
						}
						return nil
					}),
			},
			{
				Config: config("standard", fmt.Sprintf("  backup = { storage_class = %q }\n", nobody)),
				Check: func(*terraform.State) error {
					claims, err := c.claims(ns)
					if err != nil {
						return err
					}
					p, ok := claims["social-db-backup"]
					if !ok || p.Status.Phase == corev1.ClaimBound {
						return fmt.Errorf("the backup claim: %v", p.Status.Phase)
					}
					stale[p.UID] = true
					return nil
				},
			},
			{
				Config: config("standard", "  backup = { storage_class = \"standard\" }\n"),
				Check:  c.checkClaimsBound(ns, "standard", stale, "social-db-backup", "data-social-postgresql-0", "social-media"),
			},
		},
	})
}

// A destroy deletes the claims that never bound (they hold nothing),
// though delete_volume_on_destroy is false, and keeps the bound ones and
// the generated secrets.
func TestAccInstance_destroyDeletesNeverBoundClaims(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-unbound-destroy")
	nobody := "nobody-" + randomSuffix()
	ctx := context.Background()
	if _, err := c.cs.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: nobody},
		Provisioner: "example.invalid/nobody"}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.cs.StorageV1().StorageClasses().Delete(context.Background(), nobody, metav1.DeleteOptions{})
	})
	config := regexp.MustCompile(`create = "3m"`).ReplaceAllString(instanceConfig(ns, fmt.Sprintf("  media = { storage_class = %q }\n", nobody)), `create = "20s"`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:      config,
				ExpectError: regexp.MustCompile(`(?s)media.storage_class: claim social-media never bound`),
			},
			{
				Config:  config,
				Destroy: true,
				Check: func(*terraform.State) error {
					claims, err := c.claims(ns)
					if err != nil {
						return err
					}
					if _, ok := claims["social-media"]; ok {
						return fmt.Errorf("the claim that never bound was kept")
					}
					for _, kept := range []string{"data-social-postgresql-0", "data-social-redis-0"} {
						if p, ok := claims[kept]; !ok || p.Status.Phase != corev1.ClaimBound {
							return fmt.Errorf("bound claim %s was not kept: %v", kept, claims)
						}
					}
					if _, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{}); err != nil {
						return fmt.Errorf("the generated secrets were not kept: %w", err)
					}
					return nil
				},
			},
		},
	})
}
