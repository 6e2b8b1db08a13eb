package mastodon

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runAccountScript runs an account Job's script with /bin/sh against fake
// bin/rails and bin/tootctl that record their calls: rails runner answers
// with lookup's exit code for the create Job's lookup. It returns the
// script's exit code and the calls.
func runAccountScript(t *testing.T, script string, lookup int, env ...string) (int, []string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(dir, "calls")
	fake := func(name, body string) {
		s := "#!/bin/sh\necho \"" + name + " $1\" >> " + calls + "\n" + body
		if err := os.WriteFile(filepath.Join(dir, "bin", name), []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fake("rails", `case "$2" in *find_local\(*\&.user*) exit `+strconv.Itoa(lookup)+`;; esac`)
	fake("tootctl", "")
	cmd := exec.Command("/bin/sh", "-c", strings.Replace(script, "cd /opt/mastodon", "cd "+dir, 1))
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "ACCOUNT_USERNAME=alice"}, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(calls)
	t.Logf("output:\n%s", out)
	return code, strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestAccountCreateScriptRefusesAnExistingAccount(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	// The account exists: the script exits with ExitAccountExists and
	// never creates it or touches its password.
	code, calls := runAccountScript(t, createScript, ExitAccountExists, "ACCOUNT_PASSWORD=secret-password")
	if code != ExitAccountExists || len(calls) != 1 || calls[0] != "rails runner" {
		t.Errorf("existing account: exit %d, calls %q; want exit %d after the lookup alone", code, calls, ExitAccountExists)
	}
	// The lookup fails otherwise (the database is down): that exit code, nothing created.
	code, calls = runAccountScript(t, createScript, 1, "ACCOUNT_PASSWORD=secret-password")
	if code != 1 || len(calls) != 1 {
		t.Errorf("failed lookup: exit %d, calls %q", code, calls)
	}
	// A new account: created, then its password set.
	code, calls = runAccountScript(t, createScript, 0, "ACCOUNT_PASSWORD=secret-password")
	if code != 0 || strings.Join(calls, ",") != "rails runner,tootctl accounts,rails runner" {
		t.Errorf("new account: exit %d, calls %q", code, calls)
	}
}

func TestAccountEnsureScriptKeepsAnUnknownPassword(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	code, calls := runAccountScript(t, ensureScript, 0, "ACCOUNT_PASSWORD=")
	if code != 0 || strings.Join(calls, ",") != "tootctl accounts" {
		t.Errorf("empty password: exit %d, calls %q; want the account modified and its password left alone", code, calls)
	}
	code, calls = runAccountScript(t, ensureScript, 0, "ACCOUNT_PASSWORD=secret-password")
	if code != 0 || strings.Join(calls, ",") != "tootctl accounts,rails runner" {
		t.Errorf("known password: exit %d, calls %q; want it set (when it differs)", code, calls)
	}
}
