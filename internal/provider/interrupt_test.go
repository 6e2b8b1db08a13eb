package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const providerAddress = "registry.terraform.io/tootform/mastodon"

// servedProvider serves the provider in this process, as Terraform's
// debug mode does, and returns the TF_REATTACH_PROVIDERS value that makes a
// terraform process use it: the test drives terraform itself, so it can
// interrupt it as a user's Ctrl-C does.
func servedProvider(t *testing.T) string {
	t.Helper()
	for _, v := range []string{"TF_LOG_PROVIDER_MASTODON", "TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"} {
		t.Setenv(v, "OFF")
	}
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig)
	closed := make(chan struct{})
	go func() {
		err := tf6server.Serve(providerAddress, func() tfprotov6.ProviderServer { return providerserver.NewProtocol6(New("test")())() },
			tf6server.WithDebug(ctx, reattach, closed), tf6server.WithGoPluginLogger(hclog.NewNullLogger()), tf6server.WithoutLogStderrOverride())
		if err != nil {
			t.Errorf("serving the provider: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-closed })
	var cfg *plugin.ReattachConfig
	select {
	case cfg = <-reattach:
	case <-time.After(30 * time.Second):
		t.Fatal("the provider did not start")
	}
	raw, err := json.Marshal(map[string]any{providerAddress: map[string]any{
		"Protocol": string(cfg.Protocol), "ProtocolVersion": cfg.ProtocolVersion, "Pid": cfg.Pid, "Test": true,
		"Addr": map[string]string{"Network": cfg.Addr.Network(), "String": cfg.Addr.String()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// terraformRun is a terraform working directory driven by the test.
type terraformRun struct {
	t        *testing.T
	dir, env string
}

func newTerraformRun(t *testing.T) *terraformRun {
	r := &terraformRun{t: t, dir: t.TempDir(), env: "TF_REATTACH_PROVIDERS=" + servedProvider(t)}
	r.run(context.Background(), "init", "-input=false")
	return r
}

func (r *terraformRun) write(config string) {
	r.t.Helper()
	header := `terraform {
  required_providers {
    mastodon = { source = "tootform/mastodon" }
  }
}
`
	if err := os.WriteFile(filepath.Join(r.dir, "main.tf"), []byte(header+config), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func (r *terraformRun) command(ctx context.Context, args ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, "terraform", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), r.env, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// run runs terraform and fails the test if it fails.
func (r *terraformRun) run(ctx context.Context, args ...string) {
	r.t.Helper()
	cmd, out := r.command(ctx, args...)
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// interrupt starts `terraform apply`, sends it SIGINT (Ctrl-C) once ready
// says so, and returns its output once it has exited.
func (r *terraformRun) interrupt(ready func() bool) string {
	r.t.Helper()
	cmd, out := r.command(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for !ready() {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			r.t.Fatalf("the apply never reached the point to interrupt:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // well inside the wait
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		r.t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err == nil {
			r.t.Fatalf("the interrupted apply succeeded:\n%s", out)
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		r.t.Fatalf("terraform did not stop within a minute of Ctrl-C (the waits must stop when Terraform asks):\n%s", out)
	}
	return out.String()
}

func (r *terraformRun) state() map[string]any {
	r.t.Helper()
	st := r.stateOf("mastodon_instance.test")
	if st == nil {
		r.t.Fatal("no mastodon_instance.test in state")
	}
	return st
}

// stateOf is the state of one resource (nil when state has none).
func (r *terraformRun) stateOf(address string) map[string]any {
	r.t.Helper()
	var show struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	cmd, _ := r.command(context.Background(), "show", "-json")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("terraform show: %v", err)
	}
	if err := json.Unmarshal(stdout.Bytes(), &show); err != nil {
		r.t.Fatal(err)
	}
	for _, res := range show.Values.RootModule.Resources {
		if res.Address == address {
			return res.Values
		}
	}
	return nil
}

// hangingPod is the status of a Pod that keeps starting (not a failure).
var hangingPod = podStatus("Pending", `    waiting:
      reason: ContainerCreating`)

// Ctrl-C during an apply: every wait stops at once, the state says as far
// as the apply got, and the next apply resumes and finishes. Interrupted
// mid-migration (the pre-deployment migrations of an upgrade), nothing that
// runs changed; interrupted mid-rollout, the update is recorded unready.
func TestAccInstance_interrupted(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-interrupt-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	r := newTerraformRun(t)
	config := func(version, extra string) string {
		return strings.ReplaceAll(instanceConfig(ns, fmt.Sprintf("  version = %q\n%s", version, extra)), `"3m"`, `"10m"`)
	}
	ctx := context.Background()
	exists := func(component string) func() bool {
		return func() bool {
			pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=" + component})
			return err == nil && len(pods.Items) > 0
		}
	}
	hang := func(component string) func() {
		return c.stagePods(t, "hang-"+ns+"-"+component, ns, component, hangingPod)
	}
	r.write(config("v4.6.5", ""))
	r.run(ctx, "apply", "-auto-approve", "-input=false")

	// Mid-migration: the upgrade's pre-deployment migrations never finish.
	unhang := hang("db-migrate-pre")
	r.write(config("v4.7.3", ""))
	out := r.interrupt(exists("db-migrate-pre"))
	if !strings.Contains(out, "Interrupt received") {
		t.Fatalf("terraform did not see the interrupt:\n%s", out)
	}
	if st := r.state(); st["version"] != "v4.6.5" || st["migrated_version"] != "v4.6.5" {
		t.Errorf("interrupted in the pre-deployment migrations, the state says version %v, migrated %v: want v4.6.5 as before", st["version"], st["migrated_version"])
	}
	// The cause gone, the Job's Pod is replaced and runs.
	unhang()
	_ = c.cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=db-migrate-pre"})

	// Mid-rollout: the new web Pods never become ready.
	unhang = hang("web")
	r.write(config("v4.7.3", ""))
	r.interrupt(func() bool {
		d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{})
		return err == nil && d.Labels["app.kubernetes.io/version"] == "v4.7.3"
	})
	if st := r.state(); st["version"] != "v4.7.3" || st["migrated_version"] != "v4.6.5" || st["ready"] != false {
		t.Errorf("interrupted in the rollout, the state says version %v, migrated %v, ready %v: want v4.7.3, v4.6.5, false", st["version"], st["migrated_version"], st["ready"])
	}
	unhang()
	_ = c.cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=web"})

	// The next apply resumes and finishes the upgrade; the plan after is empty.
	r.run(ctx, "apply", "-auto-approve", "-input=false")
	if st := r.state(); st["migrated_version"] != "v4.7.3" || st["ready"] != true {
		t.Errorf("after the resuming apply: migrated %v, ready %v", st["migrated_version"], st["ready"])
	}
	cmd, plan := r.command(ctx, "plan", "-detailed-exitcode", "-input=false", "-no-color")
	if err := cmd.Run(); err != nil {
		t.Errorf("the plan after the resuming apply is not empty (%v):\n%s", err, plan)
	}
	r.run(ctx, "destroy", "-auto-approve", "-input=false")
}

// localProcess finds the process of this machine whose command is name and
// whose command line holds arg, or skips the test.
func localProcess(t *testing.T, name, arg string) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(d + "/cmdline")
		argv0, _, _ := bytes.Cut(cmdline, []byte{0})
		if err != nil || filepath.Base(string(argv0)) != name || !bytes.Contains(cmdline, []byte(arg)) {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d), "%d", &pid); err == nil {
			return pid
		}
	}
	t.Skipf("no %s process with %s on this machine: the cluster is not the local control plane, so its API server cannot be stalled", name, arg)
	return 0
}

// The API server stalls for longer than a controller's leader lease while
// an apply waits for the rollout: the apply rides it out (its watches
// resume) and succeeds, and the local control plane's controllers survive.
func TestAccInstance_apiServerStall(t *testing.T) {
	c := newTestCluster(t)
	u, err := url.Parse(c.rest.Host)
	if err != nil {
		t.Fatal(err)
	}
	pid := localProcess(t, "kube-apiserver", "--secure-port="+u.Port())
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) }) // never leave it stopped
	ns := "acc-stall-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	ctx := context.Background()
	unhang := c.stagePods(t, "hang-"+ns+"-web", ns, "web", hangingPod)
	stalled := make(chan error, 1)
	go func() {
		for {
			if _, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{}); err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(time.Second)
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			stalled <- err
			return
		}
		time.Sleep(25 * time.Second) // longer than a leader lease (15 s)
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			stalled <- err
			return
		}
		unhang()
		stalled <- c.cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=web"})
	}()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: instanceConfig(ns, ""),
			Check: func(*terraform.State) error {
				if err := <-stalled; err != nil {
					return fmt.Errorf("stalling the API server: %w", err)
				}
				for _, name := range []string{"kube-controller-manager", "kube-scheduler"} {
					localProcess(t, name, "--kubeconfig")
				}
				return nil
			},
		}},
	})
}
