package mastodon

import (
	"fmt"
	"regexp"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// ComponentToken labels the Job that makes an access token (smoke tests).
const ComponentToken = "token"

// tokenScript makes an OAuth access token (scopes read and write) for a
// local account, as an app would get by signing in: a Doorkeeper
// application and an access token owned by the account's user. It prints
// the token on one line prefixed by "access-token: ".
const tokenScript = `cd /opt/mastodon && exec bin/rails runner '
user = Account.find_local!(ENV.fetch("TOKEN_USERNAME")).user
app = Doorkeeper::Application.find_or_create_by!(name: ENV.fetch("TOKEN_APP")) do |a|
  a.redirect_uri = Doorkeeper.configuration.native_redirect_uri
  a.scopes = "read write"
end
token = Doorkeeper::AccessToken.create!(application: app, resource_owner_id: user.id, scopes: "read write")
puts "access-token: #{token.token}"
'`

// TokenJob renders the Job that prints an access token for username. base
// is the Pod spec of the instance's web Deployment (image, configuration,
// volumes, sidecars). The token is in the Job's log: use it only on
// throwaway instances.
func TokenJob(namespace, instance, name string, base corev1.PodSpec, username, app string) Object {
	pod := *base.DeepCopy()
	pod.RestartPolicy = corev1.RestartPolicyNever
	c := &pod.Containers[0]
	c.Name = "token"
	c.Ports, c.ReadinessProbe, c.LivenessProbe, c.StartupProbe = nil, nil, nil, nil
	c.Env = []corev1.EnvVar{{Name: "TOKEN_USERNAME", Value: username}, {Name: "TOKEN_APP", Value: app}}
	c.Command = []string{"/bin/sh", "-c", tokenScript}
	c.Args = nil
	labels := Labels(instance, ComponentToken, OwnerInstance)
	return NewObject(&batchv1.Job{
		TypeMeta:   typeMeta("batch/v1", "Job"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0),
			TTLSecondsAfterFinished: ptr.To[int32](600),
			Template:                corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
		},
	})
}

var tokenLine = regexp.MustCompile(`(?m)^access-token: ([A-Za-z0-9_-]{20,})\s*$`)

// TokenFromLog finds the token a TokenJob printed.
func TokenFromLog(log string) (string, error) {
	m := tokenLine.FindStringSubmatch(log)
	if m == nil {
		return "", fmt.Errorf("no access token in the Job's log")
	}
	return m[1], nil
}
