package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

func (r *instanceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state instanceModel
	if !readState(ctx, req, resp, &state) {
		return
	}
	if r.clients != nil && !r.clients.Known() {
		return // the cluster is not known yet: keep what state says
	}
	ctx, cancel, c, ok := begin(ctx, state.Timeouts.Read, defaultReadTimeout, r.client, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	rd := &instanceRead{c: c, req: req, resp: resp, state: state, ns: state.Namespace.ValueString(), name: state.Name.ValueString(),
		imported: state.LocalDomain.IsNull(), ready: true}
	var d diag.Diagnostics
	if rd.adoption, d = heldAdoption(ctx, req.Private); d.HasError() {
		resp.Diagnostics.Append(d...)
		return
	}
	id := rd.ns + "/" + rd.name
	ctx, requests := kube.CountRequests(ctx)
	defer func() {
		tflog.Debug(ctx, "refreshed the instance", map[string]any{"instance": id, "api_requests": requests.Load()})
	}()
	runSteps(ctx, rd.steps(), nil, &resp.Diagnostics)
}

// instanceRead is one refresh of an instance, or the read that completes
// its import: the live objects compared with what the configuration
// renders, so that drift shows in the plan.
type instanceRead struct {
	c        *kube.Client
	req      resource.ReadRequest
	resp     *resource.ReadResponse
	state    instanceModel
	ns, name string
	// imported: just imported, so there is no configuration yet (the one
	// recorded on the ConfigMap is read instead).
	imported bool
	// adoption: a Helm release adopted and not taken over yet.
	adoption *helmAdoption
	spec     *mastodon.Spec
	rendered []mastodon.Object
	kinds    []string
	live     map[string]*unstructured.Unstructured
	drift    []attr.Value
	ready    bool
}

// steps are the steps of this read, in order.
func (rd *instanceRead) steps() []crudStep {
	steps := []crudStep{
		{"render the configuration", rd.render, ""},
		{"list the instance's objects", rd.list, "Cannot read the instance"},
		{"keep the instance's own objects", rd.owned, ""},
		{"check the claim", rd.claim, ""},
	}
	if rd.imported && rd.adoption != nil {
		steps = slices.Insert(steps, 3, crudStep{"read the Helm release", rd.adopt, "Cannot adopt the Helm release"})
	} else if rd.imported {
		steps = append(steps, crudStep{"read the recorded configuration", rd.fromRecord, ""})
	}
	return append(steps,
		crudStep{"compare with the live objects", rd.compare, ""},
		crudStep{"check the index build", rd.indexBuild, "Cannot read the instance's index build"},
		crudStep{"record the state", rd.record, ""})
}

// render renders the configuration in state and picks the kinds to list:
// a refresh lists only the kinds it renders (one request each); an import,
// which has no configuration yet, lists them all, and its Jobs (what the
// last index build built). The recorded configuration (the ConfigMap's
// annotation) is not compared, so it is not rendered either: the objects
// it describes are.
func (rd *instanceRead) render(ctx context.Context) error {
	if rd.imported {
		rd.kinds = append(slices.Clone(mastodon.PrunableKinds), "PersistentVolumeClaim", "Job")
		return nil
	}
	var d diag.Diagnostics
	rd.spec, d = rd.state.spec(ctx)
	rd.resp.Diagnostics.Append(d...)
	if err := stopOn(rd.resp.Diagnostics); err != nil {
		return err
	}
	if err := rd.secretRefs(ctx); err != nil {
		return err
	}
	rd.rendered = rd.spec.Render(secretsFromObject(rd.state.Secrets, rd.state.VapidPublicKey.ValueString()), "")
	rd.kinds = refreshedKinds(rd.rendered)
	return nil
}

// list reads the live objects: a refresh reads the view every refresh of
// this process shares (one listing per kind for the whole fleet); an
// import reads the cluster.
func (rd *instanceRead) list(ctx context.Context) (err error) {
	sel := mastodon.InstanceSelector(rd.name)
	if rd.imported {
		rd.live, err = rd.c.List(ctx, rd.ns, sel, rd.kinds)
	} else {
		rd.live, err = rd.c.ListShared(ctx, mastodon.AllInstancesSelector(), rd.ns, sel, rd.kinds)
	}
	return err
}

// owned keeps the instance's own objects (its accounts' are theirs). An
// instance whose objects are all gone leaves state.
func (rd *instanceRead) owned(ctx context.Context) error {
	maps.DeleteFunc(rd.live, func(_ string, o *unstructured.Unstructured) bool { return !mastodon.OwnedByInstance(o.GetLabels()) })
	if len(rd.live) > 0 || rd.adoption != nil {
		return nil // an adopted release's instance has no objects until its takeover
	}
	tflog.Info(ctx, "the instance's objects are all gone: removing it from state", map[string]any{"instance": rd.ns + "/" + rd.name})
	rd.resp.State.RemoveResource(ctx)
	return errStop
}

// claim checks the claim on the live objects against the state's.
func (rd *instanceRead) claim(ctx context.Context) error {
	if !refreshClaim(ctx, "mastodon_instance", rd.ns+"/"+rd.name, instanceLiveClaim(rd.live, rd.ns, rd.name), rd.imported, rd.req.Private, rd.resp.Private,
		instanceImport(rd.ns, rd.name), &rd.resp.Diagnostics) {
		return errStop
	}
	return nil
}

// fromRecord completes an import: the configuration recorded on the
// ConfigMap becomes the state.
func (rd *instanceRead) fromRecord(ctx context.Context) error {
	rec, d := importRecord(ctx, rd.live, rd.ns, rd.name, rd.req.State)
	rd.resp.Diagnostics.Append(d...)
	if err := stopOn(rd.resp.Diagnostics); err != nil {
		return err
	}
	rd.state = *rec
	rd.spec, d = rd.state.spec(ctx)
	rd.resp.Diagnostics.Append(d...)
	return rd.secretRefs(ctx)
}

// secretRefs reads the Secrets that the configuration references, for the
// hashes of their values in the Pods' checksum: a changed value shows as
// drift, which the next apply rolls out. A missing Secret or key is drift
// too (the plan refuses it, where it can reach the cluster).
func (rd *instanceRead) secretRefs(ctx context.Context) error {
	problems, err := readSecretRefs(ctx, rd.c.Get, rd.spec)
	if err != nil {
		rd.resp.Diagnostics.AddError("Cannot read a referenced Secret", err.Error())
		return errStop
	}
	for _, p := range problems {
		rd.drift = append(rd.drift, types.StringValue(p.path+": "+p.msg))
	}
	return nil
}

// compare compares every rendered object with the live one: what differs
// or is missing is drift, and the instance is ready when every object is.
func (rd *instanceRead) compare(ctx context.Context) error {
	// Values given write-only are not in state: compare with what the
	// cluster holds (the objects are rendered again with them).
	if writeOnlyFromCluster(&rd.state, rd.spec, rd.live) || rd.imported {
		rd.rendered = rd.spec.Render(secretsFromObject(rd.state.Secrets, rd.state.VapidPublicKey.ValueString()), "")
	}
	if rd.adoption != nil {
		// Until its takeover is done the plan shows an update, so that the
		// next apply takes it over (or finishes it).
		rd.drift = append(rd.drift, types.StringValue("the takeover of Helm release "+rd.adoption.Release+" is not finished"))
	}
	for _, o := range rd.rendered {
		if unrefreshed[o.Kind] && !rd.imported {
			continue
		}
		if cur, ok := rd.live[o.Key()]; ok {
			rd.compareLive(o, cur)
		} else {
			rd.missing(ctx, o)
		}
	}
	if rd.spec.Gateway != nil {
		rd.readGateway(ctx)
	}
	return nil
}

// readGateway reads the address of the Gateway the routes attach to (one
// get: the routes were listed), and warns of a missing Gateway or a route
// its controller refused, which no apply repairs.
func (rd *instanceRead) readGateway(ctx context.Context) {
	g := gatewayRoutes(rd.spec)
	warn := func(msg string) {
		rd.resp.Diagnostics.AddWarning("The instance's Gateway", fmt.Sprintf("mastodon_instance %s/%s: %s", rd.ns, rd.name, msg))
	}
	gw, err := rd.c.Get(ctx, "Gateway", g.Namespace, g.Name)
	switch {
	case err != nil:
		warn(fmt.Sprintf("cannot read the Gateway, so load_balancer_ip and load_balancer_hostname keep their last values: %v", err))
		return
	case gw == nil:
		warn(fmt.Sprintf("Gateway %s/%s (gateway.name, gateway.namespace) does not exist: the instance's HTTPRoutes attach to nothing, "+
			"and the next apply fails until it exists again.", g.Namespace, g.Name))
		rd.state.LoadBalancerIP, rd.state.LoadBalancerHostname = types.StringNull(), types.StringNull()
		return
	}
	ip, host := kube.GatewayAddress(gw)
	rd.state.LoadBalancerIP, rd.state.LoadBalancerHostname = nullable(ip), nullable(host)
	for _, name := range g.Routes {
		if r := rd.live["HTTPRoute/"+rd.ns+"/"+name]; r != nil {
			if _, refused := kube.RouteStatus(r, g.Namespace, g.Name, g.Section); refused != "" {
				warn(fmt.Sprintf("the controller of Gateway %s/%s refuses HTTPRoute %s: %s", g.Namespace, g.Name, name, refused))
			}
		}
	}
}

// missing is a rendered object the cluster does not hold.
func (rd *instanceRead) missing(ctx context.Context, o mastodon.Object) {
	if served, err := rd.c.Serves(ctx, o.Kind); err == nil && !served {
		return // an optional kind the cluster does not serve: not applied either
	}
	rd.drift = append(rd.drift, types.StringValue(fmt.Sprintf("%s %s is missing", o.Kind, o.Name)))
	if o.Kind == "Deployment" {
		rd.ready = false
	}
}

// compareLive compares a rendered object with the live one.
func (rd *instanceRead) compareLive(o mastodon.Object, cur *unstructured.Unstructured) {
	for _, diff := range kube.Diff(o.Body, cur.Object, secretKinds[o.Kind]) {
		rd.drift = append(rd.drift, types.StringValue(fmt.Sprintf("%s %s: %s", o.Kind, o.Name, diff)))
	}
	if ok, _ := kube.Ready(cur); !ok {
		rd.ready = false
	}
	if msg := scheduledFailure(cur); msg != "" {
		rd.resp.Diagnostics.AddWarning("A scheduled Job of the instance failed", fmt.Sprintf("mastodon_instance %s/%s: %s", rd.ns, rd.name, msg))
	}
	if o.Kind == "Ingress" {
		rd.state.LoadBalancerIP, rd.state.LoadBalancerHostname = loadBalancer(cur)
	}
}

// indexBuild learns whether an index build left running has completed.
func (rd *instanceRead) indexBuild(ctx context.Context) error {
	msg, err := refreshBackgroundIndex(ctx, rd.c, &rd.state, rd.spec)
	if msg != "" {
		rd.drift = append(rd.drift, types.StringValue(msg))
	}
	return err
}

// record sets the state read, with its drift and readiness.
func (rd *instanceRead) record(ctx context.Context) error {
	if rd.drift == nil {
		rd.drift = []attr.Value{}
	}
	rd.state.Drift = types.ListValueMust(types.StringType, rd.drift)
	rd.state.Ready = types.BoolValue(rd.ready)
	rd.resp.Diagnostics.Append(rd.resp.State.Set(ctx, &rd.state)...)
	return nil
}

// unrefreshed are the kinds a refresh does not list.
var unrefreshed = map[string]bool{"PersistentVolumeClaim": true}

// secretKinds hide the values of their differences.
var secretKinds = map[string]bool{"Secret": true}

// refreshedKinds are the namespaced kinds of rendered objects, which a
// refresh lists (one request each). Data volumes are left out: they are
// never changed or pruned, and a deleted one shows as Pods that are not
// ready.
func refreshedKinds(objs []mastodon.Object) []string {
	seen := map[string]bool{}
	var kinds []string
	for _, o := range objs {
		if !seen[o.Kind] && !unrefreshed[o.Kind] {
			seen[o.Kind] = true
			kinds = append(kinds, o.Kind)
		}
	}
	return kinds
}

// loadBalancer is the Ingress's reported address, for a DNS record.
func loadBalancer(ing *unstructured.Unstructured) (types.String, types.String) {
	ip, host := kube.IngressAddress(ing)
	return nullable(ip), nullable(host)
}

// importRecord rebuilds the model from the configuration recorded on the
// ConfigMap and the values kept in the Secrets.
func importRecord(ctx context.Context, live map[string]*unstructured.Unstructured, ns, name string, tmpl tfsdk.State) (*instanceModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	spec := mastodon.Spec{Name: name, Namespace: ns}
	cm := live["ConfigMap/"+ns+"/"+spec.ConfigMapName()]
	if cm == nil {
		diags.AddError("Cannot import the instance", fmt.Sprintf("ConfigMap %s/%s, which records the instance's configuration, is missing.", ns, spec.ConfigMapName()))
		return nil, diags
	}
	val, err := decodeRecord(ctx, cm.GetAnnotations()[mastodon.AnnotationSpec], tmpl)
	if err != nil {
		diags.AddError("Cannot import the instance", fmt.Sprintf("The annotation %s on ConfigMap %s/%s does not hold a configuration this provider wrote: %v",
			mastodon.AnnotationSpec, ns, spec.ConfigMapName(), err))
		return nil, diags
	}
	var m instanceModel
	diags.Append((&tfsdk.State{Schema: tmpl.Schema, Raw: val}).Get(ctx, &m)...)
	if diags.HasError() {
		return nil, diags
	}
	m.Namespace, m.Name = types.StringValue(ns), types.StringValue(name)
	m.ID = types.StringValue(ns + "/" + name)
	full, d := m.spec(ctx)
	diags.Append(d...)
	data := map[string]string{}
	if sec := live["Secret/"+ns+"/"+spec.SecretName()]; sec != nil {
		data = kube.SecretData(sec)
	}
	secrets := mastodon.SecretsFromEnv(data, m.Database == nil, m.Redis == nil)
	m.Secrets = secretsObject(secrets)
	m.VapidPublicKey = types.StringValue(secrets.VapidPublicKey)
	clearFromCluster(&m, full, live)
	m.SearchIndex = importedSearchIndex(live)
	return &m, diags
}
