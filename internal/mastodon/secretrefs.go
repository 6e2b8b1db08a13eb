package mastodon

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// SecretRef is a key of a Secret in the instance's namespace that someone
// else manages (External Secrets, Vault, sealed-secrets): a credential the
// Pods read by reference (valueFrom.secretKeyRef, or a Secret volume)
// instead of the instance's own Secrets, so that the value never passes
// through the provider's configuration or state.
type SecretRef struct {
	Name, Key string
	// Hash is a hash of the value, which the provider reads from the
	// cluster before it renders (ReadFrom): it goes into the Pods'
	// checksum, so that a change of the value rolls them. It is mixed
	// with the instance's generated secrets there, and never kept
	// anywhere else.
	Hash string `json:",omitempty"`
}

// ReadFrom sets the reference's hash from its Secret's data, and says
// whether the key is there.
func (r *SecretRef) ReadFrom(data map[string]string) bool {
	v, ok := data[r.Key]
	if ok {
		r.Hash = hashOf("secret-ref", v)
	}
	return ok
}

// known: a reference whose name and key are known (at plan, either may not be yet).
func (r *SecretRef) known() bool { return r != nil && r.Name != "" && r.Key != "" }

// CheckSecretKey checks a key of a Secret's data.
func CheckSecretKey(v string) error {
	if v != "" && len(validation.IsConfigMapKey(v)) > 0 {
		return fmt.Errorf("%q is not a valid key of a Secret (letters, digits, '-', '_' and '.')", v)
	}
	return nil
}

// SecretRefAt is a reference with the attribute that gives it.
type SecretRefAt struct {
	Path string
	Ref  *SecretRef
}

// SecretRefs are the spec's references whose name and key are known, with
// the attributes that give them: the credentials' (<name>_secret_ref) and
// settings.extra_secret_env_refs' (settings.extra_secret_env_refs["NAME"]).
func (s *Spec) SecretRefs() []SecretRefAt {
	var out []SecretRefAt
	add := func(path string, r *SecretRef) {
		if r.known() {
			out = append(out, SecretRefAt{path, r})
		}
	}
	if d := s.Database; d != nil {
		add("database.password_secret_ref", d.PasswordRef)
		if x := d.Direct; x != nil {
			add("database.direct.password_secret_ref", x.PasswordRef)
		}
		if r := d.Replica; r != nil {
			add("database.replica.password_secret_ref", r.PasswordRef)
		}
		if c := d.CloudSQL; c != nil {
			add("database.cloud_sql.credentials_json_secret_ref", c.CredentialsRef)
		}
	}
	for _, role := range s.redisRoles() {
		if r := role.redis; r != nil {
			add(role.block+".password_secret_ref", r.PasswordRef)
			if x := r.Sentinel; x != nil {
				add(role.block+".sentinel.password_secret_ref", x.PasswordRef)
			}
		}
	}
	if m := s.SMTP; m != nil {
		add("smtp.password_secret_ref", m.PasswordRef)
	}
	if b := s.MediaBucket; b != nil {
		add("media_bucket.secret_access_key_secret_ref", b.SecretAccessKeyRef)
	}
	if x := s.Search; x != nil {
		add("opensearch.password_secret_ref", x.PasswordRef)
	}
	if t := s.Translation; t != nil {
		if d := t.DeepL; d != nil {
			add("translation.deepl.api_key_secret_ref", d.APIKeyRef)
		}
		if l := t.LibreTranslate; l != nil {
			add("translation.libre_translate.api_key_secret_ref", l.APIKeyRef)
		}
	}
	if r := s.Restore; r != nil && r.Bucket != nil {
		add("restore.bucket.secret_access_key_secret_ref", r.Bucket.SecretAccessKeyRef)
	}
	for _, r := range s.ssoRefs() {
		add(r.path, r.ref)
	}
	if h := s.HCaptcha; h != nil {
		add("hcaptcha.secret_key_secret_ref", h.SecretKeyRef)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Settings.ExtraSecretEnvRefs)) {
		add(fmt.Sprintf("settings.extra_secret_env_refs[%q]", k), s.Settings.ExtraSecretEnvRefs[k])
	}
	return out
}

