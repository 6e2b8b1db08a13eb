package provider

// Adoption of an instance that one of Mastodon's official Helm charts
// installed: `terraform import` (or an import block) with the ID
// helm:<namespace>/<release>[/<name>] reads the release's objects and
// gives the state of the equivalent mastodon_instance (its secrets, its
// database and Redis, its media claim, its settings), without changing
// anything in the cluster. The first apply after it is the takeover
// (instance_takeover.go).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// privateAdoptionKey holds, in private state, the Helm release an import
// adopted until the takeover is done.
const privateAdoptionKey = "helm_adoption"

// helmAdoption is the release being taken over.
type helmAdoption struct {
	Release string `json:"release"`
	Chart   string `json:"chart"`
	// Revision is the release's revision the import read: a takeover of
	// another one (a helm upgrade since) is refused.
	Revision int `json:"revision"`
}

// helmImportPrefix starts the import ID of an adoption.
const helmImportPrefix = "helm:"

// parseHelmID reads helm:<namespace>/<release>[/<name>]; the instance is
// named after the release unless a name is given.
func parseHelmID(id string) (ns, release, name string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(id, helmImportPrefix), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return "", "", "", false
	}
	name = parts[1]
	if len(parts) == 3 {
		name = parts[2]
	}
	return parts[0], parts[1], name, name != ""
}

// heldAdoption is the adoption a state holds (nil for none).
func heldAdoption(ctx context.Context, p privateReader) (*helmAdoption, diag.Diagnostics) {
	raw, d := p.GetKey(ctx, privateAdoptionKey)
	if d.HasError() || len(raw) == 0 {
		return nil, d
	}
	var a helmAdoption
	if err := json.Unmarshal(raw, &a); err != nil || a.Release == "" {
		d.AddError("Cannot read the adoption in private state", fmt.Sprintf("%q: %v", raw, err))
		return nil, d
	}
	return &a, d
}

// holdAdoption keeps the adoption in private state; nil drops it.
func holdAdoption(ctx context.Context, p privateWriter, a *helmAdoption) diag.Diagnostics {
	if a == nil {
		return p.SetKey(ctx, privateAdoptionKey, nil)
	}
	raw, _ := json.Marshal(a)
	return p.SetKey(ctx, privateAdoptionKey, raw)
}

// chartRelease is an adopted release: its record and the objects its
// manifest lists, as the cluster holds them.
type chartRelease struct {
	rel       *kube.HelmRelease
	chart     string
	objs      map[string]*unstructured.Unstructured // by kube.Key
	web       *appsv1.Deployment
	streaming *appsv1.Deployment
	sidekiq   map[string]*appsv1.Deployment // by worker
}

// chartKinds are the kinds of a release's objects that an adoption reads.
var chartKinds = []string{"ConfigMap", "Secret", "PersistentVolumeClaim", "Service", "StatefulSet", "Deployment", "Ingress", "CronJob"}

