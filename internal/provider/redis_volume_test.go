package provider

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// An instance created by an earlier provider has a Redis StatefulSet
// without a volume (an emptyDir on /data). A StatefulSet's claim templates
// cannot change, so the apply replaces it; the database is not touched.
func TestAccInstance_redisGainsVolume(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-redisvol-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	ctx := context.Background()
	sts := c.cs.AppsV1().StatefulSets(ns)
	claims := c.cs.CoreV1().PersistentVolumeClaims(ns)
	var dbUID, dbClaimUID string
	databaseUIDs := func() (string, string, error) {
		db, err := sts.Get(ctx, "social-postgresql", metav1.GetOptions{})
		if err != nil {
			return "", "", err
		}
		claim, err := claims.Get(ctx, "data-social-postgresql-0", metav1.GetOptions{})
		if err != nil {
			return "", "", err
		}
		return string(db.UID), string(claim.UID), nil
	}
	// oldRedis makes the instance look as the earlier provider left it.
	oldRedis := func() error {
		redis, err := sts.Get(ctx, "social-redis", metav1.GetOptions{})
		if err != nil {
			return err
		}
		policy := metav1.DeletePropagationForeground
		if err := sts.Delete(ctx, "social-redis", metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
			return err
		}
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := sts.Get(ctx, "social-redis", metav1.GetOptions{})
			return err != nil, nil
		}); err != nil {
			return err
		}
		old := redis.DeepCopy()
		old.ObjectMeta = metav1.ObjectMeta{Name: redis.Name, Namespace: ns, Labels: redis.Labels}
		old.Spec.VolumeClaimTemplates = nil
		old.Spec.Template.Spec.Containers[0].Command = []string{"redis-server", "--requirepass", "$(REDIS_PASSWORD)", "--save", "", "--appendonly", "no"}
		old.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "run", MountPath: "/data"}}
		if _, err := sts.Create(ctx, old, metav1.CreateOptions{}); err != nil {
			return err
		}
		if err := claims.Delete(ctx, "data-social-redis-0", metav1.DeleteOptions{}); err != nil {
			return err
		}
		dbUID, dbClaimUID, err = databaseUIDs()
		return err
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: instanceConfig(ns, "")},
			{
				PreConfig: func() {
					if err := oldRedis(); err != nil {
						t.Fatal(err)
					}
				},
				// The refresh shows the old StatefulSet as drift; the apply
				// replaces it; the next plan is empty.
				Config: instanceConfig(ns, ""),
				Check: func(*terraform.State) error {
					redis, err := sts.Get(ctx, "social-redis", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if len(redis.Spec.VolumeClaimTemplates) != 1 || redis.Spec.VolumeClaimTemplates[0].Name != "data" {
						return fmt.Errorf("Redis has no volume: %v", redis.Spec.VolumeClaimTemplates)
					}
					if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
						_, err := claims.Get(ctx, "data-social-redis-0", metav1.GetOptions{})
						return err == nil, nil
					}); err != nil {
						return fmt.Errorf("no claim for the Redis volume: %w", err)
					}
					db, claim, err := databaseUIDs()
					if err != nil {
						return err
					}
					if db != dbUID || claim != dbClaimUID {
						return fmt.Errorf("the database's StatefulSet or volume was replaced")
					}
					return nil
				},
			},
		},
	})
}
