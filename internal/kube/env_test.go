package kube

import (
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The environment as the kubelet builds it: envFrom in order (a later
// source wins, prefixes apply), then env over it; an optional source or
// key that is missing is skipped, a required one is an error naming it.
func TestContainerEnv(t *testing.T) {
	yes := true
	data := map[string]map[string]string{
		"ConfigMap/env": {"LOCAL_DOMAIN": "example.com", "DB_HOST": "db"},
		"Secret/keys":   {"SECRET_KEY_BASE": "s3cret", "DB_HOST": "from-secret"},
	}
	read := func(kind, name string) (map[string]string, error) { return data[kind+"/"+name], nil }
	ctr := corev1.Container{
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env"}}},
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "keys"}}},
			{Prefix: "X_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env"}}},
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: &yes}},
		},
		Env: []corev1.EnvVar{
			{Name: "LOCAL_DOMAIN", Value: "literal.example"},
			{Name: "DB_PASS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "keys"}, Key: "SECRET_KEY_BASE"}}},
			{Name: "MAYBE", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "keys"}, Key: "nope", Optional: &yes}}},
		},
	}
	env, fromSecret, err := ContainerEnv(ctr, "web", read)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"LOCAL_DOMAIN": "literal.example", "DB_HOST": "from-secret", "SECRET_KEY_BASE": "s3cret", "DB_PASS": "s3cret",
		"X_LOCAL_DOMAIN": "example.com", "X_DB_HOST": "db"}
	if !maps.Equal(env, want) {
		t.Errorf("env %v, want %v", env, want)
	}
	if !fromSecret["DB_HOST"] || !fromSecret["DB_PASS"] || fromSecret["LOCAL_DOMAIN"] || fromSecret["X_DB_HOST"] {
		t.Errorf("fromSecret %v", fromSecret)
	}
	ctr.Env = append(ctr.Env, corev1.EnvVar{Name: "REQUIRED", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "env"}, Key: "missing"}}})
	if _, _, err := ContainerEnv(ctr, "web", read); err == nil || !strings.Contains(err.Error(), `web reads REQUIRED from key "missing" of ConfigMap env`) {
		t.Errorf("a required key that is missing: %v", err)
	}
	ctr.EnvFrom = append(ctr.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}}})
	if _, _, err := ContainerEnv(ctr, "web", read); err == nil || !strings.Contains(err.Error(), "web reads its environment from Secret absent, which does not exist") {
		t.Errorf("a required source that is missing: %v", err)
	}
}