// readChartRelease reads release in ns: its last revision, which must be
// deployed from a chart whose layout is known, and the objects its
// manifest lists.
func readChartRelease(ctx context.Context, c instanceCluster, ns, release string) (*chartRelease, error) {
	rel, err := c.HelmRelease(ctx, ns, release)
	if err != nil {
		return nil, err
	}
	if rel == nil {
		return nil, fmt.Errorf("no Helm release %q in namespace %s (Helm holds no Secret sh.helm.release.v1.%s.v<revision> labelled owner=helm): "+
			"`helm list -n %s` lists the releases there; a release stored by Helm's configmap or sql driver is not read", release, ns, release, ns)
	}
	if rel.Status != "deployed" {
		return nil, fmt.Errorf("the last revision (%d) of Helm release %s/%s is %s, not deployed: adopt a release that runs as Helm last installed it",
			rel.Revision, ns, release, rel.Status)
	}
	chart, err := mastodon.AdoptableChart(rel.Chart, rel.ChartVersion)
	if err != nil {
		return nil, fmt.Errorf("the Helm release %s/%s: %w", ns, release, err)
	}
	listed, err := rel.Objects()
	if err != nil {
		return nil, err
	}
	if err := routable(listed); err != nil {
		return nil, fmt.Errorf("the Helm release %s/%s: %w", ns, release, err)
	}
	live, err := c.List(ctx, ns, mastodon.ChartLabelInstance+"="+release, chartKinds)
	if err != nil {
		return nil, err
	}
	cr := &chartRelease{rel: rel, chart: chart, objs: map[string]*unstructured.Unstructured{}, sidekiq: map[string]*appsv1.Deployment{}}
	for _, o := range listed {
		u := live[o.Kind+"/"+ns+"/"+o.Name]
		if u == nil {
			continue // a kind not read, or gone
		}
		cr.objs[kube.Key(u)] = u
		if o.Kind != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
			return nil, fmt.Errorf("the Deployment %s/%s: %w", ns, o.Name, err)
		}
		switch component, worker := mastodon.ChartComponent(d.Spec.Template.Labels); component {
		case "web":
			cr.web = &d
		case "streaming":
			cr.streaming = &d
		case "sidekiq":
			cr.sidekiq[worker] = &d
		}
	}
	if cr.web == nil || len(cr.sidekiq) == 0 {
		return nil, fmt.Errorf("the Helm release %s/%s (%s %s) has no web Deployment or no Sidekiq Deployment labelled %s=%s and %s=web or sidekiq-<worker>: "+
			"it is not laid out as %s lays an instance out", ns, release, rel.Chart, rel.ChartVersion, mastodon.ChartLabelName, mastodon.ChartName,
			mastodon.ChartLabelComponent, chart)
	}
	return cr, nil
}

// routable refuses a release routed otherwise than by one Ingress: the
// instance renders one Ingress (web, and streaming on its path), so an
// HTTPRoute (the current chart's default) or a separate streaming Ingress
// would be dropped and its traffic lost when the takeover retires the
// release.
func routable(listed []kube.HelmObject) error {
	ingresses := 0
	for _, o := range listed {
		switch o.Kind {
		case "HTTPRoute", "GRPCRoute", "Gateway":
			return fmt.Errorf("it routes with %s %s (Gateway API), which the instance cannot render yet: switch the release to its Ingress "+
				"(helm upgrade with httproute.enabled=false and ingress.enabled=true), then adopt it", o.Kind, o.Name)
		case "Ingress":
			ingresses++
		}
	}
	if ingresses > 1 {
		return fmt.Errorf("it has %d Ingresses (a separate streaming host?): the instance renders one, routing streaming by its path on the web "+
			"domain; switch the release to one Ingress (helm upgrade), then adopt it", ingresses)
	}
	return nil
}

// containerEnv is the environment the kubelet gives the Deployment's
// first container (kube.ContainerEnv), reading the ConfigMaps and Secrets
// it names from the release's objects, else from the cluster.
func (cr *chartRelease) containerEnv(ctx context.Context, c instanceCluster, d *appsv1.Deployment) (env map[string]string, fromSecret map[string]bool, err error) {
	ns := d.Namespace
	return kube.ContainerEnv(d.Spec.Template.Spec.Containers[0], "the Deployment "+ns+"/"+d.Name, func(kind, name string) (map[string]string, error) {
		u := cr.objs[kind+"/"+ns+"/"+name]
		if u == nil {
			if u, err = c.Get(ctx, kind, ns, name); err != nil || u == nil {
				return nil, err
			}
		}
		if kind == "Secret" {
			return kube.SecretData(u), nil
		}
		m, _, _ := unstructured.NestedStringMap(u.Object, "data")
		return m, nil
	})
}

