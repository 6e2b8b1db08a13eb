package mastodon

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// refSpec is fullSpec with its SMTP password, its external database's
// password and one extra variable given by reference, each read (hashed)
// from data.
func refSpec(t *testing.T, data map[string]string) *Spec {
	s := fullSpec(t)
	s.SMTP.Password, s.SMTP.PasswordRef = "", &SecretRef{Name: "mail", Key: "password"}
	s.Database.Password, s.Database.PasswordRef = "", &SecretRef{Name: "db", Key: "password"}
	s.Settings.ExtraSecretEnvRefs = map[string]*SecretRef{"EXTRA_TOKEN": {Name: "mail", Key: "token"}}
	for _, at := range s.SecretRefs() {
		if !at.Ref.ReadFrom(map[string]string{at.Ref.Key: data[at.Ref.Name+"/"+at.Ref.Key]}) {
			t.Fatal(at.Path)
		}
	}
	return s
}

func deploymentChecksums(t *testing.T, s *Spec) map[string]string {
	out := map[string]string{}
	for _, o := range s.Render(fixedSecrets, "") {
		if o.Kind == "Deployment" {
			out[o.Name] = find[appsv1.Deployment](t, []Object{o}, "Deployment", o.Name).Spec.Template.Annotations[AnnotationChecksum]
		}
	}
	return out
}

// A variable given by reference is read by secretKeyRef in every Rails
// container (web, streaming, Sidekiq, the Jobs made from them), is not in
// the instance's Secret, and its value is in no rendered object.
func TestSecretRefsRendered(t *testing.T) {
	data := map[string]string{"mail/password": "the-smtp-value", "db/password": "the-db-value", "mail/token": "the-token-value"}
	s := refSpec(t, data)
	objs := append(s.Render(fixedSecrets, ""), s.PrepareJob(), s.MigrationJob(PreDeployment))
	for _, o := range objs {
		if body := fmt.Sprint(o.Body); strings.Contains(body, "-value") {
			t.Errorf("%s %s holds a referenced value", o.Kind, o.Name)
		}
	}
	secret := find[corev1.Secret](t, objs, "Secret", s.SecretName())
	for _, k := range []string{EnvSMTPPassword, EnvDBPassword, "EXTRA_TOKEN"} {
		if _, ok := secret.Data[k]; ok {
			t.Errorf("the instance's Secret holds %s", k)
		}
	}
	want := map[string][2]string{EnvSMTPPassword: {"mail", "password"}, EnvDBPassword: {"db", "password"}, "EXTRA_TOKEN": {"mail", "token"}}
	pods := 0
	for _, o := range objs {
		var pod corev1.PodSpec
		switch o.Kind {
		case "Deployment":
			pod = find[appsv1.Deployment](t, []Object{o}, o.Kind, o.Name).Spec.Template.Spec
		case "Job":
			pod = find[batchv1.Job](t, []Object{o}, o.Kind, o.Name).Spec.Template.Spec
		default:
			continue
		}
		pods++
		got := map[string][2]string{}
		for _, e := range pod.Containers[0].Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				got[e.Name] = [2]string{e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key}
			}
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s %s: %s from %v, want %v", o.Kind, o.Name, k, got[k], w)
			}
		}
	}
	if pods < 5 {
		t.Errorf("%d Pods checked", pods)
	}
}

// A change of a referenced value rolls the Pods that read it; reading the
// same values again changes nothing.
func TestSecretRefsChecksum(t *testing.T) {
	data := map[string]string{"mail/password": "one", "db/password": "two", "mail/token": "three"}
	before := deploymentChecksums(t, refSpec(t, data))
	if again := deploymentChecksums(t, refSpec(t, data)); !equalMaps(again, before) {
		t.Errorf("the same values roll the Pods: %v, were %v", again, before)
	}
	for _, k := range []string{"mail/password", "db/password", "mail/token"} {
		changed := map[string]string{}
		for kk, v := range data {
			changed[kk] = v
		}
		changed[k] = "changed"
		after := deploymentChecksums(t, refSpec(t, changed))
		for name, sum := range before {
			if after[name] == sum {
				t.Errorf("%s changed: %s keeps its checksum", k, name)
			}
		}
	}
}

// The Cloud SQL key by reference: the proxy reads the referenced key as its
// key file, no Secret of ours holds it, and a change of it rolls the Pods.
func TestCloudSQLKeyByReference(t *testing.T) {
	spec := func(value string) *Spec {
		s := cloudSQLSpec(CloudSQL{InstanceConnectionName: "p:r:i", CredentialsRef: &SecretRef{Name: "gsa", Key: "key.json"}})
		s.Database.CloudSQL.CredentialsRef.ReadFrom(map[string]string{"key.json": value})
		return s
	}
	s := spec("{}")
	var e fieldErrors
	s.Database.CloudSQL.validate(&e, false)
	if len(e) > 0 {
		t.Errorf("a key by reference is refused: %v", e)
	}
	objs := s.Render(fixedSecrets, "")
	for _, o := range objs {
		if o.Kind == "Secret" && o.Name == s.CloudSQLSecretName() {
			t.Error("the key's Secret is rendered")
		}
	}
	web := find[appsv1.Deployment](t, objs, "Deployment", s.WebName()).Spec.Template.Spec
	found := false
	for _, v := range web.Volumes {
		if v.Name == "cloudsql-key" && v.Secret != nil && v.Secret.SecretName == "gsa" && len(v.Secret.Items) == 1 &&
			v.Secret.Items[0] == (corev1.KeyToPath{Key: "key.json", Path: CloudSQLKeyFile}) {
			found = true
		}
	}
	if !found || !strings.Contains(strings.Join(web.InitContainers[0].Args, " "), "--credentials-file=") {
		t.Errorf("the proxy does not read the referenced key: %+v %v", web.Volumes, web.InitContainers[0].Args)
	}
	if a, b := deploymentChecksums(t, spec("{}")), deploymentChecksums(t, spec(`{"new":1}`)); a[s.WebName()] == b[s.WebName()] {
		t.Error("a new key keeps web's checksum")
	}
}
