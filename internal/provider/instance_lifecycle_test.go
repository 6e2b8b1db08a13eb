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
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// lifecycleConfig is an instance (in a namespace that existed before it,
// with create_namespace left at its default) and an account of it.
func lifecycleConfig(ns, version, extra string) string {
	return fmt.Sprintf(`
resource "mastodon_instance" "test" {
  name                = "social"
  namespace           = %q
  local_domain        = "social.example"
  version             = %q
  deletion_protection = false
  timeouts = {
    create = "3m"
    update = "3m"
    delete = "3m"
  }
%s
}

resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.test.id
  username = "alice"
  email    = "alice@example.org"
}
`, ns, version, extra)
}

// snapshot is what must not change across a transition.
type snapshot struct {
	accountUIDs map[string]string // the account's objects
	foreignUID  string            // an object of someone else in the namespace
	volumes     map[string]string // data volumes: name -> UID
	secrets     map[string]string // generated secrets in state
}

func (c *testCluster) snapshot(ns string, s *terraform.State) (snapshot, error) {
	ctx := context.Background()
	snap := snapshot{accountUIDs: map[string]string{}, volumes: map[string]string{}, secrets: map[string]string{}}
	account := metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=account"}
	secrets, err := c.cs.CoreV1().Secrets(ns).List(ctx, account)
	if err != nil {
		return snap, err
	}
	for _, o := range secrets.Items {
		snap.accountUIDs["Secret/"+o.Name] = string(o.UID)
	}
	jobs, err := c.cs.BatchV1().Jobs(ns).List(ctx, account)
	if err != nil {
		return snap, err
	}
	for _, o := range jobs.Items {
		snap.accountUIDs["Job/"+o.Name] = string(o.UID)
	}
	foreign, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "someone-elses", metav1.GetOptions{})
	if err != nil {
		return snap, fmt.Errorf("the ConfigMap of someone else: %w", err)
	}
	snap.foreignUID = string(foreign.UID)
	pvcs, err := c.cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return snap, err
	}
	for _, o := range pvcs.Items {
		snap.volumes[o.Name] = string(o.UID)
	}
	attrs := s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes
	for _, g := range generatedSecrets {
		snap.secrets[g.attr] = attrs["secrets."+g.attr]
	}
	return snap, nil
}