// environment is Mastodon's environment in the release: the web
// container's, completed by the Sidekiq containers' (the charts give the
// SMTP credentials to Sidekiq only, which sends the mail) and then the
// streaming container's.
func (cr *chartRelease) environment(ctx context.Context, c instanceCluster) (env map[string]string, fromSecret map[string]bool, err error) {
	env, fromSecret = map[string]string{}, map[string]bool{}
	deployments := []*appsv1.Deployment{cr.web}
	for _, w := range slices.Sorted(maps.Keys(cr.sidekiq)) {
		deployments = append(deployments, cr.sidekiq[w])
	}
	if cr.streaming != nil {
		deployments = append(deployments, cr.streaming)
	}
	for _, d := range deployments {
		e, s, err := cr.containerEnv(ctx, c, d)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range e {
			if _, ok := env[k]; !ok && (d == cr.web || !mastodon.ProcessVariables[k]) {
				env[k], fromSecret[k] = v, s[k]
			}
		}
	}
	return env, fromSecret, nil
}

// adoptedState is the state of the instance equivalent to the release:
// the model, what the import says about it (warnings), or an error.
func adoptedState(ctx context.Context, c instanceCluster, cr *chartRelease, ns, name string, tmpl tfsdk.State) (*instanceModel, []string, error) {
	env, fromSecret, err := cr.environment(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	// A media claim made outside the release (the charts' existingClaim):
	// read too, for its access mode.
	if claim := cr.mediaClaim(); claim != "" && cr.objs["PersistentVolumeClaim/"+cr.web.Namespace+"/"+claim] == nil {
		pvc, err := c.Get(ctx, "PersistentVolumeClaim", cr.web.Namespace, claim)
		if err != nil {
			return nil, nil, err
		}
		if pvc != nil {
			cr.objs[kube.Key(pvc)] = pvc
		}
	}
	rec, err := cr.record(env)
	if err != nil {
		return nil, nil, err
	}
	m, err := modelFromRecord(ctx, rec, ns, name, env, tmpl)
	if err != nil {
		return nil, nil, err
	}
	// What no attribute renders is kept as it is: render the instance and
	// compare its environment with the chart's.
	spec, d := m.spec(ctx)
	if d.HasError() {
		return nil, nil, fmt.Errorf("the adopted configuration is not valid: %v", d)
	}
	secrets := secretsFromObject(m.Secrets, m.VapidPublicKey.ValueString())
	plain, secret := spec.Environment(secrets)
	extra, extraSecret := map[string]any{}, map[string]any{}
	var notes []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		v := env[k]
		ours, rendered := plain[k]
		_, secretHere := secret[k]
		if !rendered {
			ours, rendered = secret[k]
		}
		// Values are shown only where neither side holds them in a Secret.
		shown := !fromSecret[k] && !secretHere
		switch {
		case mastodon.ProcessVariables[k]:
			if rendered && ours != v && shown {
				notes = append(notes, fmt.Sprintf("%s: the chart's %q is not carried over, the instance's processes set %q", k, v, ours))
			}
		case mastodon.UnsetWhenFalse[k] && v == "false" && !rendered:
		case adoptedPath(k) != "" && !rendered:
			// Mapped to its attribute, which renders nothing for this value:
			// extra_env may not hold it (it belongs to the attribute).
			notes = append(notes, fmt.Sprintf("%s: the chart's %q is not carried over: %s renders nothing for it, so Mastodon uses its default", k, v, adoptedPath(k)))
		case rendered && ours != v && shown:
			notes = append(notes, fmt.Sprintf("%s: the chart sets %q, the instance renders %q", k, v, ours))
		case rendered && ours != v:
			notes = append(notes, fmt.Sprintf("%s (a secret): the instance renders another value", k))
		case rendered:
		case fromSecret[k] || mastodon.LooksSecret(k):
			extraSecret[k] = ""
		default:
			extra[k] = v
		}
	}
	if len(extra)+len(extraSecret) > 0 {
		settings, _ := rec["settings"].(map[string]any)
		if settings == nil {
			settings = map[string]any{}
			rec["settings"] = settings
		}
		if len(extra) > 0 {
			settings["extra_env"] = extra
		}
		if len(extraSecret) > 0 {
			settings["extra_secret_env"] = extraSecret
		}
		if m, err = modelFromRecord(ctx, rec, ns, name, env, tmpl); err != nil {
			return nil, nil, err
		}
	}
	m.MigratedVersion = m.Version
	m.URL = types.StringValue(spec.URL())
	return m, notes, nil
}

