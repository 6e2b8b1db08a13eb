package mastodon

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the provider checks zone names wherever it runs (Terraform Cloud has no /usr/share/zoneinfo to rely on)

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The checks of one attribute each: what a valid value is, whatever else
// is configured. The provider runs them as its schema's validators, on
// known values only, so Validate leaves them out. Each takes the value as
// configured: where an empty string or 0 asks for the default (Defaults),
// it is valid.

// CheckName checks an instance's name: its objects are named after it.
func CheckName(v string) error {
	if v == "" {
		return nil
	}
	if msgs := validation.IsDNS1035Label(v); len(msgs) > 0 || len(v) > 40 {
		return fmt.Errorf("%q must be a lowercase DNS label of at most 40 characters (letters, digits, '-', starting with a letter): the instance's objects are named after it", v)
	}
	return nil
}

// CheckNamespace checks a namespace's name.
func CheckNamespace(v string) error {
	if v == "" {
		return nil
	}
	if msgs := validation.IsDNS1123Label(v); len(msgs) > 0 {
		return fmt.Errorf("%q is not a valid namespace name: %s", v, strings.Join(msgs, "; "))
	}
	return nil
}

// CheckDomain checks local_domain and web_domain.
func CheckDomain(v string) error {
	if v == "" {
		return nil
	}
	if msgs := validation.IsDNS1123Subdomain(v); len(msgs) > 0 || !strings.Contains(v, ".") {
		return fmt.Errorf("%q is not a domain name (lowercase, with at least one dot, no scheme or path)", v)
	}
	return nil
}

// CheckVersion checks a version's form: an image tag of a Mastodon
// release. Which versions the provider deploys depends on the repository
// (Validate).
func CheckVersion(v string) error {
	if _, ok := Parse(v); v != "" && !ok {
		return fmt.Errorf("%q is not a Mastodon version such as %s", v, DefaultVersion)
	} else if ok && !strings.HasPrefix(v, "v") {
		return fmt.Errorf("%q is not an image tag: Mastodon's tags start with v, write %q", v, "v"+v)
	}
	return nil
}

// CheckPullPolicy checks image.pull_policy.
func CheckPullPolicy(v string) error {
	return checkOneOf(v, pullPols)
}

// CheckReplicas checks a number of Pods.
func CheckReplicas(n int64) error {
	if n < 0 {
		return fmt.Errorf("must not be negative (got %d)", n)
	}
	return nil
}

// CheckCount checks a number of processes or threads (0 is the default).
func CheckCount(n int64) error {
	if n < 0 {
		return fmt.Errorf("must be at least 1 (got %d)", n)
	}
	return nil
}

// CheckQuantity checks a Kubernetes quantity; example is one, for the
// message.
func CheckQuantity(q, example string) error {
	if q == "" {
		return nil
	}
	if _, err := resource.ParseQuantity(q); err != nil {
		return fmt.Errorf("%q is not a Kubernetes quantity (such as %s)", q, example)
	}
	return nil
}

// CheckAtLeastOne checks a number that must be at least 1.
func CheckAtLeastOne(n int64) error {
	if n < 1 {
		return errors.New("must be at least 1")
	}
	return nil
}

// CheckPort checks a TCP port (0 is the default).
func CheckPort(n int64) error {
	if n != 0 && (n < 1 || n > 65535) {
		return fmt.Errorf("must be a TCP port (got %d)", n)
	}
	return nil
}

// CheckNotNegative checks a number that may be 0.
func CheckNotNegative(n int64) error {
	if n < 0 {
		return errors.New("must not be negative")
	}
	return nil
}

// CheckSSLMode checks database.sslmode, a libpq sslmode.
func CheckSSLMode(v string) error {
	return checkOneOf(v, sslModes)
}

// CheckAccessMode checks the media volume's access mode.
func CheckAccessMode(v string) error {
	if v == string(corev1.ReadWriteOncePod) {
		return errors.New("ReadWriteOncePod lets one Pod mount the volume, but web, Sidekiq and every Job mount it: use ReadWriteOnce (one node) or ReadWriteMany")
	}
	return checkOneOf(v, accessMode)
}

// CheckTimeZone checks a time zone: an IANA name such as Europe/Berlin,
// which the images' tzdata and Kubernetes' CronJobs know.
func CheckTimeZone(v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.LoadLocation(v); err != nil || v == "Local" || strings.HasPrefix(v, "/") {
		return fmt.Errorf("%q is not an IANA time zone such as Europe/Berlin or Etc/UTC", v)
	}
	return nil
}

// CheckLocale checks settings.default_locale.
func CheckLocale(v string) error {
	if v != "" && !localeRe.MatchString(v) {
		return fmt.Errorf("%q is not a locale such as en or pt-BR", v)
	}
	return nil
}

// CheckProcessName checks a Sidekiq process's name: its Deployment is
// named after it.
func CheckProcessName(v string) error {
	if !processRe.MatchString(v) {
		return fmt.Errorf("%q must be a lowercase DNS label of at most 20 characters", v)
	}
	return nil
}

// CheckEnvName checks the name of an environment variable.
func CheckEnvName(v string) error {
	if !envNameRe.MatchString(v) {
		return fmt.Errorf("%q is not an environment variable name", v)
	}
	return nil
}

// ParseQueue reads a queue as Sidekiq's -q takes it: a name, optionally
// weighted after a comma (default,8).
func ParseQueue(v string) (Queue, error) {
	name, weight, found := strings.Cut(v, ",")
	q := Queue{Name: strings.TrimSpace(name)}
	if !found {
		return q, nil
	}
	w, err := strconv.Atoi(strings.TrimSpace(weight))
	q.Weight = w
	if err != nil || w < 1 {
		return q, fmt.Errorf("%q: the weight after the comma must be a positive integer, as in default,8", v)
	}
	return q, nil
}

// CheckQueues checks a Sidekiq process's queues, as ParseQueue reads
// them (a weight it refuses is its error, not one of these).
func CheckQueues(queues []string) []error {
	if len(queues) == 0 {
		return []error{errors.New("must name at least one queue")}
	}
	var errs []error
	seen := map[string]bool{}
	for _, v := range queues {
		q, _ := ParseQueue(v)
		if !oneOf(q.Name, Queues) {
			errs = append(errs, fmt.Errorf("unknown queue %q: Mastodon's queues are %s", q.Name, strings.Join(Queues, ", ")))
			continue
		}
		if seen[q.Name] {
			errs = append(errs, fmt.Errorf("queue %q is listed twice", q.Name))
		}
		seen[q.Name] = true
		if q.Weight < 0 {
			errs = append(errs, fmt.Errorf("queue %q has a negative weight", q.Name))
		}
	}
	return errs
}

// checkOneOf checks a value that is one of allowed, or empty.
func checkOneOf(v string, allowed []string) error {
	if v != "" && !oneOf(v, allowed) {
		return fmt.Errorf("must be one of %s, not %q", strings.Join(allowed, ", "), v)
	}
	return nil
}

// CheckClaimName checks the name of a PersistentVolumeClaim.
func CheckClaimName(v string) error {
	if v != "" && len(validation.IsDNS1123Subdomain(v)) > 0 {
		return fmt.Errorf("%q is not a valid PersistentVolumeClaim name", v)
	}
	return nil
}