// Every transition a user makes, applied one after the other with an
// account present throughout: each apply succeeds and is followed by an
// empty plan (the test framework checks it), nothing of the account or of
// anyone else changes, the generated secrets stay, no data volume goes,
// and the namespace, which existed before, is never claimed nor deleted.
func TestAccInstance_lifecycleMatrix(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-matrix")
	ctx := context.Background()
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses",
		Labels: map[string]string{"app.kubernetes.io/instance": "social"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const (
		ingress  = "ingress = { class_name = \"nginx\", wait_for_load_balancer = false }\n"
		redis    = "redis = { host = \"redis.internal\", password = \"redis-password\" }\n"
		database = "database = { host = \"db.internal\", user = \"mastodon\", password = \"db-password\", sslmode = \"disable\" }\n"
		bucket   = "media_bucket = { bucket = \"media\", endpoint = \"http://127.0.0.1:9\", access_key_id = \"key\", secret_access_key = \"secret\", path_style = true }\n"
	)
	transitions := []struct{ name, version, extra string }{
		{"embedded everything, in an existing namespace", "v4.6.5", ""},
		{"web replicas 1 -> 2", "v4.6.5", "web = { replicas = 2 }\n"},
		{"add an ingress", "v4.6.5", "web = { replicas = 2 }\n" + ingress},
		{"embedded -> external Redis", "v4.6.5", ingress + redis},
		{"embedded -> external database", "v4.6.5", ingress + redis + database},
		{"media volume -> bucket", "v4.6.5", ingress + redis + database + bucket},
		{"remove the ingress", "v4.6.5", redis + database + bucket},
		{"external -> embedded Redis", "v4.6.5", database + bucket},
		{"external -> embedded database", "v4.6.5", bucket},
		{"version upgrade", "v4.7.2", bucket},
	}
	var first snapshot
	var prev map[string]string
	var steps []resource.TestStep
	for i, tr := range transitions {
		steps = append(steps, resource.TestStep{
			Config: lifecycleConfig(ns, tr.version, tr.extra),
			Check: func(s *terraform.State) error {
				snap, err := c.snapshot(ns, s)
				if err != nil {
					return err
				}
				if i == 0 {
					first, prev = snap, snap.volumes
					if len(snap.accountUIDs) == 0 {
						return fmt.Errorf("%s: no account objects", tr.name)
					}
					return nil
				}
				if !maps.Equal(snap.accountUIDs, first.accountUIDs) {
					return fmt.Errorf("%s: the account's objects changed: %v, were %v", tr.name, snap.accountUIDs, first.accountUIDs)
				}
				if snap.foreignUID != first.foreignUID {
					return fmt.Errorf("%s: someone else's ConfigMap was replaced", tr.name)
				}
				if !maps.Equal(snap.secrets, first.secrets) {
					var changed []string
					for k, v := range first.secrets {
						if snap.secrets[k] != v {
							changed = append(changed, k)
						}
					}
					return fmt.Errorf("%s: generated secrets changed: %v", tr.name, changed)
				}
				for name, uid := range prev {
					if snap.volumes[name] != uid {
						return fmt.Errorf("%s: data volume %s was deleted", tr.name, name)
					}
				}
				prev = snap.volumes
				nsObj, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
				if err != nil {
					return err
				}
				if _, claimed := nsObj.Annotations[mastodon.AnnotationCreatedBy]; claimed || nsObj.Labels[mastodon.LabelManagedBy] != "" {
					return fmt.Errorf("%s: the namespace that existed before was claimed: %v %v", tr.name, nsObj.Labels, nsObj.Annotations)
				}
				return nil
			},
		})
	}
	// Each database was prepared once: the embedded one (whose volume was
	// kept, so coming back to it at the same version needs nothing) and
	// the external one.
	steps[len(steps)-1].Check = resource.ComposeAggregateTestCheckFunc(steps[len(steps)-1].Check, func(*terraform.State) error {
		jobs, err := c.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=db-prepare"})
		if err != nil {
			return err
		}
		if len(jobs.Items) != 2 {
			return fmt.Errorf("want two prepare Jobs (embedded, external), got %d", len(jobs.Items))
		}
		return nil
	})
	// A change of local_domain with the volumes kept (the default) is
	// refused at plan time: the replacement destroys nothing, and the same
	// configuration finds everything as it was.
	last := steps[len(steps)-1]
	steps = append(steps, resource.TestStep{
		Config:      strings.Replace(last.Config, `"social.example"`, `"other.example"`, 1),
		ExpectError: regexp.MustCompile(`(?s)Kept data belongs to another local_domain.*data-social-postgresql-0`),
	}, resource.TestStep{Config: last.Config, Check: last.Check})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps:                    steps,
		CheckDestroy: func(*terraform.State) error {
			// The namespace existed before: it stays, with what else lives in it.
			if _, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
				return fmt.Errorf("the namespace that existed before was deleted: %w", err)
			}
			if _, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "someone-elses", metav1.GetOptions{}); err != nil {
				return fmt.Errorf("someone else's ConfigMap was deleted: %w", err)
			}
			deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(deps.Items) > 0 {
				return fmt.Errorf("%d Deployments left after destroy", len(deps.Items))
			}
			return nil
		},
	})
}

// A namespace the instance created is deleted with it when nothing else
// lives in it, and kept when something does.
func TestAccInstance_namespaceCreatedAndDeleted(t *testing.T) {
	c := newTestCluster(t)
	ctx := context.Background()
	for _, other := range []bool{false, true} {
		ns := "acc-ownns-" + randomSuffix()
		t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		// With an account, whose finished Jobs go with it.
		config := instanceConfig(ns, `
embedded_database = { delete_volume_on_destroy = true }
embedded_redis    = { delete_volume_on_destroy = true }
media             = { delete_volume_on_destroy = true }
`) + `
resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.test.id
  username = "alice"
  email    = "alice@example.org"
}
`
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			Steps: []resource.TestStep{{
				Config: config,
				Check: func(*terraform.State) error {
					nsObj, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if nsObj.Annotations[mastodon.AnnotationCreatedBy] != "social" {
						return fmt.Errorf("the namespace the instance created is not marked: %v", nsObj.Annotations)
					}
					if other {
						_, err = c.cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "not-mastodons"}}, metav1.CreateOptions{})
					}
					return err
				},
			}},
			CheckDestroy: func(*terraform.State) error {
				nsObj, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
				gone := err != nil || nsObj.DeletionTimestamp != nil
				switch {
				case other && gone:
					return fmt.Errorf("the namespace was deleted although it held someone else's Secret")
				case !other && !gone:
					return fmt.Errorf("the empty namespace the instance created was kept")
				}
				if other {
					if _, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "not-mastodons", metav1.GetOptions{}); err != nil {
						return fmt.Errorf("someone else's Secret is gone: %w", err)
					}
					secrets, err := c.cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
					if err != nil {
						return err
					}
					var names []string
					for _, s := range secrets.Items {
						names = append(names, s.Name)
					}
					if slices.Contains(names, "social-secrets") {
						return fmt.Errorf("the generated secrets were kept although the data went: %v", names)
					}
				}
				return nil
			},
		})
	}
}