// modelFromRecord is the model of a record made from a release: the
// credentials and the generated secrets come from the chart's environment.
func modelFromRecord(ctx context.Context, rec map[string]any, ns, name string, env map[string]string, tmpl tfsdk.State) (*instanceModel, error) {
	raw, err := json.Marshal(recordJSON{Format: recordFormat, Attributes: rec})
	if err != nil {
		return nil, err
	}
	spec := mastodon.Spec{Name: name, Namespace: ns}
	cm := &unstructured.Unstructured{}
	cm.SetAnnotations(map[string]string{mastodon.AnnotationSpec: string(raw)})
	sec := &unstructured.Unstructured{Object: map[string]any{"stringData": map[string]any{}}}
	data := map[string]any{}
	for k, v := range env {
		data[k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	sec.Object["data"] = data
	m, d := importRecord(ctx, map[string]*unstructured.Unstructured{
		"ConfigMap/" + ns + "/" + spec.ConfigMapName(): cm,
		"Secret/" + ns + "/" + spec.SecretName():       sec,
	}, ns, name, tmpl)
	if d.HasError() {
		return nil, fmt.Errorf("%v", d)
	}
	return m, nil
}

// record is the configuration equivalent to the release, as a record's
// attributes.
func (cr *chartRelease) record(env map[string]string) (map[string]any, error) {
	rec := map[string]any{"create_namespace": false, "deletion_protection": true}
	for _, v := range mastodon.AdoptedVariables {
		s, ok := env[v.Env]
		if v.Kind == mastodon.VarNotTrue {
			setRecordPath(rec, v.Path, s != "true")
			continue
		}
		if !ok || s == "" {
			continue
		}
		var val any = s
		switch v.Kind {
		case mastodon.VarInt:
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("%s=%q is not a number", v.Env, s)
			}
			val = n
		case mastodon.VarBool:
			val = s == "true"
		case mastodon.VarFloat:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%s=%q is not a number", v.Env, s)
			}
			val = f
		case mastodon.VarList, mastodon.VarPipeList, mastodon.VarAddressList:
			var items []any
			for _, item := range mastodon.AdoptedList(v.Kind, s) {
				items = append(items, item)
			}
			val = items
		}
		setRecordPath(rec, v.Path, val)
	}
	// Mastodon reads a role's other variables only with its host
	// (lib/mastodon/redis_configuration.rb): without it, the main Redis.
	for prefix, block := range map[string]string{"CACHE_": "cache_redis", "SIDEKIQ_": "sidekiq_redis"} {
		if env[prefix+"REDIS_HOST"] == "" {
			delete(rec, block)
		}
	}
	if env["S3_ENABLED"] != "true" {
		delete(rec, "media_bucket")
	} else if _, set := env["S3_PERMISSION"]; !set {
		setRecordPath(rec, "media_bucket.permission", mastodon.S3DefaultPermission)
	}
	web := cr.web.Spec.Template.Spec.Containers[0]
	repo, tag := mastodon.ImageTag(web.Image)
	if strings.Contains(web.Image, "@") || tag == "" {
		return nil, fmt.Errorf("the web image %q is not given by a tag: the instance's version is an image tag (pin the release to a tag, then adopt it)", web.Image)
	}
	rec["version"] = tag
	image := map[string]any{"repository": repo, "pull_policy": string(web.ImagePullPolicy)}
	if cr.streaming != nil {
		sr, _ := mastodon.ImageTag(cr.streaming.Spec.Template.Spec.Containers[0].Image)
		image["streaming_repository"] = sr
	}
	var pulls []any
	for _, p := range cr.web.Spec.Template.Spec.ImagePullSecrets {
		pulls = append(pulls, p.Name)
	}
	if len(pulls) > 0 {
		image["pull_secrets"] = pulls
	}
	rec["image"] = image
	setRecordPath(rec, "web.replicas", replicas(cr.web))
	setResources(rec, "web", web.Resources)
	if cr.streaming != nil {
		setRecordPath(rec, "streaming.replicas", replicas(cr.streaming))
		setResources(rec, "streaming", cr.streaming.Spec.Template.Spec.Containers[0].Resources)
	}
	var sidekiq []any
	for _, w := range slices.Sorted(maps.Keys(cr.sidekiq)) {
		d := cr.sidekiq[w]
		ctr := d.Spec.Template.Spec.Containers[0]
		queues, concurrency, err := mastodon.SidekiqCommand(slices.Concat(ctr.Command, ctr.Args))
		if err != nil {
			return nil, fmt.Errorf("the Sidekiq Deployment %s: %w", d.Name, err)
		}
		p := map[string]any{"name": w, "queues": queues, "replicas": replicas(d)}
		if concurrency > 0 {
			p["concurrency"] = concurrency
		}
		if r := resourcesRecord(ctr.Resources); r != nil {
			p["resources"] = r
		}
		sidekiq = append(sidekiq, p)
	}
	rec["sidekiq"] = sidekiq
	if claim := cr.mediaClaim(); claim != "" {
		media := map[string]any{"existing_claim": claim}
		if pvc := cr.objs["PersistentVolumeClaim/"+cr.web.Namespace+"/"+claim]; pvc != nil {
			modes, _, _ := unstructured.NestedStringSlice(pvc.Object, "spec", "accessModes")
			if slices.Contains(modes, string(corev1.ReadWriteMany)) {
				media["access_mode"] = string(corev1.ReadWriteMany)
			}
		}
		rec["media"] = media
	}
	if ing := cr.ingress(); ing != nil {
		rec["ingress"] = ing
	}
	return rec, nil
}

