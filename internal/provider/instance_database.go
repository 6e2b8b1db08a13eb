package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// databaseModel is an external PostgreSQL.
type databaseModel struct {
	Host     types.String   `tfsdk:"host"`
	Port     types.Int64    `tfsdk:"port"`
	Name     types.String   `tfsdk:"name"`
	User     types.String   `tfsdk:"user"`
	Password types.String   `tfsdk:"password"`
	SSLMode  types.String   `tfsdk:"sslmode"`
	Pool     types.Int64    `tfsdk:"pool"`
	MaxConns types.Int64    `tfsdk:"max_connections"`
	CloudSQL *cloudSQLModel `tfsdk:"cloud_sql"`
	CACert   types.String   `tfsdk:"ca_certificate_pem"`
	Pooler   *poolerModel   `tfsdk:"pooler"`
	Direct   *directModel   `tfsdk:"direct"`
	Replica  *replicaModel  `tfsdk:"replica"`
	writeOnlyPassword
}

var databasePassword = credential{block: "database", name: "password", what: "Password",
	doc: "Password. It reaches Pods through a Secret only. Conflicts with `password_wo`.",
	key: mastodon.EnvDBPassword, set: func(s *mastodon.Spec, v string) { s.Database.Password = v },
	setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.Database.PasswordRef = r }}

const (
	sslmodeDescription = "`DB_SSLMODE` of Rails (libpq): disable, allow, prefer (default), require, verify-ca or verify-full; verify-ca and " +
		"verify-full need `ca_certificate_pem`. The streaming server (node-postgres) reads `DB_SSLMODE` differently and never falls back to plain " +
		"text, so its container gets its own: `disable` (no TLS) for disable, allow and prefer, which works against a server with or without TLS; " +
		"`no-verify` (TLS without verification) for require and verify-ca (Node cannot check the CA without the host name, which Rails does not " +
		"check with verify-ca); full verification (host name included) for verify-full. Against a server that demands TLS, say require or stronger."
	databaseCADescription = "PEM CA certificate of a database with a private CA, kept in a ConfigMap and mounted into every Pod: " +
		"Rails reads it through `PGSSLROOTCERT`, streaming through `NODE_EXTRA_CA_CERTS`. Use it with sslmode verify-ca or verify-full. Not with `cloud_sql`."
)

func databaseAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"database": optionalBlock(in, "database",
		"An external PostgreSQL (14 or newer). Without it, an embedded PostgreSQL runs in the namespace.",
		map[string]schema.Attribute{
			"host":               optString("Host name or address (not with `cloud_sql`)."),
			"port":               checkPort.on(optInt("Port, default 5432.")),
			"name":               optString("Database name, default `mastodon_production`."),
			"user":               schema.StringAttribute{Required: true, Description: "User name."},
			"sslmode":            checkSSLMode.on(optString(sslmodeDescription)),
			"ca_certificate_pem": optString(databaseCADescription),
			"pool": checkNotNeg.on(optInt("`DB_POOL`: the pool of each web (Puma) worker and of each streaming Pod (Sidekiq uses its concurrency). " +
				"Default: web's `max_threads` for web, 10 for streaming. Not below `web.max_threads` (a thread without a connection waits, then fails).")),
			"max_connections": optInt("The server's `max_connections`, default 100 (PostgreSQL's). Nothing is set on the server: the plan warns when " +
				"the instance may hold more connections at full scale than it leaves (3 are reserved for superusers). The sum: web Pods (the " +
				"autoscaler's maximum) x `web.concurrency` x `web.max_threads`, each Sidekiq process's Pods x its `concurrency`, streaming Pods x " +
				"its pool, and the Jobs that may run beside them (6 per scheduled tootctl task and for the search index build, 2 for a " +
				"migration and 2 for an account's tootctl, 1 for the backup). A process scaled by `external_scaling` counts as one Pod. Behind " +
				"`pooler` it is not checked (the server sees the pooler's own pool and the migration's direct connection): " +
				"`pooler.max_client_connections` is, against the same sum without the migration's."),
		})}
}

func databaseSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	if d := m.Database; d != nil {
		s.Database = &mastodon.Database{
			Host: d.Host.ValueString(), Port: int32Or(d.Port, 0), Name: d.Name.ValueString(), User: d.User.ValueString(),
			SSLMode: d.SSLMode.ValueString(), Pool: int32Or(d.Pool, 0), MaxConnections: int32Or(d.MaxConns, 0),
			CACertificatePEM: d.CACert.ValueString(),
		}
	}
}
