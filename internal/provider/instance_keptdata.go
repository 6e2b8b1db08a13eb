package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// keptOnDestroy says what a destroy of an instance configured as m keeps:
// the volumes of each component, unless the user said otherwise, and the
// generated secrets that read them (the embedded database's volume, or an
// external database, never ours to delete, needs the same keys and
// password when an instance of this name is created again). Claims that
// never bound are deleted whatever it says (neverBoundClaims). m nil: a
// configuration not known, everything kept.
type keptOnDestroy struct {
	volumes map[string]bool // by component
	secrets bool
}

func keptBy(m *instanceModel) keptOnDestroy {
	if m == nil {
		return keptOnDestroy{volumes: map[string]bool{mastodon.ComponentDatabase: true, mastodon.ComponentRedis: true,
			mastodon.ComponentMedia: true, mastodon.ComponentBackup: true}, secrets: true}
	}
	keepDB := m.EmbeddedDatabase == nil || !m.EmbeddedDatabase.DeleteVolumeOnDestroy.ValueBool()
	return keptOnDestroy{volumes: map[string]bool{
		mastodon.ComponentDatabase: keepDB,
		mastodon.ComponentMedia:    m.Media == nil || !m.Media.DeleteVolumeOnDestroy.ValueBool(),
		mastodon.ComponentRedis:    m.EmbeddedRedis == nil || !m.EmbeddedRedis.DeleteVolumeOnDestroy.ValueBool(),
		mastodon.ComponentBackup:   m.Backup == nil || !m.Backup.DeleteVolumeOnDestroy.ValueBool(),
	}, secrets: keepDB || m.Database != nil}
}

// keptPiece is one object of kept data, with the local domain it records
// ("" when it records none: kept by an earlier release).
type keptPiece struct {
	kind, name, block, domain string
}

func (p keptPiece) String() string {
	s := p.kind + " " + p.name
	if p.domain == "" {
		return s + " (local_domain not recorded)"
	}
	return s
}

// keptData is what a create of spec would reopen: the generated secrets'
// Secret and the claims of its volumes that a destroy keeps. live: the
// instance's configuration record is there (its objects run: the create
// is the second half of a replacement, and the destroy before it keeps
// what the record's delete_volume_on_destroy says).
type keptData struct {
	pieces     []keptPiece
	live       bool
	liveDomain string
}

// readKeptData reads the data a create of spec would reopen. tmpl (the
// resource's schema) reads the live record; without it everything is
// taken as kept.
func readKeptData(ctx context.Context, c interface {
	Get(ctx context.Context, kind, namespace, name string) (*unstructured.Unstructured, error)
}, spec *mastodon.Spec, tmpl *tfsdk.State) (*keptData, error) {
	ns := spec.Namespace
	kd := &keptData{}
	keep := keptBy(nil)
	cm, err := c.Get(ctx, "ConfigMap", ns, spec.ConfigMapName())
	if err != nil {
		return nil, err
	}
	if cm != nil && mastodon.OwnedByInstance(cm.GetLabels()) {
		kd.live = true
		kd.liveDomain, _, _ = unstructured.NestedString(cm.Object, "data", mastodon.KeyLocalDomain)
		if tmpl != nil {
			if v, err := decodeRecord(ctx, cm.GetAnnotations()[mastodon.AnnotationSpec], *tmpl); err == nil {
				var m instanceModel
				if !(&tfsdk.State{Schema: tmpl.Schema, Raw: v}).Get(ctx, &m).HasError() {
					keep = keptBy(&m)
				}
			}
		}
	}
	domainOf := func(o *unstructured.Unstructured) string {
		if d := o.GetAnnotations()[mastodon.AnnotationLocalDomain]; d != "" {
			return d
		}
		return kd.liveDomain
	}
	if keep.secrets {
		sec, err := c.Get(ctx, "Secret", ns, spec.SecretName())
		if err != nil {
			return nil, err
		}
		if sec != nil && mastodon.OwnedByInstance(sec.GetLabels()) {
			kd.pieces = append(kd.pieces, keptPiece{"Secret", sec.GetName(), "", domainOf(sec)})
		}
	}
	for _, v := range spec.Volumes() {
		if !keep.volumes[v.Component] {
			continue
		}
		pvc, err := c.Get(ctx, "PersistentVolumeClaim", ns, v.Claim)
		if err != nil {
			return nil, err
		}
		if pvc != nil && mastodon.OwnedByInstance(pvc.GetLabels()) && !kube.ClaimNeverBound(pvc) && pvc.GetDeletionTimestamp() == nil {
			kd.pieces = append(kd.pieces, keptPiece{"PersistentVolumeClaim", pvc.GetName(), v.Block, domainOf(pvc)})
		}
	}
	return kd, nil
}