// mediaClaim is the claim the web Pods mount where Mastodon keeps media.
func (cr *chartRelease) mediaClaim() string {
	pod := cr.web.Spec.Template.Spec
	for _, m := range pod.Containers[0].VolumeMounts {
		if m.MountPath != mastodon.MediaPath {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.PersistentVolumeClaim != nil {
				return v.PersistentVolumeClaim.ClaimName
			}
		}
	}
	return ""
}

// ingress is the ingress block of the release's Ingress that routes to
// its web Service (nil for none).
func (cr *chartRelease) ingress() map[string]any {
	for _, key := range slices.Sorted(maps.Keys(cr.objs)) {
		u := cr.objs[key]
		if u.GetKind() != "Ingress" {
			continue
		}
		var ing networkingv1.Ingress
		if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &ing) != nil {
			continue
		}
		out := map[string]any{}
		if ing.Spec.IngressClassName != nil {
			out["class_name"] = *ing.Spec.IngressClassName
		}
		for _, t := range ing.Spec.TLS {
			if t.SecretName != "" {
				out["tls_secret_name"] = t.SecretName
				break
			}
		}
		notes := map[string]any{}
		for k, v := range ing.Annotations {
			if !strings.HasPrefix(k, "meta.helm.sh/") && k != "kubectl.kubernetes.io/last-applied-configuration" {
				notes[k] = v
			}
		}
		if len(notes) > 0 {
			out["annotations"] = notes
		}
		return out
	}
	return nil
}

func replicas(d *appsv1.Deployment) int {
	if d.Spec.Replicas == nil {
		return 1
	}
	return int(*d.Spec.Replicas)
}

func setResources(rec map[string]any, block string, r corev1.ResourceRequirements) {
	if v := resourcesRecord(r); v != nil {
		setRecordPath(rec, block+".resources", v)
	}
}

