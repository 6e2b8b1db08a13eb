package provider

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// Every example pins the Mastodon version, at the provider's default: the
// default moves with releases, and an unpinned instance would be upgraded
// by a provider upgrade (docs: "Upgrading the provider").
func TestExamplesPinTheVersion(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../../examples", func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".tf") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)resource "mastodon_instance" "[^"]+" \{.*?\n\}`)
	pinned := regexp.MustCompile(`(?m)^\s*version\s*=\s*(\S+)`)
	found := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, inst := range block.FindAllString(string(b), -1) {
			found++
			m := pinned.FindStringSubmatch(inst)
			switch {
			case m == nil:
				t.Errorf("%s: a mastodon_instance does not pin version", f)
			case strings.HasPrefix(m[1], `"`) && m[1] != `"`+mastodon.DefaultVersion+`"`:
				t.Errorf("%s: version = %s, not the default %s", f, m[1], mastodon.DefaultVersion)
			case strings.HasPrefix(m[1], "var.") && !strings.Contains(string(b), `default     = "`+mastodon.DefaultVersion+`"`):
				t.Errorf("%s: version = %s, whose default is not %s", f, m[1], mastodon.DefaultVersion)
			}
		}
	}
	if found < 3 {
		t.Fatalf("found %d mastodon_instance blocks in the examples, want at least 3", found)
	}
}
