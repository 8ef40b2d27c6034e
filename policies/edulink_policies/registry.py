"""Every rule of the pack, listed explicitly: what `policies/__main__.py` builds the pack from.

A test checks that every `<code>_<slug>.py` module in this package is listed here.
"""

from __future__ import annotations

from pulumi_policy import Policy

from edulink_policies import (
    gr01_cross_service_grants_read_only,
    gr02_grants_to_group_roles,
    is01_no_public_privileges,
    is02_schema_owned_by_service,
    is03_role_membership_within_service,
    pr01_protected_stack_resources,
    pr02_provider_connection,
    rl01_sensitive_tables_rls_forced,
    rl02_rls_table_has_policy,
    rl03_policy_needs_rls,
    rl04_policy_roles_named,
    rl05_cross_service_policies_read_only,
    rl06_policy_initplan,
    ro01_no_privileged_role_attributes,
    ro02_login_role_limits,
    st01_edges_declared,
    st02_declared_edges_granted,
)
from edulink_policies.rule import Rule

PACK_NAME = "edulink-db-isolation"

RULES: tuple[Rule, ...] = (
    is01_no_public_privileges.RULE,
    is02_schema_owned_by_service.RULE,
    is03_role_membership_within_service.RULE,
    gr01_cross_service_grants_read_only.RULE,
    gr02_grants_to_group_roles.RULE,
    ro01_no_privileged_role_attributes.RULE,
    ro02_login_role_limits.RULE,
    rl01_sensitive_tables_rls_forced.RULE,
    rl02_rls_table_has_policy.RULE,
    rl03_policy_needs_rls.RULE,
    rl04_policy_roles_named.RULE,
    rl05_cross_service_policies_read_only.RULE,
    rl06_policy_initplan.RULE,
    pr01_protected_stack_resources.RULE,
    pr02_provider_connection.RULE,
    st01_edges_declared.RULE,
    st02_declared_edges_granted.RULE,
)

BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def policies() -> list[Policy]:
    """The Pulumi policy objects, in registry order (a fresh list; the objects are shared)."""
    return [rule.policy for rule in RULES]
