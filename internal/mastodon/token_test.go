package mastodon

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The token Job runs in the web Pod's image and configuration, once, and
// its script makes a Doorkeeper token for the account named in the
// environment (never on the command line).
func TestTokenJob(t *testing.T) {
	s := Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example"}
	s.Defaults()
	var base corev1.PodSpec
	for _, o := range s.Render(Secrets{}, "") {
		if o.Kind == "Deployment" && o.Name == s.WebName() {
			var dep appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Body, &dep); err != nil {
				t.Fatal(err)
			}
			base = dep.Spec.Template.Spec
		}
	}
	if len(base.Containers) == 0 {
		t.Fatal("no web Deployment rendered")
	}
	o := TokenJob("mastodon", "social", "social-token-1", JobBase{Spec: base}, "alice", "smoke")
	var job batchv1.Job
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Body, &job); err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	if c.Image != base.Containers[0].Image || len(c.EnvFrom) != len(base.Containers[0].EnvFrom) {
		t.Errorf("image %s envFrom %d, want the web container's %s and %d", c.Image, len(c.EnvFrom), base.Containers[0].Image, len(base.Containers[0].EnvFrom))
	}
	if pod.RestartPolicy != corev1.RestartPolicyNever || *job.Spec.BackoffLimit != 0 || c.ReadinessProbe != nil || len(c.Ports) != 0 {
		t.Errorf("restart %s backoff %d probe %v ports %v", pod.RestartPolicy, *job.Spec.BackoffLimit, c.ReadinessProbe, c.Ports)
	}
	script := strings.Join(c.Command, " ")
	for _, want := range []string{"bin/rails runner", `Account.find_local!(ENV.fetch("TOKEN_USERNAME"))`, "Doorkeeper::AccessToken.create!", `scopes: "read write"`, `puts "access-token: `} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q", want)
		}
	}
	if strings.Contains(script, "alice") {
		t.Error("the username is on the command line")
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["TOKEN_USERNAME"] != "alice" || env["TOKEN_APP"] != "smoke" {
		t.Errorf("env %v", env)
	}
	if job.Labels[LabelComponent] != ComponentToken || job.Spec.Template.Labels[LabelComponent] != ComponentToken {
		t.Errorf("labels %v", job.Labels)
	}
}

func TestTokenFromLog(t *testing.T) {
	log := "I, some rails noise\naccess-token: AbC_12-3456789012345678901234\nbye\n"
	if tok, err := TokenFromLog(log); err != nil || tok != "AbC_12-3456789012345678901234" {
		t.Errorf("got %q, %v", tok, err)
	}
	for _, bad := range []string{"", "access-token: short", "no token here", "x access-token: AbC123456789012345678901234"} {
		if tok, err := TokenFromLog(bad); err == nil {
			t.Errorf("%q gave token %q", bad, tok)
		}
	}
}
