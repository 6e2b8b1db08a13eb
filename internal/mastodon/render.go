package mastodon

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Components of an instance, as in the app.kubernetes.io/component label.
const (
	ComponentSecrets   = "secrets"
	ComponentWeb       = "web"
	ComponentStreaming = "streaming"
	ComponentSidekiq   = "sidekiq"
	ComponentDatabase  = "postgresql"
	ComponentRedis     = "redis"
	ComponentMedia     = "media"
	ComponentIngress   = "ingress"
	ComponentPrepare   = "db-prepare"
	ComponentInstance  = "instance"
	// ComponentDatabaseCA marks the ConfigMap holding the external
	// database's CA certificate.
	ComponentDatabaseCA = "database-ca"

	// AnnotationSpec on the ConfigMap holds the instance's configuration
	// without its secret values, so an import restores every attribute.
	AnnotationSpec = "mastodon.tootform.dev/spec"
	// AnnotationWriteOnlyKeys on the instance's Secret names the variables
	// given write-only (Settings.ExtraSecretEnvWriteOnly).
	AnnotationWriteOnlyKeys = "mastodon.tootform.dev/write-only-keys"
	// AnnotationChecksum on a Pod template holds a hash of everything the
	// component reads, so only the components whose inputs changed roll.
	AnnotationChecksum = "mastodon.tootform.dev/checksum"

	uid         = 991
	mastodonTmp = "/opt/mastodon/tmp"
	MediaPath   = "/opt/mastodon/public/system"
	// databaseCADir holds the database's CA certificate (databaseCAFile).
	databaseCADir  = "/etc/mastodon/database-ca"
	databaseCAFile = "ca.crt"
	// labelMedia marks the Pods that mount the media volume.
	labelMedia = "mastodon.tootform.dev/media"
)

// Names of an instance's objects.
func (s *Spec) ConfigMapName() string       { return s.Name + "-env" }
func (s *Spec) SecretName() string          { return s.Name + "-secrets" }
func (s *Spec) DatabaseName() string        { return s.Name + "-postgresql" }
func (s *Spec) RedisName() string           { return s.Name + "-redis" }
func (s *Spec) MediaName() string           { return s.Name + "-media" }
func (s *Spec) DatabaseCAName() string      { return s.Name + "-database-ca" }
func (s *Spec) WebName() string             { return s.Name + "-web" }
func (s *Spec) StreamingName() string       { return s.Name + "-streaming" }
func (s *Spec) SidekiqName(p string) string { return s.Name + "-sidekiq-" + p }

// PrepareJobName is the db-prepare Job's name. It carries a hash of the
// version and of the database it prepares, so a prepare once done is never
// repeated, and a new database (embedded <-> external) is prepared. A
// database restored from a dump (Restore) is prepared after the restore,
// though an earlier database of the same target was prepared already (a
// move back to the embedded database).
func (s *Spec) PrepareJobName() string {
	in := []any{s.Version, s.DatabaseTarget()}
	if s.Restore != nil {
		in = append(in, s.RestoreSource())
	}
	return s.Name + "-db-prepare-" + hashOf(in...)[:8]
}

// DatabaseTarget identifies the database the instance uses (not its
// credentials): when it changes, the new database must be prepared.
func (s *Spec) DatabaseTarget() string {
	d := s.Database
	switch {
	case d == nil:
		return "embedded"
	case d.CloudSQL != nil:
		return "cloudsql:" + d.CloudSQL.InstanceConnectionName + "/" + d.Name
	case d.Direct != nil:
		// The server itself, not the pooler in front of it: a pooler
		// switched on or off leaves the database the same.
		name := d.Name
		if d.Direct.Name != "" {
			name = d.Direct.Name
		}
		return fmt.Sprintf("postgresql://%s:%d/%s", d.Direct.Host, d.Direct.Port, name)
	}
	return fmt.Sprintf("postgresql://%s:%d/%s", d.Host, d.Port, d.Name)
}

// versionSlug makes a version fit in an object name: v4.7.2 gives 4-7-2.
func versionSlug(v string) string {
	return strings.ToLower(strings.NewReplacer(".", "-", "+", "-").Replace(strings.TrimPrefix(v, "v")))
}

// Domain is the domain users reach the web interface on.
func (s *Spec) Domain() string {
	if s.WebDomain != "" {
		return s.WebDomain
	}
	return s.LocalDomain
}

// URL is the instance's public address.
func (s *Spec) URL() string { return "https://" + s.Domain() }

// Image is the web/Sidekiq/Jobs image, StreamingImage the streaming one.
func (s *Spec) Image() string          { return s.Repository + ":" + s.Version }
func (s *Spec) StreamingImage() string { return s.StreamingRepo + ":" + s.Version }

