package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/datasource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// readTimeout bounds a data source read by default, so an unreachable
// cluster fails instead of hanging.
const readTimeout = 2 * time.Minute

type instancesDataSource struct {
	clients *clientSource
}

func newInstancesDataSource() datasource.DataSource { return &instancesDataSource{} }

type instancesModel struct {
	Namespace types.String         `tfsdk:"namespace"`
	Instances []instanceSummaryRow `tfsdk:"instances"`
	Timeouts  timeouts.Value       `tfsdk:"timeouts"`
}

type instanceSummaryRow struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Namespace   types.String `tfsdk:"namespace"`
	LocalDomain types.String `tfsdk:"local_domain"`
	Version     types.String `tfsdk:"version"`
	Ready       types.Bool   `tfsdk:"ready"`
}

func (d *instancesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_instances"
}

func (d *instancesDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Lists the Mastodon instances this provider manages in the cluster, in every namespace or in one. " +
			"It finds them by their labels with two list requests, whatever their number.",
		Attributes: map[string]schema.Attribute{
			"namespace": schema.StringAttribute{
				Optional:    true,
				Description: "Only list the instances in this namespace. Without it, every namespace is searched (which needs cluster-wide list permission on ConfigMaps and Deployments).",
			},
			"timeouts": timeouts.Attributes(ctx),
			"instances": schema.ListNestedAttribute{
				Computed:    true,
				Description: "The instances found, sorted by namespace and name.",
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"id":           schema.StringAttribute{Computed: true, Description: "`namespace/name`, the ID `mastodon_instance` uses."},
						"name":         schema.StringAttribute{Computed: true, Description: "The instance's name."},
						"namespace":    schema.StringAttribute{Computed: true, Description: "Its namespace."},
						"local_domain": schema.StringAttribute{Computed: true, Description: "Its `LOCAL_DOMAIN`, the domain of its users' handles."},
						"version":      schema.StringAttribute{Computed: true, Description: "The Mastodon version it runs."},
						"ready":        schema.BoolAttribute{Computed: true, Description: "Whether every one of its Deployments has rolled out and all replicas are ready."},
					},
				},
			},
		},
	}
}

func (d *instancesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *instancesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m instancesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	ctx, cancel, client, ok := begin(ctx, m.Timeouts.Read, readTimeout, d.clients.diagClient, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	cms, deps, err := client.ListConfigMapsAndDeployments(ctx, m.Namespace.ValueString(), mastodon.AllInstancesSelector())
	if err != nil {
		resp.Diagnostics.AddError("Cannot list Mastodon instances", err.Error())
		return
	}
	m.Instances = []instanceSummaryRow{}
	for _, s := range mastodon.Summarize(cms, deps, kube.DeploymentReady) {
		m.Instances = append(m.Instances, instanceSummaryRow{
			ID:          types.StringValue(s.Namespace + "/" + s.Name),
			Name:        types.StringValue(s.Name),
			Namespace:   types.StringValue(s.Namespace),
			LocalDomain: types.StringValue(s.LocalDomain),
			Version:     types.StringValue(s.Version),
			Ready:       types.BoolValue(s.Ready),
		})
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
