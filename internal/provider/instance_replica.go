package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// replicaModel is database.replica: another address of the database, or
// a Cloud SQL instance.
type replicaModel struct {
	directModel
	CloudSQLInstance types.String `tfsdk:"cloud_sql_instance"`
}

var replicaPassword = credential{block: "database.replica", name: "password", what: "Password",
	doc: "Password (`REPLICA_DB_PASS`, in the instance's Secret only), if not the database's. Conflicts with `password_wo`.",
	key: mastodon.EnvReplicaPassword, set: func(s *mastodon.Spec, v string) { s.Database.Replica.Password = v },
	setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.Database.Replica.PasswordRef = r }}

// replicaAttributes are database.replica.
func replicaAttributes(block string, in nested) map[string]schema.Attribute {
	if block != "database" {
		return nil
	}
	return map[string]schema.Attribute{"replica": optionalBlock(in, "database.replica",
		"A read replica: web, Sidekiq and tootctl send some reads there (home feeds, notifications, the directory); streaming does not "+
			"read it. Mastodon reaches it with the database's `sslmode` and CA (give a PEM bundle in `ca_certificate_pem` if the replica's "+
			"CA differs) and, behind `pooler`, with prepared statements as the pool mode says (`REPLICA_PREPARED_STATEMENTS`). "+
			"The database's user and password serve when the replica's are not given. With `cloud_sql`, give `cloud_sql_instance` instead "+
			"of `host`.",
		map[string]schema.Attribute{
			"host": optString("Host name or address (`REPLICA_DB_HOST`). Without it the replica is another database (`name`) at the " +
				"database's host and port, such as a pool of the same PgBouncer. Not with `cloud_sql`."),
			"port": checkPort.on(optInt("Port (`REPLICA_DB_PORT`), default 5432 with `host`.")),
			"cloud_sql_instance": checkConnectionName.on(optString("With `database.cloud_sql`: the replica's instance connection name " +
				"(`project:region:instance`, such as `google_sql_database_instance.replica.connection_name`). The Pods' proxy serves it too, " +
				"on 127.0.0.1:5433 (`REPLICA_DB_HOST`, `REPLICA_DB_PORT`), with the primary's `private_ip`, `auto_iam_authn` and credentials.")),
			"name": optString("Database name (`REPLICA_DB_NAME`), default the database's. Always set: before 4.6, Mastodon uses the replica " +
				"only when `REPLICA_DB_NAME` is."),
			"user": optString("User name (`REPLICA_DB_USER`), default the database's."),
		})}
}

func replicaSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	if m.Database == nil || m.Database.Replica == nil {
		return
	}
	r := m.Database.Replica
	s.Database.Replica = &mastodon.Replica{Host: r.Host.ValueString(), Port: int32Or(r.Port, 0),
		Name: r.Name.ValueString(), User: r.User.ValueString(), CloudSQLInstance: r.CloudSQLInstance.ValueString()}
}