// resourcesRecord is a resources block (nil when nothing is set).
func resourcesRecord(r corev1.ResourceRequirements) map[string]any {
	out := map[string]any{}
	for attr, q := range map[string]corev1.ResourceList{"cpu_request": r.Requests, "cpu_limit": r.Limits} {
		if v, ok := q[corev1.ResourceCPU]; ok {
			out[attr] = v.String()
		}
	}
	for attr, q := range map[string]corev1.ResourceList{"memory_request": r.Requests, "memory_limit": r.Limits} {
		if v, ok := q[corev1.ResourceMemory]; ok {
			out[attr] = v.String()
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// setRecordPath sets a dotted attribute path in a record.
func setRecordPath(rec map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, _ := rec[p].(map[string]any)
		if next == nil {
			next = map[string]any{}
			rec[p] = next
		}
		rec = next
	}
	rec[parts[len(parts)-1]] = v
}

// collisions are the objects this instance would render under names that
// objects it does not own already hold: as adopted, and with the embedded
// PostgreSQL and Redis it may move to later (the legacy chart's bundled
// ones are named <release>-postgresql and <release>-redis-*, as the
// instance's own would be under the release's name).
func collisions(spec *mastodon.Spec, live map[string]*unstructured.Unstructured) []string {
	embedded := *spec
	embedded.Database, embedded.Redis = nil, nil
	seen := map[string]bool{}
	var out []string
	for _, o := range slices.Concat(spec.Render(mastodon.Secrets{}, ""), embedded.Render(mastodon.Secrets{}, "")) {
		if u := live[o.Key()]; u != nil && !mastodon.OwnedByInstance(u.GetLabels()) && !seen[o.Key()] {
			seen[o.Key()] = true
			out = append(out, o.Kind+" "+o.Name)
		}
	}
	sort.Strings(out)
	return out
}

// adopt completes the import of a Helm release: the release's objects
// become the state of the equivalent instance. Nothing in the cluster
// changes.
func (rd *instanceRead) adopt(ctx context.Context) error {
	if len(rd.live) > 0 {
		return fmt.Errorf("an instance named %s already lives in namespace %s: import it as %s/%s, or adopt the release under another name "+
			"(helm:%s/%s/<name>)", rd.name, rd.ns, rd.ns, rd.name, rd.ns, rd.adoption.Release)
	}
	cr, err := readChartRelease(ctx, rd.c, rd.ns, rd.adoption.Release)
	if err != nil {
		return err
	}
	m, notes, err := adoptedState(ctx, rd.c, cr, rd.ns, rd.name, rd.req.State)
	if err != nil {
		return fmt.Errorf("the Helm release %s/%s: %w", rd.ns, rd.adoption.Release, err)
	}
	spec, d := m.spec(ctx)
	rd.resp.Diagnostics.Append(d...)
	if err := stopOn(rd.resp.Diagnostics); err != nil {
		return err
	}
	all, err := rd.c.List(ctx, rd.ns, "", slices.Concat(refreshedKinds(spec.Render(mastodon.Secrets{}, "")), []string{"StatefulSet", "Service", "Secret"}))
	if err != nil {
		return err
	}
	if taken := collisions(spec, all); len(taken) > 0 {
		return fmt.Errorf("an instance named %s would take names that objects it does not own hold in namespace %s (%s): adopt the release "+
			"under another name, helm:%s/%s/<name>", rd.name, rd.ns, strings.Join(taken, ", "), rd.ns, rd.adoption.Release)
	}
	if len(notes) > 0 {
		rd.resp.Diagnostics.AddWarning("What the adoption changes", fmt.Sprintf("mastodon_instance %s/%s adopts Helm release %s (%s %s); "+
			"these variables of the release differ from what the instance renders:\n- %s", rd.ns, rd.name, cr.rel.Name, cr.rel.Chart,
			cr.rel.ChartVersion, strings.Join(notes, "\n- ")))
	}
	rd.state, rd.spec = *m, spec
	rd.adoption.Chart, rd.adoption.Revision = cr.chart, cr.rel.Revision
	rd.resp.Diagnostics.Append(holdAdoption(ctx, rd.resp.Private, rd.adoption)...)
	return stopOn(rd.resp.Diagnostics)
}

// adoptedPath is the attribute an adoption maps variable k to
// (mastodon.AdoptedVariables), "" for none.
func adoptedPath(k string) string {
	v, _ := mastodon.AdoptedVariableOf(k)
	return v.Path
}
