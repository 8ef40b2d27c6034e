"""Every rule: the compliant resource passes, the violating one is reported with the rule's
code, the fixed one passes again. One case table per rule; each case runs directly against
the policy object and through the analyzer servicer (enforcement levels as the CLI applies
them). The compliant baseline is `mini_stack()` for testdata/catalogue.yaml."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from edulink_policies.registry import BY_CODE
from edulink_policies.rule import ResourceRule, Rule
from policy_harness import (
    DELETE,
    LEVELS,
    TEST_CATALOGUE,
    Patch,
    R,
    adding,
    analyze,
    analyze_stack,
    grant,
    mini_stack,
    named,
    patch,
    policy_patch,
    provider_of,
    run_direct,
    servicer,
    without,
)

Mutation = Callable[[list[R]], list[R]]


@dataclass(frozen=True)
class ResourceCase:
    """Patch one resource of the compliant stack into a violation, then patch it back right."""

    id: str
    base: str
    bad: Patch
    fix: Patch
    expect: str
    stack: str = "prod"
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StackCase:
    """Mutate the compliant stack into a violation; `fix` mutates the broken stack back."""

    id: str
    bad: Mutation
    fix: Mutation
    expect: str
    stack: str = "prod"
    config: Mapping[str, Any] = field(default_factory=dict)


Case = ResourceCase | StackCase
COMPLIANT = mini_stack()


def _compliant(name: str) -> R:
    return named(COMPLIANT, name)


CASES: dict[str, tuple[Case, ...]] = {
    "IS01": (
        ResourceCase(
            "grant-to-public",
            "billing-select-auth_schema-audit_log",
            {"role": "public"},
            {"role": "billing_owner"},
            "SELECT on auth_schema.audit_log to public",
        ),
        ResourceCase(
            "grant-to-PUBLIC-uppercase",
            "user-usage-auth_schema",
            {"role": "PUBLIC"},
            {"privileges": []},
            "USAGE on schema auth_schema to PUBLIC",
        ),
        ResourceCase(
            "default-execute-for-public",
            "auth-revoke-public-functions",
            {"privileges": ["EXECUTE"]},
            {"privileges": []},
            "default EXECUTE on future functions of auth_service_role",
        ),
    ),
    "IS02": (
        ResourceCase(
            "owner-not-set",
            "auth-schema",
            {"owner": DELETE},
            {"owner": "auth_service_role"},
            "owned by the connecting admin (owner not set)",
        ),
        ResourceCase(
            "owned-by-another-service",
            "auth-schema",
            {"owner": "user_service_role"},
            {"owner": "auth_service_role"},
            "owned by user_service_role, not by auth_service_role",
        ),
        ResourceCase(
            "override-ignored",
            "billing-schema",
            {"owner": "billing_service_role"},
            {"owner": "billing_owner"},
            "not by billing_owner, the group role of service billing",
        ),
        ResourceCase(
            "schema-outside-catalogue",
            "auth-schema",
            {"name": "scratch"},
            {"name": "auth_schema"},
            "schema scratch is no service's schema in catalogue.yaml",
        ),
    ),
    "IS03": (
        ResourceCase(
            "login-joins-other-group",
            "user-login-membership",
            {"grantRole": "auth_service_role"},
            {"grantRole": "user_service_role"},
            "user_service (a role of service user) becomes a member of auth_service_role",
        ),
        ResourceCase(
            "group-joins-supabase-role",
            "auth-login-membership",
            {"role": "auth_service_role", "grantRole": "service_role"},
            {"role": "auth_service", "grantRole": "auth_service_role"},
            "auth_service_role (service auth) becomes a member of service_role",
        ),
        ResourceCase(
            "stranger-in-group",
            "auth-admin-membership",
            {"role": "authenticated"},
            {"role": "postgres"},
            "authenticated becomes a member of auth_service_role",
        ),
        ResourceCase(
            "override-login-joins-other-group",
            "billing-login-membership",
            {"grantRole": "user_service_role"},
            {"grantRole": "billing_owner"},
            "billing_app (a role of service billing) becomes a member of user_service_role",
        ),
        ResourceCase(
            "role-lists-other-group",
            "user-login-role",
            {"roles": ["auth_service_role"]},
            {"roles": []},
            "becomes a member of auth_service_role",
        ),
        ResourceCase(
            "login-assumes-other-group",
            "user-login-role",
            {"assumeRole": "auth_service_role"},
            {"assumeRole": "user_service_role"},
            "runs as auth_service_role (ALTER ROLE ... SET role)",
        ),
    ),
    "GR01": (
        ResourceCase(
            "cross-service-write",
            "user-select-auth_schema-users",
            {"privileges": ["SELECT", "INSERT", "UPDATE"]},
            {"privileges": ["SELECT"]},
            "INSERT, UPDATE across services",
        ),
        ResourceCase(
            "cross-service-all",
            "user-select-auth_schema-users",
            {"privileges": ["all"]},
            {"privileges": ["select"]},
            "ALL across services",
        ),
        ResourceCase(
            "create-on-other-schema",
            "user-usage-auth_schema",
            {"privileges": ["USAGE", "CREATE"]},
            {"privileges": ["USAGE"]},
            "CREATE across services",
        ),
        ResourceCase(
            "all-tables-in-schema",
            "billing-select-auth_schema-audit_log",
            {"objects": []},
            {"objects": ["audit_log"]},
            "names no table",
        ),
        ResourceCase(
            "sensitive-table-whole",
            "user-select-auth_schema-users",
            {"objectType": "table", "columns": DELETE},
            {"objectType": "column", "columns": ["id", "email"]},
            "auth_schema.users is sensitive",
        ),
        ResourceCase(
            "secret-column",
            "user-select-auth_schema-users",
            {"columns": ["id", "password_hash"]},
            {"columns": ["id"]},
            "reaches secret column(s) password_hash of auth_schema.users",
        ),
        ResourceCase(
            "default-privileges-for-other-service",
            "auth-revoke-public-functions",
            {"role": "user_service_role", "objectType": "table", "privileges": ["SELECT"]},
            {"role": "public", "privileges": []},
            "default privileges for service user on auth's objects",
        ),
        ResourceCase(
            "sequence-across",
            "user-usage-auth_schema",
            {"objectType": "sequence"},
            {"objectType": "schema"},
            "not sequence grants",
        ),
        ResourceCase(
            "override-names-write",
            "billing-select-user_schema-profiles",
            {"privileges": ["UPDATE"]},
            {"privileges": ["SELECT"]},
            "UPDATE across services",
        ),
    ),
    "GR02": (
        ResourceCase(
            "grant-to-supabase-role",
            "billing-select-auth_schema-audit_log",
            {"role": "authenticated"},
            {"role": "billing_owner"},
            "authenticated is no service's group role",
        ),
        ResourceCase(
            "grant-to-login-role",
            "billing-select-auth_schema-audit_log",
            {"role": "billing_app"},
            {"role": "billing_owner"},
            "goes to login role billing_app",
        ),
        ResourceCase(
            "default-privileges-to-anon",
            "auth-revoke-public-functions",
            {"role": "anon", "privileges": ["EXECUTE"]},
            {"role": "public", "privileges": []},
            "anon is no service's group role",
        ),
        ResourceCase(
            "create-on-database",
            "user-connect-database",
            {"privileges": ["CONNECT", "CREATE"]},
            {"privileges": ["CONNECT"]},
            "CREATE on the database",
        ),
    ),
    "RO01": tuple(
        ResourceCase(
            f"{attribute}-{value}",
            base,
            {attribute: value},
            {attribute: fixed},
            f"has {keyword}",
        )
        for attribute, keyword, base, value, fixed in (
            ("superuser", "SUPERUSER", "auth-login-role", True, False),
            ("superuser", "SUPERUSER", "auth-group-role", "true", "false"),
            ("createDatabase", "CREATEDB", "user-login-role", True, False),
            ("createRole", "CREATEROLE", "user-group-role", True, DELETE),
            ("replication", "REPLICATION", "billing-login-role", True, False),
            ("bypassRowLevelSecurity", "BYPASSRLS", "billing-group-role", True, False),
        )
    ),
    "RO02": (
        ResourceCase(
            "unlimited-connections",
            "auth-login-role",
            {"connectionLimit": -1},
            {"connectionLimit": 10},
            "has no connection limit (connection_limit=-1)",
        ),
        ResourceCase(
            "connection-limit-unset",
            "billing-login-role",
            {"connectionLimit": DELETE},
            {"connectionLimit": 3},
            "has no connection limit (connection_limit=unset)",
        ),
        ResourceCase(
            "no-statement-timeout",
            "user-login-role",
            {"statementTimeout": DELETE},
            {"statementTimeout": 5000},
            "login role user_service in protected stack prod has no statement timeout",
        ),
        ResourceCase(
            "protected-by-config",
            "user-login-role",
            {"statementTimeout": 0, "@protect": False},
            {"statementTimeout": 5000},
            "in protected stack dev has no statement timeout",
            stack="dev",
            config={"protected": True},
        ),
        ResourceCase(
            "protected-by-stack-name",
            "user-login-role",
            {"connectionLimit": -1, "@protect": False},
            {"connectionLimit": 2},
            "in protected stack qa has no connection limit",
            stack="qa",
            config={"protectedStacks": ["qa"]},
        ),
    ),
    "RL01": (
        StackCase(
            "sensitive-table-dropped",
            patch(
                "auth-row-level-security",
                lambda p: {**p, "tables": [t for t in p["tables"] if t["table"] != "users"]},
            ),
            patch(
                "auth-row-level-security",
                {
                    "tables": [
                        {"schema": "auth_schema", "table": "users", "owner": "auth_service_role"}
                    ]
                },
            ),
            "auth_schema.users: is marked sensitive in catalogue.yaml but no RowLevelSecurity",
        ),
        StackCase(
            "rls-resource-missing",
            without("billing-row-level-security"),
            adding(_compliant("billing-row-level-security")),
            "ledger.invoices: is marked sensitive",
        ),
        StackCase(
            "rls-true-table-dropped",
            patch(
                "user-row-level-security",
                lambda p: {**p, "tables": [t for t in p["tables"] if t["table"] != "settings"]},
            ),
            patch(
                "user-row-level-security",
                lambda p: {
                    **p,
                    "tables": [
                        *p["tables"],
                        {"schema": "user_schema", "table": "settings", "owner": "x"},
                    ],
                },
            ),
            "user_schema.settings: has rls: true",
        ),
    ),
    "RL02": (
        StackCase(
            "only-restrictive-policy",
            patch(
                "user-row-level-security",
                policy_patch("settings", "user_service_role", permissive=False),
            ),
            patch(
                "user-row-level-security",
                policy_patch("settings", "user_service_role", permissive=True),
            ),
            "user_schema.settings: has RLS enabled and forced but no permissive policy",
        ),
        StackCase(
            "no-policy-at-all",
            patch(
                "billing-row-level-security",
                lambda p: {**p, "policies": [x for x in p["policies"] if x["table"] != "invoices"]},
            ),
            adding(
                R(
                    "pulumi-python:dynamic/edulink-db:RowLevelSecurity",
                    "billing-extra-row-level-security",
                    {
                        "service": "billing",
                        "tables": [],
                        "policies": [
                            {
                                "schema": "ledger",
                                "table": "invoices",
                                "name": "p",
                                "command": "all",
                                "permissive": True,
                                "roles": ["billing_owner"],
                                "using": "true",
                            }
                        ],
                    },
                )
            ),
            "ledger.invoices: has RLS enabled",
        ),
    ),
    "RL03": (
        StackCase(
            "policy-on-table-without-rls",
            patch(
                "billing-row-level-security",
                lambda p: {
                    **p,
                    "policies": [
                        *p["policies"],
                        {
                            "schema": "auth_schema",
                            "table": "audit_log",
                            "name": "billing_owner_read",
                            "command": "select",
                            "roles": ["billing_owner"],
                            "using": "true",
                        },
                    ],
                },
            ),
            patch(
                "billing-row-level-security",
                lambda p: {
                    **p,
                    "policies": [x for x in p["policies"] if x["table"] != "audit_log"],
                },
            ),
            "policy billing_owner_read on auth_schema.audit_log: (in billing-row-level-security)",
        ),
    ),
    "RL04": (
        ResourceCase(
            "no-roles",
            "auth-row-level-security",
            policy_patch("users", "auth_service_role", roles=[]),
            lambda p: {
                **p,
                "policies": [{**x, "roles": ["auth_service_role"]} for x in p["policies"]],
            },
            "policy auth_service_role_all on auth_schema.users: names no role",
        ),
        ResourceCase(
            "public",
            "auth-row-level-security",
            policy_patch("users", "auth_service_role", roles=["auth_service_role", "public"]),
            policy_patch("users", "auth_service_role", roles=["auth_service_role"]),
            "applies to PUBLIC",
        ),
        ResourceCase(
            "login-role",
            "user-row-level-security",
            policy_patch("profiles", "user_service_role", roles=["user_service"]),
            policy_patch("profiles", "user_service", roles=["user_service_role"]),
            "applies to user_service, which is no service's group role",
        ),
        ResourceCase(
            "supabase-role",
            "billing-row-level-security",
            policy_patch("invoices", "billing_owner", roles=["authenticated"]),
            policy_patch("invoices", "authenticated", roles=["billing_owner"]),
            "applies to authenticated",
        ),
    ),
    "RL05": (
        ResourceCase(
            "reader-gets-all",
            "user-row-level-security",
            policy_patch("users", "user_service_role", command="all", with_check="true"),
            policy_patch("users", "user_service_role", command="select", with_check=None),
            "lets user_service_role (service user) ALL rows of service auth's table",
        ),
        ResourceCase(
            "reader-gets-update",
            "billing-row-level-security",
            policy_patch("profiles", "billing_owner", command="UPDATE"),
            policy_patch("profiles", "billing_owner", command="select"),
            "lets billing_owner (service billing) UPDATE rows of service user's table",
        ),
    ),
    "RL06": (
        ResourceCase(
            "bare-current-setting",
            "user-row-level-security",
            policy_patch(
                "profiles", "user_service_role", using="id = current_setting('a.b')::uuid"
            ),
            policy_patch(
                "profiles", "user_service_role", using="id = (select current_setting('a.b'))::uuid"
            ),
            "USING calls current_setting() once per row",
        ),
        ResourceCase(
            "uppercase-auth-uid-in-with-check",
            "auth-row-level-security",
            policy_patch("users", "auth_service_role", with_check="owner = AUTH.UID()"),
            policy_patch("users", "auth_service_role", with_check="owner = ( SELECT auth.uid() )"),
            "WITH CHECK calls auth.uid() once per row",
        ),
        ResourceCase(
            "quoted-auth-jwt",
            "billing-row-level-security",
            policy_patch("invoices", "billing_owner", using="\"auth\".\"jwt\"() ->> 'r' = 'x'"),
            policy_patch("invoices", "billing_owner", using="(select auth.jwt()) ->> 'r' = 'x'"),
            "USING calls auth.jwt() once per row",
        ),
        ResourceCase(
            "one-of-two-wrapped",
            "billing-row-level-security",
            policy_patch(
                "invoices", "billing_owner", using="(select auth.email()) = a or auth.email() = b"
            ),
            policy_patch(
                "invoices",
                "billing_owner",
                using="(select auth.email()) = a or (select auth.email()) = b",
            ),
            "USING calls auth.email() once per row",
        ),
        ResourceCase(
            "call-deep-inside-a-sub-select",
            "user-row-level-security",
            policy_patch(
                "profiles",
                "user_service_role",
                using="id = coalesce(nullif(current_setting('a.b', true), '')::uuid, id)",
            ),
            policy_patch(
                "profiles",
                "user_service_role",
                using="id = coalesce((select nullif(current_setting('a.b', true), '')::uuid), id)",
            ),
            "USING calls current_setting() once per row",
        ),
        ResourceCase(
            "tampered-two-statements",
            "auth-row-level-security",
            policy_patch("users", "auth_service_role", using="true); select (1"),
            policy_patch("users", "auth_service_role", using="true"),
            "USING does not parse",
        ),
        ResourceCase(
            "tampered-unparseable",
            "auth-row-level-security",
            policy_patch("users", "auth_service_role", with_check="owner = ("),
            policy_patch("users", "auth_service_role", with_check="true"),
            "WITH CHECK does not parse",
        ),
    ),
    "PR01": (
        StackCase(
            "schema-unprotected",
            patch("auth-schema", {"@protect": False}),
            patch("auth-schema", {"@protect": True}),
            "auth-schema: is not protected in protected stack prod: deleting it drops",
        ),
        StackCase(
            "rls-unprotected",
            patch("user-row-level-security", {"@protect": False}),
            patch("user-row-level-security", {"@protect": True}),
            "user-row-level-security: is not protected in protected stack prod: deleting it "
            "disables RLS",
        ),
        StackCase(
            "migrations-disposable",
            patch("billing-migrations", {"disposable": True}),
            patch("billing-migrations", {"disposable": False}),
            "billing-migrations: is disposable in protected stack prod",
        ),
        StackCase(
            "one-schema-unprotected-in-unnamed-stack",
            patch("user-schema", {"@protect": False}),
            patch("user-schema", {"@protect": True}),
            "user-schema: is not protected in protected stack qa",
            stack="qa",
        ),
        StackCase(
            "nothing-protected-but-config",
            lambda rs: [r.patched({"@protect": False}) for r in rs],
            lambda rs: [r.patched({"@protect": True}) for r in rs],
            "auth-migrations: is not protected in protected stack qa",
            stack="qa",
            config={"protected": True},
        ),
    ),
    "PR02": (
        ResourceCase(
            "superuser-true",
            "edulink-db-postgresql",
            {"superuser": "true"},
            {"superuser": "false"},
            "superuser is not false",
        ),
        ResourceCase(
            "superuser-default",
            "edulink-db-postgresql",
            {"superuser": DELETE},
            {"superuser": False},
            "superuser is not false (the provider's default is true)",
        ),
        ResourceCase(
            "sslmode-disable-in-prod",
            "edulink-db-postgresql",
            {"sslmode": "disable"},
            {"sslmode": "verify-full"},
            "sslmode is disable in protected stack prod",
        ),
        ResourceCase(
            "sslmode-unset-in-staging",
            "edulink-db-postgresql",
            {"sslmode": DELETE},
            {"sslmode": "REQUIRE"},
            "sslmode is unset in protected stack staging",
            stack="staging",
        ),
    ),
    "ST01": (
        StackCase(
            "undeclared-table",
            adding(
                grant(
                    "billing-select-users",
                    "billing_owner",
                    "auth_schema",
                    "column",
                    ["users"],
                    ["SELECT"],
                    ["id"],
                )
            ),
            without("billing-select-users"),
            "service billing declares no read of auth_schema.users",
        ),
        StackCase(
            "undeclared-column",
            patch("user-select-auth_schema-users", {"columns": ["id", "email", "is_active"]}),
            patch("user-select-auth_schema-users", {"columns": ["id", "email"]}),
            "SELECT on undeclared column(s) is_active of auth_schema.users",
        ),
        StackCase(
            "whole-table-when-columns-declared",
            patch("billing-select-user_schema-profiles", {"objectType": "table"}),
            patch("billing-select-user_schema-profiles", {"objectType": "column"}),
            "SELECT on the whole table user_schema.profiles; declared columns: display_name, id",
        ),
        StackCase(
            "to-login-role",
            patch("user-usage-auth_schema", {"role": "user_service"}),
            patch("user-usage-auth_schema", {"role": "user_service_role"}),
            "goes to user_service; a cross-service edge runs from the consumer's group role "
            "user_service_role",
        ),
        StackCase(
            "schema-usage-without-read",
            adding(
                grant("auth-usage-ledger", "auth_service_role", "ledger", "schema", [], ["USAGE"])
            ),
            without("auth-usage-ledger"),
            "service auth declares no read of service billing",
        ),
        StackCase(
            "undeclared-references",
            patch("billing-select-user_schema-profiles", {"privileges": ["SELECT", "REFERENCES"]}),
            patch("billing-select-user_schema-profiles", {"privileges": ["SELECT"]}),
            "REFERENCES on user_schema.profiles is not declared",
        ),
    ),
    "ST02": (
        StackCase(
            "usage-missing",
            without("user-usage-auth_schema"),
            adding(_compliant("user-usage-auth_schema")),
            "read user -> auth_schema.users: is declared but lacks USAGE on schema auth_schema",
        ),
        StackCase(
            "column-missing",
            patch("user-select-auth_schema-users", {"columns": ["id"]}),
            patch("user-select-auth_schema-users", {"columns": ["email", "id"]}),
            "lacks SELECT on column(s) email",
        ),
        StackCase(
            "references-missing",
            without("user-references-auth_schema-users"),
            adding(_compliant("user-references-auth_schema-users")),
            "lacks REFERENCES on auth_schema.users",
        ),
        StackCase(
            "whole-table-read-missing",
            without("billing-select-auth_schema-audit_log"),
            adding(_compliant("billing-select-auth_schema-audit_log")),
            "read billing -> auth_schema.audit_log: is declared but lacks SELECT on "
            "auth_schema.audit_log",
        ),
        StackCase(
            "reader-policy-missing",
            patch(
                "billing-row-level-security",
                lambda p: {**p, "policies": [x for x in p["policies"] if x["table"] != "profiles"]},
            ),
            patch(
                "billing-row-level-security",
                lambda p: {
                    **p,
                    "policies": [
                        *p["policies"],
                        {
                            "schema": "user_schema",
                            "table": "profiles",
                            "name": "r",
                            "command": "select",
                            "roles": ["billing_owner"],
                            "using": "deleted_at IS NULL",
                        },
                    ],
                },
            ),
            "lacks a SELECT policy for billing_owner (RLS is forced: it sees 0 rows)",
        ),
    ),
}

PARAMS = [
    pytest.param(code, case, id=f"{code}-{case.id}")
    for code, cases in CASES.items()
    for case in cases
]


def _config(rule: Rule, case: Case) -> dict[str, Any]:
    settings = {"catalogue": str(TEST_CATALOGUE), **case.config}
    return {k: v for k, v in settings.items() if k in rule.config}


def _states(case: Case) -> tuple[Any, Any, Any]:
    """(compliant, violating, fixed) subjects: a resource or the whole stack."""
    if isinstance(case, ResourceCase):
        good = _compliant(case.base)
        bad = good.patched(case.bad)
        return good, bad, bad.patched(case.fix)
    bad_stack = case.bad(list(COMPLIANT))
    return list(COMPLIANT), bad_stack, case.fix(bad_stack)


def test_every_rule_has_cases() -> None:
    assert set(CASES) == set(BY_CODE)
    assert all(CASES[code] for code in CASES)


@pytest.mark.parametrize(("code", "case"), PARAMS)
def test_rule_directly(code: str, case: Case) -> None:
    rule = BY_CODE[code]
    provider = provider_of(COMPLIANT)
    good, bad, fixed = _states(case)

    def run(subject: Any) -> list[str]:
        reported = run_direct(rule, subject, case.stack, _config(rule, case), provider)
        if isinstance(rule, ResourceRule):
            assert all(r.urn is None for r in reported)
        return [r.message for r in reported]

    assert run(good) == []
    messages = run(bad)
    assert messages, f"{code} did not report {case.id}"
    assert all(m.startswith(f"{code} ") and "\nRemediation: " in m for m in messages), messages
    assert any(case.expect in m for m in messages), messages
    assert run(fixed) == []


@pytest.mark.parametrize(("code", "case"), PARAMS)
def test_rule_through_analyzer(code: str, case: Case) -> None:
    rule = BY_CODE[code]
    analyzer = servicer({rule.name: _config(rule, case)})
    provider = provider_of(COMPLIANT)
    good, bad, fixed = _states(case)

    def run(subject: Any) -> list[Any]:
        if isinstance(subject, R):
            diagnostics = analyze(analyzer, subject, case.stack, provider)
        else:
            diagnostics = analyze_stack(analyzer, subject, case.stack)
        return [d for d in diagnostics if d.policy == rule.name]

    assert run(good) == []
    diagnostics = run(bad)
    assert diagnostics
    assert {d.level for d in diagnostics} == {LEVELS[rule.level]}
    assert all(d.message.startswith(f"{rule.description}\n{code} ") for d in diagnostics)
    assert any(case.expect in d.message for d in diagnostics)
    if isinstance(case, StackCase):
        assert all(d.urn for d in diagnostics)
    assert run(fixed) == []
