package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// credentials of the test cluster, for configurations that do not use the kubeconfig.
type clusterCredentials struct {
	host, ca, cert, key string
}

func (c *testCluster) credentials(t *testing.T) clusterCredentials {
	t.Helper()
	read := func(data []byte, file string) string {
		if len(data) > 0 || file == "" {
			return string(data)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return clusterCredentials{
		host: c.rest.Host,
		ca:   read(c.rest.CAData, c.rest.CAFile),
		cert: read(c.rest.CertData, c.rest.CertFile),
		key:  read(c.rest.KeyData, c.rest.KeyFile),
	}
}

// namespaceToken returns a ServiceAccount token that may list ConfigMaps and
// Deployments in namespace ns and nowhere else.
func (c *testCluster) namespaceToken(t *testing.T, ns string) string {
	return c.roleBoundToken(t, ns, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "reader"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch"}},
		},
	})
}

// roleBoundToken creates role in namespace ns, a ServiceAccount of the same
// name bound to it, and returns the ServiceAccount's token.
func (c *testCluster) roleBoundToken(t *testing.T, ns string, role *rbacv1.Role) string {
	t.Helper()
	ctx := context.Background()
	name := role.Name
	if _, err := c.cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}},
	}
	if _, err := c.cs.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := c.cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Status.Token
}

const dataSourceInNamespace = `
data "mastodon_instances" "x" {
  namespace = %q
}
`

func checkOneInstance(ns string) resource.TestCheckFunc {
	return resource.ComposeAggregateTestCheckFunc(
		resource.TestCheckResourceAttr("data.mastodon_instances.x", "instances.#", "1"),
		resource.TestCheckResourceAttr("data.mastodon_instances.x", "instances.0.id", ns+"/social"),
		resource.TestCheckResourceAttr("data.mastodon_instances.x", "instances.0.name", "social"),
		resource.TestCheckResourceAttr("data.mastodon_instances.x", "instances.0.namespace", ns),
		resource.TestCheckResourceAttr("data.mastodon_instances.x", "instances.0.local_domain", "social.example"),
		resource.TestCheckResourceAttr("data.mastodon_instances.x", "instances.0.version", "v4.5.2"),
		resource.TestCheckResourceAttr("data.mastodon_instances.x", "instances.0.ready", "true"),
	)
}

func TestAccConnection_kubeconfigPathAndContext(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "conn-kubeconfig")
	c.fakeInstance(t, ns, "social", "social.example", "v4.5.2", true)
	pendingNS := c.namespace(t, "conn-kubeconfig-pending")
	c.fakeInstance(t, pendingNS, "pending", "pending.example", "v4.4.3", false)
	raw, err := clientcmd.LoadFromFile(c.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: fmt.Sprintf(`
provider "mastodon" {
  kubernetes = {
    config_path    = %q
    config_context = %q
  }
}
`, c.kubeconfig, raw.CurrentContext) + fmt.Sprintf(dataSourceInNamespace, ns),
				Check: checkOneInstance(ns),
			},
			{
				// Every namespace: both instances, the second not ready.
				Config: fmt.Sprintf(`
provider "mastodon" {
  kubernetes = {
    config_path = %q
  }
}
data "mastodon_instances" "x" {}
`, c.kubeconfig),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckTypeSetElemNestedAttrs("data.mastodon_instances.x", "instances.*", map[string]string{
						"id": ns + "/social", "local_domain": "social.example", "version": "v4.5.2", "ready": "true",
					}),
					resource.TestCheckTypeSetElemNestedAttrs("data.mastodon_instances.x", "instances.*", map[string]string{
						"id": pendingNS + "/pending", "local_domain": "pending.example", "version": "v4.4.3", "ready": "false",
					}),
				),
			},
			{
				Config: fmt.Sprintf(`
provider "mastodon" {
  kubernetes = {
    config_path    = %q
    config_context = "no-such-context"
  }
}
`, c.kubeconfig) + fmt.Sprintf(dataSourceInNamespace, ns),
				ExpectError: regexp.MustCompile(`config_context[\s\S]*no-such-context`),
			},
		},
	})
}

func TestAccConnection_tokenLimitedToNamespace(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "conn-token")
	other := c.namespace(t, "conn-token-other")
	c.fakeInstance(t, ns, "social", "social.example", "v4.5.2", true)
	cred := c.credentials(t)
	provider := fmt.Sprintf(`
provider "mastodon" {
  kubernetes = {
    host                   = %q
    token                  = %q
    cluster_ca_certificate = %s
  }
}
`, cred.host, c.namespaceToken(t, ns), hclString(cred.ca))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: provider + fmt.Sprintf(dataSourceInNamespace, ns),
				Check:  checkOneInstance(ns),
			},
			{
				Config:      provider + fmt.Sprintf(dataSourceInNamespace, other),
				ExpectError: regexp.MustCompile(`in namespace\s+"` + other + `":\s+forbidden`),
			},
			{
				Config:      provider + `data "mastodon_instances" "x" {}`,
				ExpectError: regexp.MustCompile(`in all namespaces:\s+forbidden`),
			},
		},
	})
}

