package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// cloudSQLModel is database.cloud_sql: the Cloud SQL Auth Proxy.
type cloudSQLModel struct {
	InstanceConnectionName         types.String    `tfsdk:"instance_connection_name"`
	PrivateIP                      types.Bool      `tfsdk:"private_ip"`
	AutoIAMAuthn                   types.Bool      `tfsdk:"auto_iam_authn"`
	ProxyImage                     types.String    `tfsdk:"proxy_image"`
	ProxyResources                 *resourcesModel `tfsdk:"proxy_resources"`
	CredentialsJSON                types.String    `tfsdk:"credentials_json"`
	CredentialsJSONWO              types.String    `tfsdk:"credentials_json_wo"`
	CredentialsJSONWOVersion       types.Int64     `tfsdk:"credentials_json_wo_version"`
	CredentialsJSONRef             *secretRefModel `tfsdk:"credentials_json_secret_ref"`
	WorkloadIdentityServiceAccount types.String    `tfsdk:"workload_identity_service_account"`
}

var cloudSQLCredentials = credential{block: "database.cloud_sql", name: "credentials_json", what: "The service-account key in JSON",
	doc: "A service-account key in JSON (`base64decode(google_service_account_key.x.private_key)`), kept in a Secret and mounted read-only. " +
		"Conflicts with `workload_identity_service_account`, which is preferred.",
	secret: (*mastodon.Spec).CloudSQLSecretName, key: mastodon.CloudSQLKeyFile,
	set:    func(s *mastodon.Spec, v string) { s.Database.CloudSQL.CredentialsJSON = v },
	setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.Database.CloudSQL.CredentialsRef = r }}

// cloudSQLAttributes are database.cloud_sql.
func cloudSQLAttributes(block string, in nested) map[string]schema.Attribute {
	if block != "database" {
		return nil
	}
	return map[string]schema.Attribute{"cloud_sql": optionalBlock(in, "database.cloud_sql",
		"Reach a Cloud SQL for PostgreSQL instance through the Cloud SQL Auth Proxy v2, run as a native sidecar "+
			"(an init container that keeps running) in every Pod that talks to the database, Jobs included; "+
			"the application connects to it on 127.0.0.1:5432.",
		map[string]schema.Attribute{
			"instance_connection_name": checkConnectionName.on(schema.StringAttribute{Required: true,
				Description: "`project:region:instance`, e.g. `google_sql_database_instance.x.connection_name`."}),
			"private_ip":      optBool("Connect over the instance's private IP (`--private-ip`)."),
			"auto_iam_authn":  optBool("IAM database authentication (`--auto-iam-authn`); `user` is then the IAM user."),
			"proxy_image":     optString("The proxy image, default `" + mastodon.DefaultCloudSQLProxyImage + "`."),
			"proxy_resources": resourcesAttribute("the proxy sidecar", mastodon.DefaultProxyResources),
			"workload_identity_service_account": checkServiceAccount.on(optString("The Google service account (email) that the instance's Kubernetes ServiceAccount " +
				"acts as through Workload Identity: the ServiceAccount gets the `iam.gke.io/gcp-service-account` annotation. No key to leak or rotate.")),
		})}
}

func cloudSQLSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	if m.Database == nil || m.Database.CloudSQL == nil {
		return
	}
	c := m.Database.CloudSQL
	s.Database.CloudSQL = &mastodon.CloudSQL{
		InstanceConnectionName: c.InstanceConnectionName.ValueString(), PrivateIP: c.PrivateIP.ValueBool(),
		AutoIAMAuthn: c.AutoIAMAuthn.ValueBool(), ProxyImage: c.ProxyImage.ValueString(),
		ProxyResources: c.ProxyResources.resources(), WorkloadIdentityServiceAccount: c.WorkloadIdentityServiceAccount.ValueString(),
	}
}

// The checks of cloud_sql's attributes.
var (
	checkConnectionName = stringCheck{described: "project:region:instance", check: mastodon.CheckConnectionName}
	checkServiceAccount = stringCheck{described: "a Google service account email", check: mastodon.CheckServiceAccount}
)
