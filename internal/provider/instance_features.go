package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// instanceFeature is one optional feature of mastodon_instance, kept in
// one file: its part of the schema, its model (a field of instanceModel),
// its conversion into the spec and its credentials.
type instanceFeature struct {
	// attributes are the feature's attributes in a block ("" is the top
	// level, else a block's path such as "web" or "database"), nil where
	// it adds none. A block of its own takes, through in, what the table
	// puts into that block: nested features and credentials.
	attributes func(block string, in nested) map[string]schema.Attribute
	// spec puts the feature's configuration into the spec. The clear
	// values of its credentials are put by the table (credential.set).
	spec func(ctx context.Context, m *instanceModel, s *mastodon.Spec, diags *diag.Diagnostics)
	// credentials are its secret inputs.
	credentials []credential
	// state are its computed attributes that say what the cluster holds,
	// not what was configured: the configuration record leaves them out.
	state []string
}

// nested gives a block's attributes: own, with what the features and the
// credentials of the table put into it.
type nested func(block string, own map[string]schema.Attribute) map[string]schema.Attribute

type featureTable []instanceFeature

// instanceFeatures are the optional features, in the order the spec takes
// them: a feature that extends another's block comes after it. Their
// credentials come in this order too (validateWriteOnly reports in it).
var instanceFeatures = featureTable{
	{attributes: topLevel(databaseAttributes), spec: databaseSpec, credentials: []credential{databasePassword}},
	{attributes: cloudSQLAttributes, spec: cloudSQLSpec, credentials: []credential{cloudSQLCredentials}},
	{attributes: topLevel(redisAttributes), spec: redisSpec, credentials: []credential{redisPassword, redisSentinelPassword}},
	{attributes: topLevel(smtpAttributes), spec: smtpSpec, credentials: []credential{smtpPassword}},
	{attributes: topLevel(bucketAttributes), spec: bucketSpec, credentials: []credential{bucketSecretKey}},
	{attributes: topLevel(ingressAttributes), spec: ingressSpec, credentials: []credential{ingressPrivateKey}},
	{attributes: topLevel(searchAttributes), spec: searchSpec, credentials: []credential{searchPassword}, state: []string{"search_index"}},
	{attributes: topLevel(translationAttributes), spec: translationSpec, credentials: []credential{deepLAPIKey, libreTranslateAPIKey}},
	{attributes: topLevel(maintenanceAttributes), spec: maintenanceSpec},
	{attributes: topLevel(backupAttributes), spec: backupSpec},
	{attributes: topLevel(metricsAttributes), spec: metricsSpec},
	{attributes: scalingAttributes, spec: scalingSpec},
	{attributes: topLevel(ownSecretsAttributes), spec: ownSecretsSpec},
	{attributes: topLevel(restoreAttributes), spec: restoreSpec, credentials: []credential{restoreSecretKey}},
	{attributes: podSettingsAttributes, spec: podSettingsSpec},
	{attributes: topLevel(gatewayAttributes), spec: gatewaySpec},
	{attributes: topLevel(domainsAttributes), spec: domainsSpec},
	{attributes: topLevel(ssoAttributes), spec: ssoSpec, credentials: []credential{oidcClientSecret, samlPrivateKey, ldapPassword}},
	{attributes: topLevel(hcaptchaAttributes), spec: hcaptchaSpec, credentials: []credential{hcaptchaSecretKey}},
	{attributes: observabilityAttributes, spec: observabilitySpec},
	{attributes: policyAttributes, spec: policySpec},
	{attributes: topLevel(redisSplitAttributes), spec: redisSplitSpec, credentials: []credential{cacheRedisPassword, sidekiqRedisPassword, cacheSentinelPassword, sidekiqSentinelPassword}},
	{attributes: poolerAttributes, spec: poolerSpec, credentials: []credential{directPassword}},
	{attributes: replicaAttributes, spec: replicaSpec, credentials: []credential{replicaPassword}},
}

// instanceCredentials are the credentials of every feature, in the
// table's order.
var instanceCredentials = instanceFeatures.credentials()

// topLevel is the attributes of a feature whose attributes are all at the
// top level.
func topLevel(attrs func(in nested) map[string]schema.Attribute) func(string, nested) map[string]schema.Attribute {
	return func(block string, in nested) map[string]schema.Attribute {
		if block != "" {
			return nil
		}
		return attrs(in)
	}
}

// optionalBlock is the optional nested attribute at block (a path such as
// "smtp" or "database.cloud_sql"): own, with what the table puts into it.
func optionalBlock(in nested, block, description string, own map[string]schema.Attribute) schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{Optional: true, Description: description, Attributes: in(block, own)}
}

// in gives a block's attributes: own, with what the features and the
// credentials of the table put into it. Two attributes of one name are a
// mistake of the table's, found by the schema's tests.
func (t featureTable) in(block string, own map[string]schema.Attribute) map[string]schema.Attribute {
	add := func(more map[string]schema.Attribute) {
		for name, a := range more {
			if _, dup := own[name]; dup {
				panic("two attributes " + strings.TrimPrefix(block+"."+name, "."))
			}
			own[name] = a
		}
	}
	for _, f := range t {
		add(f.attributes(block, t.in))
		for _, c := range f.credentials {
			if c.block == block {
				add(c.attributes())
			}
		}
	}
	return own
}

// spec puts every feature's configuration into the spec, then the clear
// values of the credentials.
func (t featureTable) spec(ctx context.Context, m *instanceModel, s *mastodon.Spec, diags *diag.Diagnostics) {
	for _, f := range t {
		f.spec(ctx, m, s, diags)
	}
	for _, c := range t.credentials() {
		if v := c.in(m); v != nil {
			c.set(s, v.clear.ValueString())
			if v.ref != nil {
				if r := secretRef(*v.ref); r != nil {
					c.setRef(s, r)
				}
			}
		}
	}
}

func (t featureTable) credentials() []credential {
	var out []credential
	for _, f := range t {
		out = append(out, f.credentials...)
	}
	return out
}

// unrecorded are the attributes the configuration record leaves out
// because the table says so: the credentials' clear values and the
// features' computed state.
func (t featureTable) unrecorded() [][]string {
	var out [][]string
	for _, f := range t {
		for _, c := range f.credentials {
			out = append(out, c.attributePath())
		}
		for _, a := range f.state {
			out = append(out, []string{a})
		}
	}
	return out
}
