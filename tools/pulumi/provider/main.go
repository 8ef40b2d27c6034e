// Command pulumi-resource-postgresql serves the upstream Terraform PostgreSQL provider
// (github.com/cyrilgdn/terraform-provider-postgresql) to the Pulumi engine through
// pulumi-terraform-bridge, under the resource tokens the pulumi_postgresql Python SDK uses.
//
// Only the run-time part of a bridged provider is built here: no Pulumi schema is embedded
// (the bridge then skips its schema-based input type check) and no SDK is generated.
// Which SDK release this matches is written in ../README.md.
package main

import (
	"strings"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	pulumitokens "github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	upstream "github.com/terraform-providers/terraform-provider-postgresql/postgresql"
)

// version is what the plugin reports to the engine. The build script sets it with
// -ldflags "-X main.version=..." to the pulumi_postgresql release whose schema this matches.
var version = "3.18.2"

const (
	pkg    = "postgresql" // Pulumi package name
	module = "index"      // the one module every token lives in
)

// resourceToken makes "postgresql:index/<camelName>:<PascalName>", the shape of every
// resource token in the Python SDK (e.g. postgresql:index/grantRole:GrantRole).
func resourceToken(pascal string) pulumitokens.Type {
	camel := strings.ToLower(pascal[:1]) + pascal[1:]
	return pulumitokens.Type(pkg + ":" + module + "/" + camel + ":" + pascal)
}

func providerInfo() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:       shimv2.NewProvider(upstream.Provider()),
		Name:    pkg,
		Version: version,

		// Provider configuration defaults the published provider adds on top of the
		// upstream ones: sslmode from PGSSLMODE, connect_timeout from PGCONNECT_TIMEOUT or 180.
		Config: map[string]*tfbridge.SchemaInfo{
			"sslmode": {Default: &tfbridge.DefaultInfo{EnvVars: []string{"PGSSLMODE"}}},
			"connect_timeout": {Default: &tfbridge.DefaultInfo{
				EnvVars: []string{"PGCONNECT_TIMEOUT"},
				Value:   180,
			}},
		},

		Resources: map[string]*tfbridge.ResourceInfo{
			// A changed grant is revoked before the new one is granted: both would
			// otherwise address the same (role, object) pair.
			"postgresql_grant": {
				Tok:                 resourceToken("Grant"),
				DeleteBeforeReplace: true,
			},
			"postgresql_grant_role": {Tok: resourceToken("GrantRole")},
		},

		// Run-time switches the published provider turns on; they change how state
		// without a schema version and previews are handled, so keep them identical.
		EnableZeroDefaultSchemaVersion: true,
		EnableAccurateBridgePreview:    true,
	}

	// postgresql_default_privileges is DefaultPrivileges; the first, misspelled token
	// (DefaultPrivileg) stays served as a deprecated copy, and is an alias of the new one.
	info.RenameResourceWithAlias("postgresql_default_privileges",
		resourceToken("DefaultPrivileg"), resourceToken("DefaultPrivileges"),
		module, module, nil)

	// Every other postgresql_* resource and data source: postgresql_foo_bar becomes
	// postgresql:index/fooBar:FooBar (data sources postgresql:index/getFooBar:getFooBar).
	info.MustComputeTokens(tokens.SingleModule("postgresql_", module, tokens.MakeStandard(pkg)))

	// Auto-named resources get "<name>-<random>" names of at most 255 characters.
	info.SetAutonaming(255, "-")

	return info
}

func main() {
	// nil schema: the engine never asks a resource plugin for it during preview/up/refresh/destroy.
	tfbridge.Main(pkg, version, providerInfo(), nil)
}