// labels are the labels of the instance's objects: they carry the owner
// mark.
func (s *Spec) labels(component string) map[string]string {
	l := s.templateLabels(component)
	l[LabelOwner] = OwnerInstance
	return l
}

// templateLabels are the labels of Pod and volume claim templates: without
// the owner mark, which only objects need, so that adding the mark to an
// existing instance neither rolls its Pods nor touches a StatefulSet's
// immutable claim templates.
func (s *Spec) templateLabels(component string) map[string]string {
	l := Labels(s.Name, component, "")
	delete(l, LabelOwner)
	if versioned(component) {
		l[LabelVersion] = s.Version
	}
	return l
}

// versioned says whether a component's objects carry the Mastodon version:
// the data services and volumes do not, as they do not change with it (and
// a StatefulSet's claim templates cannot change at all).
func versioned(component string) bool {
	switch component {
	case ComponentDatabase, ComponentRedis, ComponentCacheRedis, ComponentMedia:
		return false
	}
	return true
}

// selector is the stable part of the labels (no version: selectors are immutable).
func (s *Spec) selector(component string) map[string]string {
	return map[string]string{LabelName: AppName, LabelInstance: s.Name, LabelComponent: component}
}

func (s *Spec) meta(name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Labels: s.labels(component)}
}

// Environment returns the non-secret environment (the ConfigMap) and the
// secret one (the Secret) of the Rails and streaming processes: the
// core's, each feature's, then the user's free-form variables, which
// replace none of the others (refuseOwnedExtra).
func (s *Spec) Environment(sec Secrets) (plain, secret map[string]string) {
	plain, secret = s.ownEnvironment(sec)
	st := s.Settings
	for k, v := range st.ExtraEnv {
		plain[k] = v
	}
	for k, v := range st.ExtraSecretEnv {
		secret[k] = v
	}
	for k, v := range st.ExtraSecretEnvWriteOnly {
		secret[k] = v
	}
	for k := range s.EnvRefs() {
		delete(secret, k) // read by reference (secretRefsFeature)
	}
	return plain, secret
}

// ownEnvironment is the environment without the free-form variables.
func (s *Spec) ownEnvironment(sec Secrets) (plain, secret map[string]string) {
	s.keyBase = sec.SecretKeyBase
	plain = map[string]string{
		"LOCAL_DOMAIN":           s.LocalDomain,
		"STREAMING_API_BASE_URL": "wss://" + s.Domain(),
		"WEB_CONCURRENCY":        strconv.Itoa(int(s.WebConcurrency)),
		"MAX_THREADS":            strconv.Itoa(int(s.MaxThreads)),
		"PREPARED_STATEMENTS":    "true",
	}
	secret = map[string]string{
		"SECRET_KEY_BASE":                              sec.SecretKeyBase,
		"VAPID_PRIVATE_KEY":                            sec.VapidPrivateKey,
		"VAPID_PUBLIC_KEY":                             sec.VapidPublicKey,
		"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY":   sec.EncryptionDeterministicKey,
		"ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT": sec.EncryptionKeyDerivationSalt,
		"ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY":         sec.EncryptionPrimaryKey,
	}
	if sec.OTPSecret != "" {
		secret["OTP_SECRET"] = sec.OTPSecret
	}
	if s.WebDomain != "" {
		plain["WEB_DOMAIN"] = s.WebDomain
	}
	s.databaseEnvironment(sec, plain, secret)
	s.redisEnvironment(sec, plain, secret)
	s.settingsEnvironment(plain)
	for _, f := range features {
		f.env(s, plain, secret)
	}
	return plain, secret
}

func (s *Spec) databaseEnvironment(sec Secrets, plain, secret map[string]string) {
	d := s.Database
	if d == nil {
		plain["DB_HOST"] = s.DatabaseName()
		plain["DB_PORT"] = "5432"
		plain["DB_NAME"] = "mastodon_production"
		plain["DB_USER"] = "mastodon"
		plain["DB_SSLMODE"] = "disable"
		secret[EnvDBPassword] = sec.DatabasePassword
		return
	}
	plain["DB_HOST"] = d.Host
	plain["DB_PORT"] = strconv.Itoa(int(d.Port))
	plain["DB_NAME"] = d.Name
	plain["DB_USER"] = d.User
	plain["DB_SSLMODE"] = d.SSLMode
	if d.Pool > 0 {
		plain["DB_POOL"] = strconv.Itoa(int(d.Pool))
	}
	if d.CACertificatePEM != "" {
		// libpq reads the CA from PGSSLROOTCERT when the connection
		// string names none (config/database.yml names none).
		plain["PGSSLROOTCERT"] = databaseCADir + "/" + databaseCAFile
	}
	secret[EnvDBPassword] = d.Password
}