// judge says whether a create of spec may reopen the kept data: refused
// when any of it records another local domain (Mastodon cannot move data
// to another domain); else a warning naming what is reopened. bucket is
// the planned media bucket ("" for none): it is the user's, but its media
// belong to the domain of the instance that wrote them.
func (kd *keptData) judge(spec *mastodon.Spec, bucket string) (refusal, warning string) {
	id := spec.Namespace + "/" + spec.Name
	var foreign, all []string
	old := ""
	for _, p := range kd.pieces {
		all = append(all, p.String())
		if p.domain != "" && p.domain != spec.LocalDomain {
			foreign = append(foreign, fmt.Sprintf("%s (local_domain %q)", p.kind+" "+p.name, p.domain))
			old = p.domain
		}
	}
	media := ""
	if bucket != "" {
		media = fmt.Sprintf(" The media in bucket %q, which the old instance wrote, belong to local_domain %q too (the bucket is yours: nothing in it is changed).", bucket, old)
	}
	if len(foreign) > 0 {
		var secrets, claims, blocks []string
		for _, p := range kd.pieces {
			if p.kind == "Secret" {
				secrets = append(secrets, p.name)
			} else {
				claims = append(claims, p.name)
				blocks = append(blocks, p.block)
			}
		}
		how := "run"
		if kd.live {
			how = fmt.Sprintf("this plan replaces the running instance, and its destroy keeps them: set delete_volume_on_destroy = true in %s "+
				"and apply before changing local_domain (the Secret goes with the database's volume, unless the database is external), or, "+
				"once the old instance is destroyed, %s", strings.Join(slices.Compact(slices.Sorted(slices.Values(blocks))), ", "), how)
		}
		var cmds []string
		if len(secrets) > 0 {
			cmds = append(cmds, fmt.Sprintf("kubectl -n %s delete secret %s", spec.Namespace, strings.Join(secrets, " ")))
		}
		if len(claims) > 0 {
			cmds = append(cmds, fmt.Sprintf("kubectl -n %s delete pvc %s", spec.Namespace, strings.Join(claims, " ")))
		}
		return fmt.Sprintf("mastodon_instance %s would reopen data kept for another local_domain: %s. Mastodon cannot move an instance to another domain "+
			"(LOCAL_DOMAIN is in every local account's address and URI, and the instance's keys sign for it): the new instance would be a broken copy "+
			"of the old one, so nothing is created.%s\n\nTwo ways out:\n"+
			"- keep local_domain = %q (this data is that instance's), or\n"+
			"- delete the kept data, which deletes the old instance's database, media and keys for good: %s\n    %s",
			id, strings.Join(foreign, ", "), media, old, how, strings.Join(cmds, "\n    ")), ""
	}
	if kd.live && kd.liveDomain != spec.LocalDomain && bucket != "" {
		old = kd.liveDomain
		media = fmt.Sprintf(" The media in bucket %q, which the old instance wrote, belong to local_domain %q (the bucket is yours: nothing in it is changed).", bucket, old)
		warning = fmt.Sprintf("mastodon_instance %s replaces an instance of local_domain %q.%s", id, old, media)
	}
	if len(all) > 0 {
		warning = strings.TrimSpace(warning + fmt.Sprintf(" mastodon_instance %s reopens data an earlier instance of this name kept: %s. "+
			"Its generated secrets and data are used as they are, under local_domain %q.", id, strings.Join(all, ", "), spec.LocalDomain))
	}
	return "", warning
}