func TestAccConnection_clientCertificate(t *testing.T) {
	c := newTestCluster(t)
	cred := c.credentials(t)
	if cred.cert == "" {
		t.Skip("the test cluster's kubeconfig has no client certificate")
	}
	ns := c.namespace(t, "conn-cert")
	c.fakeInstance(t, ns, "social", "social.example", "v4.5.2", true)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "mastodon" {
  kubernetes = {
    host                   = %q
    cluster_ca_certificate = %s
    client_certificate     = %s
    client_key             = %s
  }
}
`, cred.host, hclString(cred.ca), hclString(cred.cert), hclString(cred.key)) + fmt.Sprintf(dataSourceInNamespace, ns),
			Check: checkOneInstance(ns),
		}},
	})
}

// execCredential writes, into a new folder it returns, credential.json: the
// ExecCredential a plugin prints, with a token limited to namespace ns.
func (c *testCluster) execCredential(t *testing.T, ns string) string {
	t.Helper()
	credential, err := json.Marshal(map[string]any{
		"apiVersion": "client.authentication.k8s.io/v1",
		"kind":       "ExecCredential",
		"status":     map[string]any{"token": c.namespaceToken(t, ns)},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "credential.json"), credential, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAccConnection_execPlugin(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "conn-exec")
	c.fakeInstance(t, ns, "social", "social.example", "v4.5.2", true)
	cred := c.credentials(t)
	dir := c.execCredential(t, ns)
	script := filepath.Join(dir, "print-credential")
	// The plugin reads the folder from its environment, so the test also
	// checks that exec.env reaches it.
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec cat \"$CREDENTIAL_DIR/credential.json\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "mastodon" {
  kubernetes = {
    host                   = %q
    cluster_ca_certificate = %s
    exec = {
      api_version = "client.authentication.k8s.io/v1"
      command     = %q
      env         = { CREDENTIAL_DIR = %q }
    }
  }
}
`, cred.host, hclString(cred.ca), script, dir) + fmt.Sprintf(dataSourceInNamespace, ns),
			Check: checkOneInstance(ns),
		}},
	})
}

func TestAccConnection_environmentVariables(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "conn-env")
	c.fakeInstance(t, ns, "social", "social.example", "v4.5.2", true)
	cred := c.credentials(t)
	t.Setenv("KUBE_HOST", cred.host)
	t.Setenv("KUBE_TOKEN", c.namespaceToken(t, ns))
	t.Setenv("KUBE_CLUSTER_CA_CERT_DATA", cred.ca)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: `provider "mastodon" {}` + fmt.Sprintf(dataSourceInNamespace, ns),
			Check:  checkOneInstance(ns),
		}},
	})
}

// The provider's host comes from a resource that the same apply creates: the
// plan must succeed with the settings unknown, and the apply reach the cluster.
func TestAccConnection_settingsKnownOnlyAtApply(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "conn-unknown")
	c.fakeInstance(t, ns, "social", "social.example", "v4.5.2", true)
	cred := c.credentials(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
resource "terraform_data" "cluster" {
  input = %q
}

provider "mastodon" {
  kubernetes = {
    host                   = terraform_data.cluster.output
    token                  = %q
    cluster_ca_certificate = %s
  }
}

data "mastodon_instances" "x" {
  namespace  = %q
  depends_on = [terraform_data.cluster]
}
`, cred.host, c.namespaceToken(t, ns), hclString(cred.ca), ns),
			Check: checkOneInstance(ns),
		}},
	})
}

// The EKS pattern: one element of exec.args names a cluster this apply
// creates. The plan must succeed with that element unknown (no "Received
// unknown value"), and the apply reach the cluster through the plugin.
func TestAccConnection_execArgKnownOnlyAtApply(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "conn-exec-unknown")
	c.fakeInstance(t, ns, "social", "social.example", "v4.5.2", true)
	cred := c.credentials(t)
	dir := c.execCredential(t, ns)
	// The plugin prints the credential only when given the cluster's name,
	// so the test also checks that the element known at apply reaches it.
	script := filepath.Join(dir, "get-token")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n[ \"$3\" = \"mastodon-eks\" ] || { echo \"unexpected cluster name: $3\" >&2; exit 1; }\nexec cat "+dir+"/credential.json\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
resource "terraform_data" "cluster" {
  input = "mastodon-eks"
}

provider "mastodon" {
  kubernetes = {
    host                   = %q
    cluster_ca_certificate = %s
    exec = {
      api_version = "client.authentication.k8s.io/v1"
      command     = %q
      args        = ["get-token", "--cluster-name", terraform_data.cluster.output]
    }
  }
}

data "mastodon_instances" "x" {
  namespace  = %q
  depends_on = [terraform_data.cluster]
}
`, cred.host, hclString(cred.ca), script, ns),
			Check: checkOneInstance(ns),
		}},
	})
}