func (s *Spec) redisEnvironment(sec Secrets, plain, secret map[string]string) {
	r := s.Redis
	if r == nil {
		plain["REDIS_HOST"] = s.RedisName()
		plain["REDIS_PORT"] = "6379"
		secret[EnvRedisPassword] = sec.RedisPassword
		return
	}
	r.environment("", plain, secret)
}

func (s *Spec) settingsEnvironment(plain map[string]string) {
	st := s.Settings
	if st.SingleUserMode {
		plain["SINGLE_USER_MODE"] = "true"
	}
	if st.AuthorizedFetch {
		plain["AUTHORIZED_FETCH"] = "true"
	}
	if st.LimitedFederationMode {
		plain["LIMITED_FEDERATION_MODE"] = "true"
	}
	if st.DefaultLocale != "" {
		plain["DEFAULT_LOCALE"] = st.DefaultLocale
	}
	if st.TrustedProxyIP != "" {
		plain["TRUSTED_PROXY_IP"] = st.TrustedProxyIP
	}
	if st.TimeZone != "" {
		// Both images install tzdata and set TZ=Etc/UTC (Dockerfile and
		// streaming/Dockerfile, ARG TZ): the zone of the processes' clocks,
		// so of the logs and of the Sidekiq scheduler's cron entries
		// (config/sidekiq.yml); Rails' own Time.zone stays UTC.
		plain["TZ"] = st.TimeZone
	}
}

// NamespaceObject is the namespace the provider creates for the instance
// when it does not exist yet, marked as created by it (AnnotationCreatedBy).
// It is created, never applied: a namespace that already exists is used as
// it is and never claimed.
func (s *Spec) NamespaceObject() Object {
	return NewObject(&corev1.Namespace{
		TypeMeta: typeMeta("v1", "Namespace"),
		ObjectMeta: metav1.ObjectMeta{Name: s.Namespace, Labels: s.labels(ComponentInstance),
			Annotations: map[string]string{AnnotationCreatedBy: s.Name}},
	})
}

// Render returns every object of the instance in its namespace, in the
// order they are applied: configuration first, then the embedded services,
// then the workloads; the features' objects at their stages. The namespace
// (NamespaceObject) and the Jobs (PrepareJob, MigrationJob) are apart.
//
// record is kept on the ConfigMap (AnnotationSpec): the caller's record of
// the configuration, so an import can restore it.
func (s *Spec) Render(sec Secrets, record string) []Object {
	plain, secret := s.Environment(sec)
	out := s.featureObjects(beforeConfig)
	add := func(o any) { out = append(out, NewObject(o)) }
	cm := &corev1.ConfigMap{
		TypeMeta:   typeMeta("v1", "ConfigMap"),
		ObjectMeta: s.meta(s.ConfigMapName(), ComponentConfig),
		Data:       plain,
	}
	if record != "" {
		cm.Annotations = map[string]string{AnnotationSpec: record}
	}
	add(cm)
	secretMeta := s.meta(s.SecretName(), ComponentSecrets)
	if keys := slices.Sorted(maps.Keys(s.Settings.ExtraSecretEnvWriteOnly)); len(keys) > 0 {
		secretMeta.Annotations = map[string]string{AnnotationWriteOnlyKeys: strings.Join(keys, ",")}
	}
	add(&corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: secretMeta,
		Type:       corev1.SecretTypeOpaque,
		Data:       bytesMap(secret),
	})
	out = append(out, s.featureObjects(afterSecrets)...)
	if ca := s.databaseCA(); ca != "" {
		out = append(out, s.caConfigMap(s.DatabaseCAName(), ComponentDatabaseCA, databaseCAFile, ca))
	}
	out = append(out, s.featureObjects(afterCertificates)...)
	if s.Database == nil {
		out = append(out, s.renderDatabase()...)
	}
	if s.Redis == nil {
		out = append(out, s.renderRedis()...)
	}
	if s.MediaBucket == nil && s.Media.ExistingClaim == "" {
		add(&corev1.PersistentVolumeClaim{
			TypeMeta:   typeMeta("v1", "PersistentVolumeClaim"),
			ObjectMeta: s.meta(s.MediaName(), ComponentMedia),
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.PersistentVolumeAccessMode(s.Media.AccessMode)},
				StorageClassName: optional(s.Media.StorageClass),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(s.Media.StorageSize)}},
			},
		})
	}
	out = append(out, s.renderWorkloads(s.podChecksum(plain, secret))...)
	return append(out, s.featureObjects(afterWorkloads)...)
}

