package mastodon

import (
	"reflect"
	"strings"
	"testing"
)

func TestCheckUpgrade(t *testing.T) {
	cases := []struct {
		from, to string
		refused  string // "" when allowed
	}{
		{"v4.5.2", "v4.5.2", ""},
		{"v4.5.2", "v4.5.11", ""},
		{"v4.5.2", "v4.6.0", ""},
		{"v4.5.11", "v4.6.6", ""},
		{"v4.6.6", "v4.7.2", ""},
		{"4.6.6", "v4.7.0-rc.1", ""},
		{"v4.7.0-rc.1", "v4.7.0", ""},
		{"v4.7.0-beta.1", "v4.7.0-rc.1", ""},
		{"v4.7.2", "v5.0.0", ""},
		{"v4.2.10", "v4.4.0", "skips a minor series"},
		{"v4.5.2", "v4.7.2", "skips a minor series"},
		{"v4.7.2", "v4.6.6", "does not support downgrades"},
		{"v4.7.2", "v4.7.1", "does not support downgrades"},
		{"v4.7.0", "v4.7.0-rc.1", "does not support downgrades"},
		{"v4.7.2", "v5.1.0", "upgrade to v5.0.x first"},
		{"v4.7.2", "v6.0.0", "upgrade to v5.0.x first"},
		{"v4.7.2", "latest", "is not a Mastodon version"},
	}
	for _, tc := range cases {
		err := CheckUpgrade(tc.from, tc.to)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%s -> %s refused: %v", tc.from, tc.to, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%s -> %s: want an error with %q, got %v", tc.from, tc.to, tc.refused, err)
		}
	}
}

func TestUpgradePlan(t *testing.T) {
	s := defaultSpec()
	s.Version = "v4.7.2"
	if got := s.Plan(""); !reflect.DeepEqual(got, []Step{StepPrepare, StepRollout}) {
		t.Errorf("new instance: %v", got)
	}
	if got := s.Plan("v4.7.2"); !reflect.DeepEqual(got, []Step{StepRollout}) {
		t.Errorf("same version: %v", got)
	}
	if got := s.Plan("v4.6.6"); !reflect.DeepEqual(got, []Step{StepPreMigrate, StepRollout, StepPostMigrate}) {
		t.Errorf("upgrade: %v", got)
	}
}

func TestMigrationJobs(t *testing.T) {
	s := defaultSpec()
	s.Version = "v4.7.0-rc.1"
	pre, post := s.MigrationJob(PreDeployment), s.MigrationJob(PostDeployment)
	if pre.Name != "social-db-migrate-pre-4-7-0-rc-1" || post.Name != "social-db-migrate-post-4-7-0-rc-1" {
		t.Fatalf("names: %s, %s", pre.Name, post.Name)
	}
	golden(t, "migrations.yaml", renderYAML(t, []Object{pre, post}))
}
