package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// warnDatabaseMove says what a switch between the embedded PostgreSQL and
// an external one does to the data: the apply prepares the schema of the
// database it moves to (db:prepare creates an empty one where there is
// none) and copies nothing; the data stays where it was.
func warnDatabaseMove(ctx context.Context, plan tfsdk.Plan, state *instanceModel, diags *diag.Diagnostics) {
	var database types.Object
	diags.Append(plan.GetAttribute(ctx, path.Root("database"), &database)...)
	if database.IsUnknown() {
		return
	}
	// A move to the embedded database with restore moves the data: the
	// restore fills it from the dump.
	var restore types.Object
	diags.Append(plan.GetAttribute(ctx, path.Root("restore"), &restore)...)
	name := state.Name.ValueString()
	volume := "data-" + name + "-postgresql-0"
	const how = "To move the data: stop web, streaming and Sidekiq (replicas = 0), dump the old database, restore the dump into the new one, " +
		"then switch and start them again: docs/guides/backup-restore.md, \"Moving between the embedded and an external database\". " +
		"If you restored the data into the target already, the prepare step finds its schema and only migrates it."
	switch {
	case state.Database == nil && !database.IsNull():
		var host types.String
		diags.Append(plan.GetAttribute(ctx, path.Root("database").AtName("host"), &host)...)
		target := "the external database"
		if !host.IsNull() && !host.IsUnknown() {
			target += " at " + host.ValueString()
		}
		diags.AddAttributeWarning(path.Root("database"), "Moving to another database: the data does not move",
			fmt.Sprintf("mastodon_instance %s moves from the embedded PostgreSQL to %s. The apply copies nothing: it prepares "+
				"the schema of %s (an empty one if it has none), so the instance comes up without its accounts, posts and settings. "+
				"The embedded database's data stays on its volume (claim %s, kept; its PostgreSQL stops). %s",
				state.ID.ValueString(), target, target, volume, how))
	case state.Database != nil && database.IsNull() && restore.IsNull():
		diags.AddAttributeWarning(path.Root("database"), "Moving to another database: the data does not move",
			fmt.Sprintf("mastodon_instance %s moves from the external database at %s to the embedded PostgreSQL. The apply copies nothing: "+
				"it starts the embedded PostgreSQL and prepares its schema, an empty one on a new volume (a volume kept from an earlier "+
				"embedded database, claim %s, is reopened with the data it held then), so the instance comes up without the accounts, "+
				"posts and settings of the external database, which keeps them untouched. %s",
				state.ID.ValueString(), state.Database.Host.ValueString(), volume, how))
	}
}