// checkKeptData refuses at plan time a create that would reopen data kept
// for another local domain, and warns of one that reopens data, where the
// cluster is known and reachable (the apply checks again).
func (r *instanceResource) checkKeptData(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	for _, a := range []string{"name", "namespace", "local_domain"} {
		var v types.String
		if resp.Plan.GetAttribute(ctx, path.Root(a), &v).HasError() || v.IsUnknown() || v.IsNull() {
			return
		}
	}
	plan, spec, ok := r.plannedSpec(ctx, resp.Plan)
	if !ok {
		return
	}
	ctx, cancel, c, ok := r.boundPlanClient(ctx, 20*time.Second)
	defer cancel()
	if !ok {
		return
	}
	kd, err := readKeptData(ctx, c, spec, &tfsdk.State{Schema: req.Plan.Schema})
	if err != nil {
		tflog.Debug(ctx, "cannot read the kept data at plan time", map[string]any{"error": err.Error()})
		return
	}
	bucket := ""
	if plan.MediaBucket != nil {
		bucket = plan.MediaBucket.Bucket.ValueString()
	}
	refusal, warning := kd.judge(spec, bucket)
	if refusal != "" {
		resp.Diagnostics.AddAttributeError(path.Root("local_domain"), "Kept data belongs to another local_domain", refusal)
	}
	if warning != "" {
		resp.Diagnostics.AddWarning("Reopening kept data", warning)
	}
}

// refuseForeignData refuses, at apply time, a create on data kept for
// another local domain (the plan could not tell where the cluster was not
// known yet).
func (a *instanceApply) refuseForeignData(ctx context.Context) error {
	kd, err := readKeptData(ctx, a.c, a.spec, nil)
	if err != nil {
		return err
	}
	bucket := ""
	if a.spec.MediaBucket != nil {
		bucket = a.spec.MediaBucket.Bucket
	}
	refusal, warning := kd.judge(a.spec, bucket)
	if refusal != "" {
		return fmt.Errorf("%s", refusal)
	}
	if warning != "" {
		a.log(warning)
	}
	return nil
}

// markKeptData records on the generated secrets' Secret and the volumes'
// claims the local domain and instance they belong to: when created, and
// on objects of earlier releases at the next apply (a merge patch, not
// part of what a refresh compares: no change is planned for it). One list
// of the instance's Secrets and claims; only those without the marks are
// written.
func (a *instanceApply) markKeptData(ctx context.Context) error {
	marks := a.spec.DataMarks()
	want := map[string]bool{"Secret/" + a.spec.SecretName(): true}
	for _, v := range a.spec.Volumes() {
		want["PersistentVolumeClaim/"+v.Claim] = true
	}
	live, err := a.c.List(ctx, a.spec.Namespace, mastodon.InstanceSelector(a.spec.Name), []string{"Secret", "PersistentVolumeClaim"})
	if err != nil {
		return err
	}
	for _, o := range live {
		if !want[o.GetKind()+"/"+o.GetName()] || !mastodon.OwnedByInstance(o.GetLabels()) || hasMarks(o, marks) {
			continue
		}
		if _, err := a.c.Annotate(ctx, o.GetKind(), a.spec.Namespace, o.GetName(), marks); err != nil {
			return err
		}
	}
	return nil
}

// hasMarks says whether an object carries the annotations marks.
func hasMarks(o *unstructured.Unstructured, marks map[string]string) bool {
	have := o.GetAnnotations()
	for k, v := range marks {
		if have[k] != v {
			return false
		}
	}
	return true
}

// replaced says whether a plan replaces the instance (an attribute of
// replacedBy changes). Terraform plans the create half again with no
// prior state and shows only the errors of that second plan: a warning
// about the data the new instance reopens is given here, in the first.
func replaced(ctx context.Context, req resource.ModifyPlanRequest) bool {
	for _, a := range replacedBy {
		var was, now types.String
		if req.State.GetAttribute(ctx, path.Root(a), &was).HasError() || req.Plan.GetAttribute(ctx, path.Root(a), &now).HasError() {
			return false
		}
		if !now.IsUnknown() && !was.Equal(now) {
			return true
		}
	}
	return false
}