// podChecksum is a hash of what every Rails Pod reads: the environment,
// the database's CA and what the features add.
func (s *Spec) podChecksum(plain, secret map[string]string) string {
	checksum := hashOf(plain, secret)
	if ca := s.databaseCA(); ca != "" {
		checksum = hashOf(checksum, ca)
	}
	for _, f := range features {
		if in := f.inputs(s); in != nil {
			checksum = hashOf(append([]any{checksum}, in...)...)
		}
	}
	return checksum
}

func (s *Spec) podSecurity() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](uid),
		RunAsGroup:     ptr.To[int64](uid),
		FSGroup:        ptr.To[int64](uid),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		// Volumes whose root already belongs to the group are not
		// re-chowned file by file at every start (a large media volume).
		FSGroupChangePolicy: ptr.To(corev1.FSGroupChangeOnRootMismatch),
	}
}

func containerSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func (s *Spec) envFrom() []corev1.EnvFromSource {
	return []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: s.ConfigMapName()}}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: s.SecretName()}}},
	}
}

func (s *Spec) pullSecrets() []corev1.LocalObjectReference {
	var refs []corev1.LocalObjectReference
	for _, n := range s.PullSecrets {
		refs = append(refs, corev1.LocalObjectReference{Name: n})
	}
	return refs
}

// railsPod is the Pod spec shared by web, Sidekiq and the Jobs, with the
// features' changes (mediaBucketFeature mounts the media volume when there
// is no bucket).
func (s *Spec) railsPod(name string, command []string, res Resources) corev1.PodSpec {
	pod := corev1.PodSpec{
		ServiceAccountName:           s.serviceAccountName(),
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext:              s.podSecurity(),
		ImagePullSecrets:             s.pullSecrets(),
		Containers: []corev1.Container{{
			Name:            name,
			Image:           s.Image(),
			ImagePullPolicy: corev1.PullPolicy(s.PullPolicy),
			Command:         command,
			EnvFrom:         s.envFrom(),
			Resources:       res.requirements(),
			SecurityContext: containerSecurity(),
		}},
	}
	// No volume over /opt/mastodon/tmp: it would hide the bootsnap cache
	// the image precompiles there, and the image gives the directory to
	// the mastodon user already (no root filesystem here is read-only).
	s.withDatabaseCA(&pod)
	for _, f := range features {
		f.pod(s, &pod)
	}
	return pod
}

// withMediaVolume mounts the media volume in a Rails Pod.
func (s *Spec) withMediaVolume(pod *corev1.PodSpec) {
	if s.Media.AccessMode != string(corev1.ReadWriteMany) {
		// A volume that one node at a time can mount: every Pod that uses
		// it must run on the same node, or the second one never starts.
		pod.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: s.mediaPods()},
				TopologyKey:   corev1.LabelHostname,
			}},
		}}
	}
	pod.Containers[0].VolumeMounts = append(pod.Containers[0].VolumeMounts,
		corev1.VolumeMount{Name: "media", MountPath: MediaPath})
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "media", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: s.MediaClaim()}}})
}

// mediaPods select the Pods that mount the media volume: the instance's,
// or, on a claim someone else made, every Pod labelled with the claim's
// name (during a takeover, the adopted release's Pods are: see
// MediaClaimLabel).
func (s *Spec) mediaPods() map[string]string {
	if s.Media.ExistingClaim != "" {
		return map[string]string{MediaClaimLabel: MediaClaimValue(s.Media.ExistingClaim)}
	}
	return map[string]string{LabelInstance: s.Name, labelMedia: "true"}
}

// MediaClaimLabel names, on a Pod, the media claim it mounts when the
// claim is someone else's (media.existing_claim). On a volume one node at
// a time can mount, the instance's Pods must run where the Pods that
// already mount it do: a takeover labels the release's running Pods with
// it (their labels only; their Deployments are not changed), so that the
// instance's Pods join them on their node.
const MediaClaimLabel = "mastodon.tootform.dev/media-claim"

// MediaClaimValue is MediaClaimLabel's value for a claim: its name, or a
// hash of it when the name is longer than a label value may be (63).
func MediaClaimValue(claim string) string {
	if len(claim) <= 63 {
		return claim
	}
	return "claim-" + hashOf(claim)[:16]
}