func TestAccConnection_badSettings(t *testing.T) {
	testAccPreCheck(t)
	// A server that accepts connections and never answers: the provider
	// must give up within its bounded timeouts instead of hanging.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		_ = silent.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, conn := range held {
			_ = conn.Close()
		}
	})
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn)
			mu.Unlock()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	_ = closed.Close()

	step := func(settings, want string) resource.TestStep {
		return resource.TestStep{
			Config: fmt.Sprintf(`
provider "mastodon" {
  kubernetes = {
%s
  }
}
data "mastodon_instances" "x" {}
`, settings),
			ExpectError: regexp.MustCompile(strings.ReplaceAll(want, " ", `\s+`)),
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			step(fmt.Sprintf(`host = "https://%s"
insecure = true`, closedAddr), `cannot reach the Kubernetes API server at https://`+closedAddr+`[\s\S]*connection refused`),
			step(fmt.Sprintf(`host = "https://%s"
insecure = true`, silent.Addr()), `cannot reach the Kubernetes API server at https://`+silent.Addr().String()+`[\s\S]*timeout`),
			step(`host = "https://127.0.0.1:6443"
cluster_ca_certificate = "not a certificate"`, `kubernetes.cluster_ca_certificate is not a PEM-encoded certificate`),
			step(`host = "https://127.0.0.1:6443"
insecure = true
cluster_ca_certificate = "-----BEGIN CERTIFICATE-----"`, `kubernetes.insecure conflicts with cluster_ca_certificate`),
			step(`config_path = "/nonexistent/kubeconfig"`, `config_path names a kubeconfig that cannot be read: "/nonexistent/kubeconfig"`),
			step(`host = "https://127.0.0.1:6443"
client_key = "x"`, `kubernetes.client_key requires client_certificate`),
		},
	})
}

// roleToken binds the Role of examples/least-privilege/role.yaml, exactly as
// documented, to a new ServiceAccount in namespace ns and returns its token.
func (c *testCluster) roleToken(t *testing.T, ns string) string {
	t.Helper()
	raw, err := os.ReadFile("../../examples/least-privilege/role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.Role
	if err := yaml.Unmarshal([]byte(strings.Split(string(raw), "\n---\n")[0]), &role); err != nil || role.Kind != "Role" {
		t.Fatalf("reading the documented Role: %v", err)
	}
	return c.roleBoundToken(t, ns, &role)
}

// With nothing but the documented Role in the instance's namespace, every
// resource works: an instance and an account are created, updated,
// refreshed, imported and destroyed. What needs more fails with a message
// that names the missing permission and the way around it.
func TestAccLeastPrivilege_namespaceRole(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-leastpriv")
	cred := c.credentials(t)
	provider := fmt.Sprintf(`
provider "mastodon" {
  kubernetes = {
    host                   = %q
    token                  = %q
    cluster_ca_certificate = %s
  }
}
`, cred.host, c.roleToken(t, ns), hclString(cred.ca))
	config := func(extra, email string) string {
		return provider + instanceConfig(ns, "  create_namespace = false\n"+extra) + fmt.Sprintf(`
resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.test.id
  username = "alice"
  email    = %q
}
`, email)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config("", "alice@example.org")},
			{Config: config("", "alice@example.org"), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{ResourceName: "mastodon_instance.test", ImportState: true, ImportStateId: ns + "/social", ImportStateVerify: true},
			{Config: config("  web = { replicas = 2 }\n  ingress = { class_name = \"nginx\", wait_for_load_balancer = false }", "alice@example.net")},
			{Config: config("  web = {\n    autoscaling = { max_replicas = 3, target_cpu_utilization = 70 }\n    resources = { cpu_request = \"100m\" }\n  }\n  metrics = { enabled = true }", "alice@example.net")},
		},
	})
	// Creating a namespace needs more than the Role.
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:      provider + instanceConfig(ns+"-new", ""),
			ExpectError: regexp.MustCompile(`(?s)forbidden.*cannot\s+get\s+resource\s+"secrets".*cluster-wide\s+permissions.*set\s+create_namespace\s+=\s+false`),
		}},
	})
}
