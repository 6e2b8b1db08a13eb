package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// ContainerEnv is the environment the kubelet gives a container: its
// envFrom sources in order (a later one wins, with its prefix), then its
// env (values, secretKeyRef, configMapKeyRef; fieldRef and
// resourceFieldRef are left out). read returns the data of a ConfigMap or
// Secret of the Pod's namespace (nil when it does not exist); owner names
// the workload in errors. fromSecret says which variables came from a
// Secret.
func ContainerEnv(ctr corev1.Container, owner string, read func(kind, name string) (map[string]string, error)) (env map[string]string, fromSecret map[string]bool, err error) {
	env, fromSecret = map[string]string{}, map[string]bool{}
	for _, from := range ctr.EnvFrom {
		kind, name, optional := "ConfigMap", "", false
		if r := from.ConfigMapRef; r != nil {
			name, optional = r.Name, r.Optional != nil && *r.Optional
		} else if r := from.SecretRef; r != nil {
			kind, name, optional = "Secret", r.Name, r.Optional != nil && *r.Optional
		}
		vars, err := read(kind, name)
		if err != nil {
			return nil, nil, err
		}
		if vars == nil && !optional {
			return nil, nil, fmt.Errorf("%s reads its environment from %s %s, which does not exist", owner, kind, name)
		}
		for k, v := range vars {
			env[from.Prefix+k] = v
			fromSecret[from.Prefix+k] = kind == "Secret"
		}
	}
	for _, e := range ctr.Env {
		switch vf := e.ValueFrom; {
		case vf == nil:
			env[e.Name], fromSecret[e.Name] = e.Value, false
		case vf.SecretKeyRef != nil || vf.ConfigMapKeyRef != nil:
			kind, ref, key, opt := "Secret", "", "", (*bool)(nil)
			if r := vf.SecretKeyRef; r != nil {
				ref, key, opt = r.Name, r.Key, r.Optional
			} else {
				r := vf.ConfigMapKeyRef
				kind, ref, key, opt = "ConfigMap", r.Name, r.Key, r.Optional
			}
			optional := opt != nil && *opt
			vars, err := read(kind, ref)
			if err != nil {
				return nil, nil, err
			}
			v, ok := vars[key]
			if !ok && !optional {
				return nil, nil, fmt.Errorf("%s reads %s from key %q of %s %s, which does not hold it", owner, e.Name, key, kind, ref)
			}
			if ok {
				env[e.Name], fromSecret[e.Name] = v, kind == "Secret"
			}
		}
	}
	return env, fromSecret, nil
}