// withMediaLabel adds the media label to a Pod's labels when it mounts the
// media volume (and, on a claim someone else made, MediaClaimLabel).
func (s *Spec) withMediaLabel(labels map[string]string, pod corev1.PodSpec) map[string]string {
	for _, v := range pod.Volumes {
		if v.Name == "media" {
			out := map[string]string{labelMedia: "true"}
			if s.Media.ExistingClaim != "" {
				out[MediaClaimLabel] = MediaClaimValue(s.Media.ExistingClaim)
			}
			for k, val := range labels {
				out[k] = val
			}
			return out
		}
	}
	return labels
}

func (r Resources) requirements() corev1.ResourceRequirements {
	var req corev1.ResourceRequirements
	set := func(list *corev1.ResourceList, name corev1.ResourceName, v string) {
		if v == "" {
			return
		}
		if *list == nil {
			*list = corev1.ResourceList{}
		}
		(*list)[name] = resource.MustParse(v)
	}
	set(&req.Requests, corev1.ResourceCPU, r.CPURequest)
	set(&req.Requests, corev1.ResourceMemory, r.MemoryRequest)
	set(&req.Limits, corev1.ResourceCPU, r.CPULimit)
	set(&req.Limits, corev1.ResourceMemory, r.MemoryLimit)
	return req
}

// PrepareJob is the Job that prepares a fresh database (rake db:prepare):
// it creates the schema and seeds it, and nothing that runs Rails may start
// before it has succeeded.
func (s *Spec) PrepareJob() Object {
	return s.migrationJob(s.PrepareJobName(), ComponentPrepare, []string{"bundle", "exec", "rake", "db:prepare"}, nil)
}

func (s *Spec) migrationJob(name, component string, command []string, env []corev1.EnvVar) Object {
	pod := s.railsPod("migrate", command, s.jobResources())
	for _, f := range features {
		f.migration(s, &pod)
	}
	pod.RestartPolicy = corev1.RestartPolicyNever
	pod.Containers[0].Env = append(pod.Containers[0].Env, env...)
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: s.withMediaLabel(s.templateLabels(component), pod)}, Spec: pod}
	s.withJobSettings(&template, component)
	return NewObject(&batchv1.Job{
		TypeMeta:   typeMeta("batch/v1", "Job"),
		ObjectMeta: s.meta(name, component),
		Spec:       batchv1.JobSpec{BackoffLimit: ptr.To[int32](2), Template: template},
	})
}

// jobResources are the requests and limits of the Jobs' Mastodon
// containers: jobs.resources, else web's.
func (s *Spec) jobResources() Resources {
	if s.JobResources != nil {
		return *s.JobResources
	}
	return s.WebResources
}

// withJobSettings puts the Jobs' Pod settings into the template of a Job
// of component.
func (s *Spec) withJobSettings(t *corev1.PodTemplateSpec, component string) {
	s.PodSettingsOf(PodJobs, "").applyPod(&t.ObjectMeta, &t.Spec, s.selector(component))
}

func (s *Spec) deployment(name, component string, replicas int32, checksum string, pod corev1.PodSpec) *appsv1.Deployment {
	sel := s.selector(component)
	if component == ComponentSidekiq {
		sel[labelProcess] = strings.TrimPrefix(name, s.Name+"-sidekiq-")
	}
	labels, podLabels := s.labels(component), s.templateLabels(component)
	for k, v := range sel {
		labels[k], podLabels[k] = v, v
	}
	meta := s.meta(name, component)
	meta.Labels = labels
	podLabels = s.withMediaLabel(podLabels, pod)
	settings := s.PodSettingsOf(component, sel[labelProcess])
	meta.Annotations = maps.Clone(settings.DeploymentAnnotations)
	if component == ComponentWeb {
		if j := s.jobPodMetadata(); j != "" {
			if meta.Annotations == nil {
				meta.Annotations = map[string]string{}
			}
			meta.Annotations[AnnotationJobPod] = j
		}
	}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      podLabels,
			Annotations: map[string]string{AnnotationChecksum: checksum},
		},
		Spec: pod,
	}
	settings.applyPod(&template.ObjectMeta, &template.Spec, sel)
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: managedReplicas(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: template,
		},
	}
}

