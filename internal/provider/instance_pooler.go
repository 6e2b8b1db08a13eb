package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// poolerModel is database.pooler: a pooler at the database's host.
type poolerModel struct {
	Mode                 types.String `tfsdk:"mode"`
	MaxClientConnections types.Int64  `tfsdk:"max_client_connections"`
}

// directModel is database.direct (and part of database.replica): another
// address of the database.
type directModel struct {
	Host     types.String `tfsdk:"host"`
	Port     types.Int64  `tfsdk:"port"`
	Name     types.String `tfsdk:"name"`
	User     types.String `tfsdk:"user"`
	Password types.String `tfsdk:"password"`
	writeOnlyPassword
}

var directPassword = credential{block: "database.direct", name: "password", what: "Password",
	doc:    "Password, if not the database's. Only the migration Jobs read it, from a Secret of its own. Conflicts with `password_wo`.",
	secret: (*mastodon.Spec).DirectSecretName, key: mastodon.EnvDBPassword, jobsOnly: true,
	set:    func(s *mastodon.Spec, v string) { s.Database.Direct.Password = v },
	setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.Database.Direct.PasswordRef = r }}

// poolerAttributes are database.pooler and database.direct.
func poolerAttributes(block string, in nested) map[string]schema.Attribute {
	if block != "database" {
		return nil
	}
	return map[string]schema.Attribute{
		"pooler": optionalBlock(in, "database.pooler",
			"A connection pooler (PgBouncer, PgCat, Pgpool) at `host` and `port`, through which web, Sidekiq, streaming and the tootctl Jobs "+
				"connect. The migration Jobs connect to `direct` when it is given. Not with `cloud_sql`.",
			map[string]schema.Attribute{
				"mode": checkPoolMode.on(schema.StringAttribute{Required: true, Description: "The pooler's pool mode. `transaction`: " +
					"`PREPARED_STATEMENTS` (and the replica's) is `false`, since a prepared statement lives in a server session that the next " +
					"transaction may not get; needs `direct`, since db:prepare and db:migrate hold a session advisory lock. `session`: prepared " +
					"statements stay on, `direct` is optional. `statement` mode breaks Rails' transactions and is refused."}),
				"max_client_connections": checkNotNeg.on(optInt("The pooler's limit of client connections (PgBouncer's `max_client_conn`, " +
					"default 100 there). When given, the plan warns when the instance may open more at full scale (see `max_connections` for the " +
					"sum, without the direct ones). With a pooler, `max_connections` is not checked: the server sees the pooler's own pool.")),
			}),
		"direct": optionalBlock(in, "database.direct",
			"The database's own address, past the pooler: the Jobs that prepare and migrate the database (db:prepare, the pre- and "+
				"post-deployment db:migrate) connect here, with the database's `sslmode` and CA. Required with `pooler.mode = \"transaction\"`; "+
				"allowed without a pooler (a migration role other than the application's, say). Changing it rolls no Pod: it reaches the "+
				"migration Jobs that run after the change. Not with `cloud_sql`.",
			map[string]schema.Attribute{
				"host": schema.StringAttribute{Required: true, Description: "Host name or address (`DB_HOST` of the migration Jobs)."},
				"port": checkPort.on(optInt("Port, default 5432.")),
				"name": optString("Database name, default the database's (a pooler may give the database another name)."),
				"user": optString("User name, default the database's."),
			}),
	}
}

func poolerSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	d := m.Database
	if d == nil {
		return
	}
	if p := d.Pooler; p != nil {
		s.Database.Pooler = &mastodon.Pooler{Mode: p.Mode.ValueString(), MaxClientConnections: int32Or(p.MaxClientConnections, 0)}
	}
	if x := d.Direct; x != nil {
		s.Database.Direct = &mastodon.DirectDatabase{Host: x.Host.ValueString(), Port: int32Or(x.Port, 0),
			Name: x.Name.ValueString(), User: x.User.ValueString()}
	}
}

// The checks of pooler's attributes.
var checkPoolMode = stringCheck{described: "transaction or session", check: mastodon.CheckPoolMode}
