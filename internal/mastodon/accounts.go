package mastodon

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/mail"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

// Roles that accounts can be given, as Mastodon names them (case matters).
var Roles = []string{"Owner", "Admin", "Moderator"}

// ReservedUsernames are the usernames Mastodon refuses for new local
// accounts by default (its reserved_usernames setting).
var ReservedUsernames = []string{"admin", "support", "help", "root", "webmaster", "administrator", "mod", "moderator"}

// Local usernames: letters, digits and underscores, at most 30 characters
// (Account::USERNAME_LENGTH_LIMIT).
var usernameRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,30}$`)

// ComponentAccount marks the Jobs and Secrets of accounts.
const (
	ComponentAccount = "account"
	LabelUsername    = "mastodon.tootform.dev/username"
)

// ValidateUsername checks a username as Mastodon checks a new local account's.
func ValidateUsername(u string) error {
	if !usernameRe.MatchString(u) {
		return fmt.Errorf("%q is not a Mastodon username: letters, digits and underscores only, 1 to 30 characters", u)
	}
	for _, r := range ReservedUsernames {
		if strings.EqualFold(u, r) {
			return fmt.Errorf("%q is reserved by Mastodon (its reserved usernames are %s)", u, strings.Join(ReservedUsernames, ", "))
		}
	}
	return nil
}

// undeliverable are the special-use top-level domains (RFC 2606, RFC
// 6761) that never have MX or A records in public DNS.
var undeliverable = []string{"example", "test", "invalid", "localhost", "local"}

// ValidateEmail checks an email address as a new local account's: in
// production Mastodon refuses an address whose domain has neither MX nor A
// records (app/validators/email_mx_validator.rb; tootctl accounts create
// validates too), which a special-use domain never has.
func ValidateEmail(e string) error {
	a, err := mail.ParseAddress(e)
	domain := strings.ToLower(e[strings.LastIndex(e, "@")+1:])
	if err != nil || a.Address != e || !strings.Contains(domain, ".") {
		return fmt.Errorf("%q is not an email address", e)
	}
	for _, tld := range undeliverable {
		if strings.HasSuffix(domain, "."+tld) {
			return fmt.Errorf("%q cannot be an account's address: Mastodon refuses, in production, an email domain without MX or A records, and .%s never has any. Use an address at a domain that receives mail", e, tld)
		}
	}
	return nil
}

// ValidatePassword checks a password against Devise's length rule.
func ValidatePassword(p string) error {
	if n := len(p); n < 8 || n > 72 {
		return fmt.Errorf("must be 8 to 72 characters long (got %d)", n)
	}
	return nil
}

// AccountSecretName is the Secret recording an account's managed state and
// password.
func AccountSecretName(instance, username string) string {
	return instance + "-account-" + strings.ToLower(strings.ReplaceAll(username, "_", "-"))
}

// Account is an account managed by the provider.
type Account struct {
	Username  string
	Email     string
	Role      string
	Confirmed bool
	Approved  bool
	Disabled  bool
}

// The Secret keys of an account's state. The Jobs read the password from
// the Secret, never from their command line.
const (
	KeyPassword = "password"
)

// AccountAction is what a Job does to an account.
type AccountAction string

// Account actions.
const (
	// Ensure creates the account, or brings an existing one to the wanted
	// email, role and flags; then it sets the password.
	Ensure AccountAction = "ensure"
	// Create creates the account, and changes nothing when Mastodon holds
	// it already: the Job then fails with ExitAccountExists.
	Create AccountAction = "create"
	Delete AccountAction = "delete"
)

// ExitAccountExists is the exit code of the create Job's script when
// Mastodon holds the account already; the Job's Pod failure policy makes it
// final (no retry).
const ExitAccountExists = 10

// ensureScript is the shell the Job runs. Every value comes from the
// environment, quoted: nothing the user typed is ever parsed by the shell,
// and the password never appears on a command line or in a log. The
// password is set only when it differs: User#change_password! also ends
// every session and revokes every app token and push subscription.
const ensureScript = `set -e
cd /opt/mastodon
if bin/tootctl accounts modify "$ACCOUNT_USERNAME" --email "$ACCOUNT_EMAIL" --role "$ACCOUNT_ROLE" $ACCOUNT_MODIFY_FLAGS; then
  echo "account $ACCOUNT_USERNAME updated"
