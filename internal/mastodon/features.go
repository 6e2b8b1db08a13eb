package mastodon

import (
	"fmt"
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// features are the optional features of an instance (see the package
// documentation), in the order they add their environment, Pod changes,
// checksum inputs and objects (stage by stage of Render). That order
// decides the rendered objects' order and the Pods' volumes: a new
// feature goes last.
var features = []feature{
	serviceAccountFeature{}, // first: its object precedes every other (the Cloud SQL key's was after it)
	autoscalingFeature{},
	metricsFeature{},
	smtpFeature{},
	searchFeature{},
	mediaBucketFeature{},
	cloudSQLFeature{},
	ingressFeature{},
	maintenanceFeature{},
	backupFeature{},
	translationFeature{},
	ownSecretsFeature{},
	restoreFeature{},
	secretRefsFeature{},
	gatewayFeature{},
	domainsFeature{},
	ssoFeature{},
	hcaptchaFeature{},
	observabilityFeature{},
	policyFeature{},
	mediaStoresFeature{},
	redisSplitFeature{},
	poolerFeature{},
	replicaFeature{},
}

// feature is what the core asks of an optional feature. Every method has a
// no-op in noFeature.
type feature interface {
	// defaults fills what the user left empty, after the core's defaults.
	defaults(s *Spec)
	// validate reports the problems of a defaulted spec, each naming its
	// attribute; values not known yet (empty) are skipped.
	validate(s *Spec, e *fieldErrors)
	// warnings are what the spec allows but will likely not work as meant.
	warnings(s *Spec) []FieldError
	// env adds to the environment of the Rails and streaming processes:
	// plain to the ConfigMap, secret to the Secret.
	env(s *Spec, plain, secret map[string]string)
	// pod changes a Rails Pod (web, Sidekiq, streaming and every Job run
	// from them).
	pod(s *Spec, pod *corev1.PodSpec)
	// migration changes the Pod of a Job that migrates the database
	// (db:prepare, db:migrate), after pod.
	migration(s *Spec, pod *corev1.PodSpec)
	// inputs are what the Rails Pods read besides the environment (files
	// of a ConfigMap, a sidecar's settings): a change rolls them.
	inputs(s *Spec) []any
	// workload changes a Deployment of web, streaming or Sidekiq.
	workload(s *Spec, w workload)
	// service changes web's or streaming's Service.
	service(s *Spec, svc *corev1.Service)
	// objects are the feature's objects at one stage of Render.
	objects(s *Spec, at stage) []Object
	// connections are the database connections the feature's Jobs may
	// hold, for the connection budget (Connections).
	connections(s *Spec) int32
	// volumes are the feature's data volumes (Volumes).
	volumes(s *Spec) []Volume
}

// noFeature does nothing: features embed it and override what they need.
type noFeature struct{}

func (noFeature) defaults(*Spec)                                  {}
func (noFeature) validate(*Spec, *fieldErrors)                    {}
func (noFeature) warnings(*Spec) []FieldError                     { return nil }
func (noFeature) env(*Spec, map[string]string, map[string]string) {}
func (noFeature) pod(*Spec, *corev1.PodSpec)                      {}
func (noFeature) migration(*Spec, *corev1.PodSpec)                {}
func (noFeature) inputs(*Spec) []any                              { return nil }
func (noFeature) workload(*Spec, workload)                        {}
func (noFeature) service(*Spec, *corev1.Service)                  {}
func (noFeature) objects(*Spec, stage) []Object                   { return nil }
func (noFeature) connections(*Spec) int32                         { return 0 }
func (noFeature) volumes(*Spec) []Volume                          { return nil }

// stage is a point of Render at which features add their objects. Render
// returns objects in the order they are applied, so each stage follows
// what its objects need and precedes what names them.
type stage int

const (
	// beforeConfig: the identity the Pods run as, and its key.
	beforeConfig stage = iota
	// afterSecrets: after the instance's Secret, the feature's own Secrets.
	afterSecrets
	// afterCertificates: after the database's CA, other CA ConfigMaps.
	afterCertificates
	// afterDeployments: what scales the Deployments.
	afterDeployments
	// beforeStreamingService: after web's Service, what streaming's names.
	beforeStreamingService
	// afterWorkloads: after every Service and disruption budget.
	afterWorkloads
)

// workload is a Deployment features may change: web, streaming or a
// Sidekiq process, with its autoscaler (nil for none).
type workload struct {
	component   string // ComponentWeb, ComponentStreaming or ComponentSidekiq
	autoscaling *Autoscaling
	deployment  *appsv1.Deployment
}

// featureObjects are the features' objects at a stage.
func (s *Spec) featureObjects(at stage) []Object {
	var out []Object
	for _, f := range features {
		out = append(out, f.objects(s, at)...)
	}
	return out
}

// fieldErrors collects validation errors and warnings.
type fieldErrors []FieldError

func (e *fieldErrors) add(path, format string, args ...any) {
	*e = append(*e, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// related names the other attributes the last error reads: while one of
// them is unknown (at plan), the provider leaves the error out, so a rule
// names every attribute it reads besides its own.
func (e *fieldErrors) related(paths ...string) {
	last := &(*e)[len(*e)-1]
	last.Related = append(last.Related, paths...)
}

// setNonEmpty sets the variables of vars whose values are not empty.
func setNonEmpty(env, vars map[string]string) {
	for k, v := range vars {
		if v != "" {
			env[k] = v
		}
	}
}

// refuseExtra refuses free-form variables that a block renders: they
// would silently replace its values.
func (s *Spec) refuseExtra(block string, rendered func(string) bool, e *fieldErrors) {
	s.eachExtra(func(attr, k string) {
		if rendered(k) {
			e.add(attr, "%q is set by %s: set it there", k, block)
			e.related(block)
		}
	})
}

// eachExtra calls f with every name of the free-form variables and the
// attribute that gives it, in a stable order.
func (s *Spec) eachExtra(f func(attr, name string)) {
	st := s.Settings
	for _, m := range []struct {
		attr string
		env  map[string]string
	}{{"settings.extra_env", st.ExtraEnv}, {"settings.extra_secret_env", st.ExtraSecretEnv},
		{"settings.extra_secret_env_wo", st.ExtraSecretEnvWriteOnly}, {"settings.extra_secret_env_refs", refNames(st.ExtraSecretEnvRefs)}} {
		for _, k := range slices.Sorted(maps.Keys(m.env)) {
			f(m.attr, k)
		}
	}
}

// refuseExtraNames refuses the free-form variables of names (variable ->
// the attribute that renders it), whether that attribute is set or not:
// the attribute owns the variable.
func (s *Spec) refuseExtraNames(names map[string]string, e *fieldErrors) {
	s.eachExtra(func(attr, k string) {
		if owner, ok := names[k]; ok {
			e.add(attr, "%q is set by %s: set it there", k, owner)
		}
	})
}
