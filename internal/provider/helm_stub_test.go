package provider

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Temporary: replaced by the fixtures' helpers.
func helmRun(t *testing.T, args ...string) {
	t.Helper()
	mod, _ := filepath.Abs("../../tools/go.mod")
	cmd := exec.Command("go", append([]string{"tool", "-modfile=" + mod, "helm"}, args...)...)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm %v: %v\n%s", args, err, out)
	}
}

func helmInstall(t *testing.T, ns, release, fixture string, set ...string) {
	chart, _ := filepath.Abs("testdata/helm/" + fixture)
	args := []string{"install", release, chart, "--namespace", ns, "--create-namespace", "--wait", "--timeout", "3m"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	helmRun(t, args...)
}

func helmUninstall(t *testing.T, ns, release string) { helmRun(t, "uninstall", release, "--namespace", ns, "--wait") }
