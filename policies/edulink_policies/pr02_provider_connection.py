"""The postgresql provider runs as a non-superuser, over verified TLS in protected stacks.

Why: `superuser` defaults to true in pulumi-postgresql; the provider then uses
superuser-only statements (reading pg_shadow to refresh passwords, pitfall P1) that fail on
Supabase, whose `postgres` is not a superuser, and it signals that someone pointed the stack
at a superuser connection, against least privilege. `sslmode` below `require` lets the admin
password and every DDL statement travel in clear text, or to an unverified server, which is
unacceptable for a hosted database. Local disposable stacks (dev, `sslmode: disable`) are
exempt from the TLS part.

A stack is protected when the policy config says so (`protected`) or its name is in
`protectedStacks` (default staging, prod).

**Anti-pattern**: `postgresql.Provider(host=..., sslmode="prefer")`, or no `superuser=False`.

**Best practice**: `postgresql.Provider(..., superuser=False, sslmode="require")` or
`verify-full` with the Supabase CA.

**Remediation**: set `superuser=False`, and `edulink-db:target.sslmode` to require,
verify-ca or verify-full.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from edulink_policies.resources import PROVIDER, Resource
from edulink_policies.rule import Context, ResourceRule, Violation

SECURE_SSLMODES = ("require", "verify-ca", "verify-full")


def check(resource: Resource, context: Context) -> Iterator[Violation]:
    if resource.flag("superuser", default=True):
        yield Violation(
            resource.name,
            "superuser is not false (the provider's default is true)",
            "set superuser=False",
        )
    if context.protected(evidence=False):
        mode = resource.text("sslmode")
        if mode is None or mode.lower() not in SECURE_SSLMODES:
            yield Violation(
                resource.name,
                f"sslmode is {mode or 'unset'} in protected stack {context.stack}: the admin "
                "password and DDL may travel unencrypted or to an unverified server",
                "set edulink-db:target.sslmode to require, verify-ca or verify-full",
            )


RULE = ResourceRule(
    code="PR02",
    name="pr02-provider-connection",
    summary="The postgresql provider has superuser=false, and sslmode require/verify-ca/"
    "verify-full in protected stacks.",
    remediation="Set superuser=False on the provider and edulink-db:target.sslmode to require, "
    "verify-ca or verify-full.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    doc=__doc__ or "",
    config=("protected", "protectedStacks"),
    types=(PROVIDER,),
    check=check,
)