// renderWorkloads renders the Deployments of web, streaming and Sidekiq,
// changed by the features, and their Services and disruption budgets.
func (s *Spec) renderWorkloads(checksum string) []Object {
	workloads := []workload{
		{ComponentWeb, s.WebAutoscaling, s.webDeployment(checksum)},
		{ComponentStreaming, s.StreamAutoscaling, s.streamingDeployment(checksum)},
	}
	for _, p := range s.Sidekiq {
		workloads = append(workloads, workload{ComponentSidekiq, p.Autoscaling, s.sidekiqDeployment(p, checksum)})
	}
	var out []Object
	add := func(o any) { out = append(out, NewObject(o)) }
	for _, w := range workloads {
		for _, f := range features {
			f.workload(s, w)
		}
		add(w.deployment)
	}
	out = append(out, s.featureObjects(afterDeployments)...)

	webService := s.service(s.WebName(), ComponentWeb, "http", WebServicePort)
	streamingService := s.service(s.StreamingName(), ComponentStreaming, "streaming", StreamingServicePort)
	for _, f := range features {
		f.service(s, webService)
		f.service(s, streamingService)
	}
	add(webService)
	out = append(out, s.featureObjects(beforeStreamingService)...)
	add(streamingService)

	pdb := func(name, component string, replicas int32) {
		if replicas < 2 {
			return
		}
		add(&policyv1.PodDisruptionBudget{
			TypeMeta:   typeMeta("policy/v1", "PodDisruptionBudget"),
			ObjectMeta: s.meta(name, component),
			Spec: policyv1.PodDisruptionBudgetSpec{
				MaxUnavailable: ptr.To(intstr.FromInt32(1)),
				Selector:       &metav1.LabelSelector{MatchLabels: s.selector(component)},
			},
		})
	}
	pdb(s.WebName(), ComponentWeb, floor(s.WebReplicas, s.WebAutoscaling))
	pdb(s.StreamingName(), ComponentStreaming, floor(s.StreamReplicas, s.StreamAutoscaling))
	return out
}

func (s *Spec) webDeployment(checksum string) *appsv1.Deployment {
	web := s.railsPod("web", []string{"bundle", "exec", "puma", "-C", "config/puma.rb"}, s.WebResources)
	c := &web.Containers[0]
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 3000, Protocol: corev1.ProtocolTCP}}
	c.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("http")}},
		PeriodSeconds: 5, FailureThreshold: 3,
	}
	c.LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}},
		PeriodSeconds: 10, FailureThreshold: 6,
	}
	c.StartupProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("http")}},
		PeriodSeconds: 5, FailureThreshold: 60,
	}
	return s.deployment(s.WebName(), ComponentWeb, s.WebReplicas, hashOf(checksum, s.Image(), s.WebResources, s.WebReplicas != 0), web)
}

func (s *Spec) streamingDeployment(checksum string) *appsv1.Deployment {
	streaming := s.railsPod("streaming", []string{"node", "./streaming"}, s.StreamResources)
	c := &streaming.Containers[0]
	c.Image = s.StreamingImage()
	streaming.Affinity = nil
	// Streaming needs no media volume: keep the database CA and the Cloud
	// SQL key, if any.
	var volumes []corev1.Volume
	for _, v := range streaming.Volumes {
		if v.Name != "media" {
			volumes = append(volumes, v)
		}
	}
	streaming.Volumes = volumes
	var mounts []corev1.VolumeMount
	for _, m := range c.VolumeMounts {
		if m.Name != "media" {
			mounts = append(mounts, m)
		}
	}
	c.VolumeMounts = mounts
	c.Env = append(append(c.Env, corev1.EnvVar{Name: "PORT", Value: "4000"}), s.streamingDatabaseEnv()...)
	c.Ports = []corev1.ContainerPort{{Name: "streaming", ContainerPort: 4000, Protocol: corev1.ProtocolTCP}}
	c.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/api/v1/streaming/health", Port: intstr.FromString("streaming")}},
		PeriodSeconds: 5, FailureThreshold: 3,
	}
	c.LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("streaming")}},
		PeriodSeconds: 10, FailureThreshold: 6,
	}
	return s.deployment(s.StreamingName(), ComponentStreaming, s.StreamReplicas, hashOf(checksum, s.StreamingImage(), s.StreamResources), streaming)
}

func (s *Spec) sidekiqDeployment(p SidekiqProcess, checksum string) *appsv1.Deployment {
	cmd := []string{"bundle", "exec", "sidekiq", "-c", strconv.Itoa(int(p.Concurrency))}
	for _, q := range p.Queues {
		arg := q.Name
		if q.Weight > 0 {
			arg += "," + strconv.Itoa(q.Weight)
		}
		cmd = append(cmd, "-q", arg)
	}
	pod := s.railsPod("sidekiq", cmd, p.Resources)
	pod.Containers[0].Env = append(pod.Containers[0].Env, corev1.EnvVar{Name: "DB_POOL", Value: strconv.Itoa(int(p.Concurrency))})
	pod.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{
			"test", "-f", mastodonTmp + "/sidekiq_process_has_started_and_will_begin_processing_jobs"}}},
		PeriodSeconds: 5, FailureThreshold: 3,
	}
	d := s.deployment(s.SidekiqName(p.Name), ComponentSidekiq, p.Replicas, hashOf(checksum, s.Image(), p.podInputs()), pod)
	if p.serves("scheduler") {
		// Never two scheduler processes, not even during a rollout.
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	}
	return d
}