// EnvRefs are the instance's environment variables that come by reference:
// the Rails and streaming containers read them by valueFrom.secretKeyRef,
// and the instance's Secret does not hold them.
func (s *Spec) EnvRefs() map[string]*SecretRef {
	out := map[string]*SecretRef{}
	add := func(env string, r *SecretRef) {
		if r != nil {
			out[env] = r
		}
	}
	if d := s.Database; d != nil {
		add(EnvDBPassword, d.PasswordRef)
		if r := d.Replica; r != nil {
			add(EnvReplicaPassword, r.PasswordRef)
		}
	}
	for _, role := range s.redisRoles() {
		if r := role.redis; r != nil {
			add(role.prefix+"REDIS_PASSWORD", r.PasswordRef)
			if x := r.Sentinel; x != nil {
				add(role.prefix+"REDIS_SENTINEL_PASSWORD", x.PasswordRef)
			}
		}
	}
	if m := s.SMTP; m != nil {
		add(EnvSMTPPassword, m.PasswordRef)
	}
	if b := s.MediaBucket; b != nil {
		add(EnvS3SecretKey, b.SecretAccessKeyRef)
	}
	if x := s.Search; x != nil {
		add(EnvSearchPassword, x.PasswordRef)
	}
	if t := s.Translation; t != nil {
		if d := t.DeepL; d != nil {
			add(EnvDeepLAPIKey, d.APIKeyRef)
		}
		if l := t.LibreTranslate; l != nil {
			add(EnvLibreTranslateAPIKey, l.APIKeyRef)
		}
	}
	for _, r := range s.ssoRefs() {
		add(r.env, r.ref)
	}
	if h := s.HCaptcha; h != nil {
		add(EnvHCaptchaSecretKey, h.SecretKeyRef)
	}
	for k, r := range s.Settings.ExtraSecretEnvRefs {
		add(k, r)
	}
	return out
}

// refEnv are the variables of refs, by name, each read from its Secret.
func refEnv(refs map[string]*SecretRef) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, k := range slices.Sorted(maps.Keys(refs)) {
		out = append(out, secretEnv(k, refs[k].Name, refs[k].Key))
	}
	return out
}

// secretRefsFeature gives the Rails and streaming containers the variables
// that come by reference (EnvRefs). The other references are their
// features' (the Cloud SQL key's volume, the restore bucket's key).
type secretRefsFeature struct{ noFeature }

// pod adds the variables to a Rails Pod's container (every Job made from
// one keeps them: see webPodJobSpec). Kubernetes gives env precedence
// over envFrom.
func (secretRefsFeature) pod(s *Spec, pod *corev1.PodSpec) {
	pod.Containers[0].Env = append(pod.Containers[0].Env, refEnv(s.EnvRefs())...)
}

// inputs: the referenced values' hashes, so a change rolls the Pods.
func (secretRefsFeature) inputs(s *Spec) []any {
	refs := s.EnvRefs()
	if len(refs) == 0 {
		return nil
	}
	return []any{"secret-refs", refs}
}

// validate refuses a variable given by reference and in another map of
// settings too.
func (secretRefsFeature) validate(s *Spec, e *fieldErrors) {
	st := s.Settings
	for _, k := range slices.Sorted(maps.Keys(st.ExtraSecretEnvRefs)) {
		_, inPlain := st.ExtraEnv[k]
		_, inSecret := st.ExtraSecretEnv[k]
		_, inWO := st.ExtraSecretEnvWriteOnly[k]
		if envNameRe.MatchString(k) && (inPlain || inSecret || inWO) {
			e.add("settings.extra_secret_env_refs", "%q is also in settings.extra_env, settings.extra_secret_env or settings.extra_secret_env_wo", k)
			e.related("settings.extra_env", "settings.extra_secret_env", "settings.extra_secret_env_wo")
		}
	}
}

// refNames are the names of refs, as a map of names (refuseExtra).
func refNames(refs map[string]*SecretRef) map[string]string {
	out := map[string]string{}
	for k := range refs {
		out[k] = ""
	}
	return out
}
