//go:build tools

// Package tools pins the Pulumi CLI module so that go.mod/go.sum record it.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