else
` + createLines + `fi
` + passwordLine

// createLines create the account with its email, role and flags.
const createLines = `  bin/tootctl accounts create "$ACCOUNT_USERNAME" --email "$ACCOUNT_EMAIL" --role "$ACCOUNT_ROLE" $ACCOUNT_CREATE_FLAGS >/dev/null
  echo "account $ACCOUNT_USERNAME created"
  if [ -n "$ACCOUNT_DISABLE" ]; then bin/tootctl accounts modify "$ACCOUNT_USERNAME" --disable; fi
`

// passwordLine sets the password when it differs. An empty password (an
// account imported without the provider's record: Terraform never knew
// its password) leaves the account's password as it is.
const passwordLine = `if [ -z "$ACCOUNT_PASSWORD" ]; then echo "password kept"; exit 0; fi
bin/rails runner 'u = Account.find_local!(ENV.fetch("ACCOUNT_USERNAME")).user; p = ENV.fetch("ACCOUNT_PASSWORD"); if u.valid_password?(p) then puts "password unchanged" else u.change_password!(p); puts "password set" end'
`

// createScript is the create Job's shell: before anything changes, it
// looks the account up as tootctl accounts modify would
// (Account.find_local(username)&.user), and exits with ExitAccountExists
// when Mastodon holds it: taking an account over is an import's choice,
// never a create's. Else it creates the account and sets its password.
var createScript = fmt.Sprintf(`set -e
cd /opt/mastodon
bin/rails runner 'exit(%d) if Account.find_local(ENV.fetch("ACCOUNT_USERNAME"))&.user' || {
  rc=$?
  if [ "$rc" = %d ]; then echo "account $ACCOUNT_USERNAME exists already: nothing was changed"; fi
  exit "$rc"
}
`, ExitAccountExists, ExitAccountExists) + createLines + passwordLine

const deleteScript = `set -e
cd /opt/mastodon
bin/tootctl accounts delete "$ACCOUNT_USERNAME" || bin/tootctl accounts delete "$ACCOUNT_USERNAME" 2>&1 | grep -q "No user with such username"
`

// AccountJob renders the Job that performs an action on an account. base
// is the Pod spec of the instance's web Deployment (image, configuration,
// volumes, sidecars); secret is the account's Secret holding its password.
func AccountJob(namespace, instance, name string, base JobBase, a Account, action AccountAction, secret string) Object {
	env := []corev1.EnvVar{{Name: "ACCOUNT_USERNAME", Value: a.Username}}
	script := deleteScript
	if action == Ensure || action == Create {
		script = ensureScript
		if action == Create {
			script = createScript
		}
		modify, create := []string{"--enable"}, []string{}
		if a.Disabled {
			modify = []string{"--disable"}
		}
		if a.Confirmed {
			modify, create = append(modify, "--confirm"), append(create, "--confirmed")
		}
		if a.Approved {
			modify, create = append(modify, "--approve"), append(create, "--approve")
		}
		disable := ""
		if a.Disabled {
			disable = "true"
		}
		env = append(env,
			corev1.EnvVar{Name: "ACCOUNT_EMAIL", Value: a.Email},
			corev1.EnvVar{Name: "ACCOUNT_ROLE", Value: a.Role},
			corev1.EnvVar{Name: "ACCOUNT_MODIFY_FLAGS", Value: strings.Join(modify, " ")},
			corev1.EnvVar{Name: "ACCOUNT_CREATE_FLAGS", Value: strings.Join(create, " ")},
			corev1.EnvVar{Name: "ACCOUNT_DISABLE", Value: disable},
			secretEnv("ACCOUNT_PASSWORD", secret, KeyPassword),
		)
	}
	labels := accountLabels(instance, a.Username)
	if action != Create {
		return webPodJob(namespace, name, "tootctl", base, env, script, labels, 1)
	}
	podLabels := maps.Clone(labels)
	delete(podLabels, LabelOwner)
	spec := base.jobSpec("tootctl", env, script, podLabels, 1)
	// The account exists: final, not retried.
	spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
		Action: batchv1.PodFailurePolicyActionFailJob,
		OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			ContainerName: ptr.To("tootctl"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{ExitAccountExists},
		},
	}}}
	return NewObject(&batchv1.Job{
		TypeMeta:   typeMeta("batch/v1", "Job"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec:       spec,
	})
}

// webPodJob is a Job that runs script once in a copy of the instance's web
// Pod (same image, configuration, volumes and sidecars), without its ports
// and probes. Its Pods carry labels but the owner mark (Pods are never
// selected by owner).
func webPodJob(namespace, name, container string, base JobBase, env []corev1.EnvVar, script string, labels map[string]string, backoff int32) Object {
	podLabels := maps.Clone(labels)
	delete(podLabels, LabelOwner)
	return NewObject(&batchv1.Job{
		TypeMeta:   typeMeta("batch/v1", "Job"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec:       base.jobSpec(container, env, script, podLabels, backoff),
	})
}

// JobBase is what a one-off Job of a live instance (an account's, a
// token's) copies: the Pod spec of its web Deployment, and the labels and
// annotations the instance's Jobs' Pods carry (jobs.pod: a service mesh's
// "no sidecar", a Vault injection), which the web Deployment records
// (AnnotationJobPod).
type JobBase struct {
	Spec                corev1.PodSpec
	Labels, Annotations map[string]string
}

// JobBaseOf is the JobBase of an instance's web Deployment.
func JobBaseOf(web *appsv1.Deployment) JobBase {
	b := JobBase{Spec: web.Spec.Template.Spec}
	if raw := web.Annotations[AnnotationJobPod]; raw != "" {
		var m jobPodMeta
		// A record that does not decode is not ours to trust: the Job
		// runs without it, as before the record existed.
		if json.Unmarshal([]byte(raw), &m) == nil {
			b.Labels, b.Annotations = m.Labels, m.Annotations
		}
	}
	return b
}

// jobSpec is webPodJobSpec of b's Pod, with the Jobs' labels and
// annotations beside the Job's own labels (which win).
func (b JobBase) jobSpec(container string, env []corev1.EnvVar, script string, podLabels map[string]string, backoff int32) batchv1.JobSpec {
	spec := webPodJobSpec(b.Spec, container, env, script, podLabels, backoff)
	addMeta(&spec.Template.ObjectMeta, b.Labels, b.Annotations)
	return spec
}

// AccountSelector selects the objects of one account (its Secret and Jobs,
// old marks or new); OwnedByAccount decides.
func AccountSelector(instance, username string) string {
	return labels.SelectorFromSet(labels.Set{LabelName: AppName, LabelManagedBy: ManagedBy, LabelInstance: instance,
		LabelComponent: ComponentAccount, LabelUsername: strings.ToLower(username)}).String()
}

func accountLabels(instance, username string) map[string]string {
	l := Labels(instance, ComponentAccount, AccountOwner(username))
	l[LabelUsername] = strings.ToLower(username)
	return l
}

// AccountSecret records an account's managed state and its password.
func AccountSecret(namespace, instance, username string, data map[string]string) Object {
	return NewObject(&corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: metav1.ObjectMeta{Name: AccountSecretName(instance, username), Namespace: namespace, Labels: accountLabels(instance, username)},
		Type:       corev1.SecretTypeOpaque,
		Data:       bytesMap(data),
	})
}