// managedReplicas is a Deployment's replicas, or nil when another
// controller sets them (ScaledElsewhere).
func managedReplicas(n int32) *int32 {
	if n == ScaledElsewhere {
		return nil
	}
	return ptr.To(n)
}

func (p SidekiqProcess) serves(queue string) bool {
	for _, q := range p.Queues {
		if q.Name == queue {
			return true
		}
	}
	return false
}

func (s *Spec) service(name, component, port string, number int32) *corev1.Service {
	meta := s.meta(name, component)
	if component == ComponentWeb || component == ComponentStreaming {
		meta.Annotations = maps.Clone(s.PodSettingsOf(component, "").ServiceAnnotations)
	}
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: s.selector(component),
			Ports:    []corev1.ServicePort{{Name: port, Port: number, TargetPort: intstr.FromString(port), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// onlyFromInstance is a NetworkPolicy letting only this instance's Pods
// reach a component's port.
func (s *Spec) onlyFromInstance(name, component string, port int32) *networkingv1.NetworkPolicy {
	tcp := corev1.ProtocolTCP
	return &networkingv1.NetworkPolicy{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "NetworkPolicy"),
		ObjectMeta: s.meta(name, component),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: s.selector(component)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{LabelName: AppName, LabelInstance: s.Name}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(port))}},
			}},
		},
	}
}

// statefulService is a single-replica StatefulSet with its Service and
// NetworkPolicy, as the embedded PostgreSQL and Redis are; annotations go
// on its Pod template.
func (s *Spec) statefulService(name, component string, port int32, runAs int64, container corev1.Container, claims []corev1.PersistentVolumeClaim,
	annotations map[string]string) []Object {
	container.SecurityContext = containerSecurity()
	container.Ports = []corev1.ContainerPort{{Name: component, ContainerPort: port, Protocol: corev1.ProtocolTCP}}
	sec := s.podSecurity()
	sec.RunAsUser, sec.RunAsGroup, sec.FSGroup = &runAs, &runAs, &runAs
	sts := &appsv1.StatefulSet{
		TypeMeta:   typeMeta("apps/v1", "StatefulSet"),
		ObjectMeta: s.meta(name, component),
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](1),
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: s.selector(component)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: s.templateLabels(component), Annotations: annotations},
				Spec: corev1.PodSpec{
					ServiceAccountName:           s.serviceAccountName(),
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              sec,
					Containers:                   []corev1.Container{container},
					Volumes:                      []corev1.Volume{{Name: "run", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
			VolumeClaimTemplates: claims,
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
		},
	}
	s.PodSettingsOf(component, "").applyPod(&sts.Spec.Template.ObjectMeta, &sts.Spec.Template.Spec, s.selector(component))
	return []Object{
		NewObject(sts),
		NewObject(s.service(name, component, component, port)),
		NewObject(s.onlyFromInstance(name, component, port)),
	}
}

func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
}

func (s *Spec) renderDatabase() []Object {
	c := corev1.Container{
		Name:  "postgresql",
		Image: PostgresImage,
		Env: []corev1.EnvVar{
			{Name: "POSTGRES_USER", Value: "mastodon"},
			{Name: "POSTGRES_DB", Value: "mastodon_production"},
			{Name: "PGDATA", Value: "/var/lib/postgresql/data/pgdata"},
			secretEnv("POSTGRES_PASSWORD", s.SecretName(), EnvDBPassword),
		},
		Resources: s.Embedded.Resources.requirements(),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "data", MountPath: "/var/lib/postgresql/data"},
			{Name: "run", MountPath: "/var/run/postgresql"},
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"pg_isready", "-h", "127.0.0.1", "-U", "mastodon", "-d", "mastodon_production"}}},
			PeriodSeconds: 5,
		},
	}
	if n := s.EmbeddedMaxConnections(); n != DefaultMaxConnections {
		// The image's entrypoint passes these to the server; the default
		// (100) is left unsaid, so that instances within it never restart
		// their database for it.
		c.Args = []string{"postgres", "-c", "max_connections=" + strconv.Itoa(int(n))}
	}
	claim := s.dataClaim(ComponentDatabase, s.Embedded.StorageClass, s.Embedded.StorageSize)
	// The postgres image's alpine variant runs as uid 70.
	return s.statefulService(s.DatabaseName(), ComponentDatabase, 5432, 70, c, []corev1.PersistentVolumeClaim{claim}, nil)
}

