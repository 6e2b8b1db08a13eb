package mastodon

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Version is a parsed Mastodon version.
type Version struct {
	Major, Minor, Patch int
	Pre                 string // "-beta.1", "" for a release
}

// Parse reads a version tag such as v4.7.2 or 4.7.0-rc.1.
func Parse(tag string) (Version, bool) {
	m := versionRe.FindStringSubmatch(tag)
	if m == nil {
		return Version{}, false
	}
	v := Version{Pre: m[4]}
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	v.Patch, _ = strconv.Atoi(m[3])
	return v, true
}

func (v Version) String() string { return fmt.Sprintf("v%d.%d.%d%s", v.Major, v.Minor, v.Patch, v.Pre) }

// Compare orders versions; a pre-release comes before its release.
func (v Version) Compare(o Version) int {
	for _, d := range []int{v.Major - o.Major, v.Minor - o.Minor, v.Patch - o.Patch} {
		if d != 0 {
			return sign(d)
		}
	}
	switch {
	case v.Pre == o.Pre:
		return 0
	case v.Pre == "":
		return 1
	case o.Pre == "":
		return -1
	}
	return sign(strings.Compare(v.Pre, o.Pre))
}

func sign(d int) int {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}

// CheckUpgrade says whether an instance running from may move to to:
// downgrades are not supported, and no minor series may be skipped (patch
// releases may). A new major version must start from its first minor.
func CheckUpgrade(from, to string) error {
	f, ok := Parse(from)
	if !ok {
		return fmt.Errorf("the running version %q is not a Mastodon version", from)
	}
	t, ok := Parse(to)
	if !ok {
		return fmt.Errorf("%q is not a Mastodon version", to)
	}
	switch c := t.Compare(f); {
	case c == 0:
		return nil
	case c < 0:
		return fmt.Errorf("%s is older than the running %s: Mastodon does not support downgrades", to, from)
	}
	if t.Major == f.Major && t.Minor > f.Minor+1 {
		return fmt.Errorf("%s skips a minor series after the running %s: upgrade to the newest v%d.%d.x first, then to %s",
			to, from, f.Major, f.Minor+1, to)
	}
	if t.Major > f.Major+1 || (t.Major > f.Major && t.Minor > 0) {
		return fmt.Errorf("%s skips versions after the running %s: upgrade to v%d.0.x first", to, from, f.Major+1)
	}
	return nil
}

// MigrationPhase is one of the two database migration Jobs of an upgrade.
type MigrationPhase string

const (
	// PreDeployment migrations run with the new image before the rollout,
	// without the post-deployment migrations.
	PreDeployment MigrationPhase = "pre"
	// PostDeployment migrations run once every Pod runs the new version.
	PostDeployment MigrationPhase = "post"
)

// Components of the migration Jobs.
const (
	ComponentMigratePre  = "db-migrate-pre"
	ComponentMigratePost = "db-migrate-post"
)

// MigrationJob is the Job of one phase of the upgrade to the spec's
// version. Its name carries the version, so a phase once done for a version
// is never run again.
func (s *Spec) MigrationJob(phase MigrationPhase) Object {
	var env []corev1.EnvVar
	component := ComponentMigratePost
	if phase == PreDeployment {
		env = []corev1.EnvVar{{Name: "SKIP_POST_DEPLOYMENT_MIGRATIONS", Value: "true"}}
		component = ComponentMigratePre
	}
	return s.migrationJob(s.Name+"-"+component+"-"+versionSlug(s.Version), component,
		[]string{"bundle", "exec", "rake", "db:migrate"}, env)
}

// Step is one step of an apply.
type Step string

// The steps of an apply, in order.
const (
	StepPrepare     Step = "prepare the database (db:prepare)"
	StepPreMigrate  Step = "pre-deployment migrations (db:migrate with SKIP_POST_DEPLOYMENT_MIGRATIONS=true)"
	StepRollout     Step = "roll out web, streaming and Sidekiq and wait until ready"
	StepPostMigrate Step = "post-deployment migrations (db:migrate)"
)

// Plan returns the steps that bring an instance whose database was last
// migrated for migrated ("" for a new instance) to the spec's version.
func (s *Spec) Plan(migrated string) []Step {
	switch migrated {
	case "":
		return []Step{StepPrepare, StepRollout}
	case s.Version:
		return []Step{StepRollout}
	}
	return []Step{StepPreMigrate, StepRollout, StepPostMigrate}
}