// An instance applied by a release before owner marks (its objects and
// its account's carry no owner label, its namespace no created-by mark)
// keeps working: the next apply adds the marks without re-creating
// anything or rolling a Pod, deletes nothing of the account's, and destroy
// keeps the namespace, which it cannot prove it created.
func TestAccInstance_objectsOfEarlierReleases(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-legacy-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(c.rest)
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]string{}
	strip := func() {
		for _, k := range kube.Kinds {
			if !k.Namespaced || k.Name == "Pod" {
				continue
			}
			list, err := dyn.Resource(k.GVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
			if apierrors.IsNotFound(err) {
				continue // an optional kind this cluster does not serve
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range list.Items {
				uids[k.Name+"/"+o.GetName()] = string(o.GetUID())
				patch := []byte(`{"metadata":{"labels":{"mastodon.tootform.dev/owner":null},"annotations":{"mastodon.tootform.dev/claim":null}}}`)
				if _, err := dyn.Resource(k.GVR).Namespace(ns).Patch(ctx, o.GetName(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		patch := []byte(`{"metadata":{"annotations":{"mastodon.tootform.dev/created-by":null}}}`)
		if _, err := c.cs.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	config := func(extra string) string {
		return instanceConfig(ns, extra) + `
resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.test.id
  username = "alice"
  email    = "alice@example.org"
}
`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config("")},
			{
				PreConfig: strip,
				Config:    config("  web = { replicas = 2 }"),
				Check: func(*terraform.State) error {
					for _, k := range kube.Kinds {
						if !k.Namespaced || k.Name == "Pod" {
							continue
						}
						list, err := dyn.Resource(k.GVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
						if apierrors.IsNotFound(err) {
							continue
						}
						if err != nil {
							return err
						}
						for _, o := range list.Items {
							key := k.Name + "/" + o.GetName()
							if was, ok := uids[key]; ok && was != string(o.GetUID()) {
								return fmt.Errorf("%s was re-created", key)
							}
							delete(uids, key)
							owner := o.GetLabels()[mastodon.LabelOwner]
							// Jobs are never applied again, and a StatefulSet's
							// claims carry its template's labels.
							made := k.Name == "Job" || (k.Name == "PersistentVolumeClaim" && strings.HasPrefix(o.GetName(), "data-"))
							if !made && o.GetLabels()[mastodon.LabelComponent] != mastodon.ComponentAccount && owner != mastodon.OwnerInstance {
								return fmt.Errorf("%s did not gain the owner mark: %v", key, o.GetLabels())
							}
							// The objects that carry the claim gain it again
							// (the instance's update writes it; the account,
							// not updated, gains it at its next apply).
							if claimed := key == "ConfigMap/social-env" || key == "Secret/social-secrets"; claimed && mastodon.Claim(o.GetAnnotations()) == "" {
								return fmt.Errorf("%s did not gain a claim", key)
							}
						}
					}
					if len(uids) > 0 {
						return fmt.Errorf("deleted by the apply: %v", slices.Sorted(maps.Keys(uids)))
					}
					// Only web changed (its replicas): no other component rolled.
					rs, err := c.cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=streaming"})
					if err != nil {
						return err
					}
					if len(rs.Items) != 1 {
						return fmt.Errorf("streaming rolled when it gained the marks: %d ReplicaSets", len(rs.Items))
					}
					return nil
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if _, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
				return fmt.Errorf("a namespace without the created-by mark was deleted: %w", err)
			}
			if _, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-account-alice", metav1.GetOptions{}); err == nil {
				return fmt.Errorf("the account's Secret of an earlier release was not deleted with the account")
			}
			return nil
		},
	})
}