// dataClaim is the claim template "data" of an embedded service's
// StatefulSet (its labels are template labels: claim templates never change).
func (s *Spec) dataClaim(component, class, size string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		TypeMeta:   typeMeta("v1", "PersistentVolumeClaim"),
		ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: s.templateLabels(component)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: optional(class),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
}

func (s *Spec) renderRedis() []Object {
	c := corev1.Container{
		Name:  "redis",
		Image: RedisImage,
		// Redis holds Sidekiq's queues, scheduled jobs and retries: keep
		// them on the volume, in the append-only file and in snapshots.
		Command: []string{"redis-server", "--requirepass", "$(REDIS_PASSWORD)", "--dir", "/data",
			"--appendonly", "yes", "--save", "3600", "1", "300", "100", "60", "10000"},
		Env:       []corev1.EnvVar{secretEnv("REDIS_PASSWORD", s.SecretName(), EnvRedisPassword)},
		Resources: s.EmbeddedRedis.Resources.requirements(),
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(6379)}},
			PeriodSeconds: 5,
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
	}
	claim := s.dataClaim(ComponentRedis, s.EmbeddedRedis.StorageClass, s.EmbeddedRedis.StorageSize)
	// The redis image's alpine variant runs as uid 999.
	return s.statefulService(s.RedisName(), ComponentRedis, 6379, 999, c, []corev1.PersistentVolumeClaim{claim}, nil)
}

// databaseCA is the external database's CA certificate, or "".
func (s *Spec) databaseCA() string {
	if s.Database == nil {
		return ""
	}
	return s.Database.CACertificatePEM
}

// withDatabaseCA mounts the database's CA certificate, if any.
func (s *Spec) withDatabaseCA(pod *corev1.PodSpec) {
	if s.databaseCA() != "" {
		mountConfigMap(pod, "database-ca", s.DatabaseCAName(), databaseCADir)
	}
}

// caConfigMap is a ConfigMap of ours holding a CA certificate in file.
func (s *Spec) caConfigMap(name, component, file, pem string) Object {
	return NewObject(&corev1.ConfigMap{
		TypeMeta:   typeMeta("v1", "ConfigMap"),
		ObjectMeta: s.meta(name, component),
		Data:       map[string]string{file: pem},
	})
}

// mountConfigMap mounts a ConfigMap read-only at dir in every container of
// a Pod, as volume.
func mountConfigMap(pod *corev1.PodSpec, volume, configMap, dir string) {
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: volume, VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: configMap}}}})
	for i := range pod.Containers {
		pod.Containers[i].VolumeMounts = append(pod.Containers[i].VolumeMounts,
			corev1.VolumeMount{Name: volume, MountPath: dir, ReadOnly: true})
	}
}

// StreamingSSLMode is the DB_SSLMODE the streaming server needs for a
// libpq sslmode. streaming/database.js reads the variable its own way:
// disable (or empty) means no TLS, no-verify TLS without verification, and
// any other value TLS verified against Node's CAs, host name included.
// node-postgres never falls back to plain text as libpq's allow and prefer
// do, so those get disable, which works against a server with or without
// TLS (unless it demands TLS: then sslmode is require). verify-ca gets
// no-verify: Node cannot check the CA without the host name, and a check
// Rails does not make would break servers reached by IP address.
// libpq refuses no-verify, so streaming gets its own value.
func StreamingSSLMode(libpq string) string {
	switch libpq {
	case "", "disable", "allow", "prefer":
		return "disable"
	case "verify-full":
		return "verify-full"
	}
	return "no-verify"
}

// streamingDatabaseEnv overrides the ConfigMap's DB_SSLMODE for streaming
// and gives Node the database's CA.
func (s *Spec) streamingDatabaseEnv() []corev1.EnvVar {
	mode := "disable" // the embedded PostgreSQL
	if s.Database != nil {
		mode = StreamingSSLMode(s.Database.SSLMode)
	}
	env := []corev1.EnvVar{{Name: "DB_SSLMODE", Value: mode}}
	if s.databaseCA() != "" {
		// Node adds these to its CAs at start.
		env = append(env, corev1.EnvVar{Name: "NODE_EXTRA_CA_CERTS", Value: databaseCADir + "/" + databaseCAFile})
	}
	return env
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func bytesMap(m map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}

// hashOf is a stable hash of values, for checksum annotations.
func hashOf(values ...any) string {
	h := sha256.New()
	for _, v := range values {
		b, err := json.Marshal(v) // maps marshal with sorted keys
		if err != nil {
			panic(fmt.Sprintf("hashing %T: %v", v, err))
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
