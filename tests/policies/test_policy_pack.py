"""The pack as a whole: registry, entry point, README, analyzer metadata, configuration,
the catalogue reader, and the rule that rules never fail open."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import edulink_policies
import pytest
import yaml
from edulink_policies.catalogue import (
    DEFAULT_CATALOGUE,
    PROJECT_ROOT,
    CatalogueUnreadable,
    load_catalogue,
)
from edulink_policies.registry import BY_CODE, PACK_NAME, RULES, policies
from edulink_policies.resources import GRANT
from edulink_policies.rule import ResourceRule, StackRule
from policy_harness import (
    LEVELS,
    TEST_CATALOGUE,
    R,
    analyze,
    analyze_stack,
    catalogue_config,
    grant,
    mini_stack,
    named,
    provider_of,
    servicer,
)
from pulumi.runtime import proto
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

POLICIES_DIR = PROJECT_ROOT / "policies"
RULE_MODULE = re.compile(r"^([a-z]{2}\d{2})_[a-z0-9_]+$")


# --------------------------------------------------------------------------------------------
# Registry and rule modules


def test_every_rule_module_is_registered_once() -> None:
    modules = [m.name for m in pkgutil.iter_modules(edulink_policies.__path__)]
    rule_modules = {name for name in modules if RULE_MODULE.match(name)}
    registered = {
        name
        for name in rule_modules
        if importlib.import_module(f"edulink_policies.{name}").RULE in RULES
    }
    assert registered == rule_modules, "rule modules missing from registry.RULES"
    assert len(RULES) == len(rule_modules)
    assert len({r.code for r in RULES}) == len({r.name for r in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_module_shape(rule: ResourceRule | StackRule) -> None:
    (name,) = [
        m.name
        for m in pkgutil.iter_modules(edulink_policies.__path__)
        if m.name.startswith(rule.code.lower() + "_")
    ]
    module = importlib.import_module(f"edulink_policies.{name}")
    assert module.RULE is rule
    assert rule.name == name.replace("_", "-")
    doc = rule.doc
    assert doc == module.__doc__
    for section in ("Why:", "**Anti-pattern**", "**Best practice**", "**Remediation**"):
        assert section in doc, f"{rule.code} docstring lacks {section}"
    assert rule.summary.endswith(".") and "\n" not in rule.summary
    assert rule.remediation
    expected = ResourceValidationPolicy if isinstance(rule, ResourceRule) else StackValidationPolicy
    assert isinstance(rule.policy, expected)
    assert rule.policy.name == rule.name and rule.policy.enforcement_level is rule.level


# The one module of the core the pack may import: RL06's reading of a policy expression,
# shared with the audit so that one code is one rule at preview and on the live database;
# and all of the core that importing it loads.
SHARED_WITH_THE_AUDIT = "edulink_db.rowpolicy"
LOADED_WITH_IT = {"edulink_db", "edulink_db.rowpolicy", "edulink_db.sqlexpr"}


def _imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    return names


def _core_loaded_by(module: str) -> set[str]:
    """`module`, its packages, and every edulink_db module they import, transitively."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            package = ".".join(parts[:depth])
            if package in seen:
                continue
            seen.add(package)
            base = POLICIES_DIR.parent.joinpath(*parts[:depth])
            path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
            todo += [n for n in _imported_modules(path) if n.split(".")[0] == "edulink_db"]
    return seen


def test_pack_never_imports_the_compiler() -> None:
    """Defence in depth: the pack reads catalogue.yaml itself, not through `edulink_db`. Of
    the core it imports only the expression reading RL06 shares with the audit, which loads
    nothing of the catalogue, the plan or the rest of the project."""
    for path in POLICIES_DIR.rglob("*.py"):
        if "venv" in path.parts:
            continue
        for name in _imported_modules(path):
            top = name.split(".")[0]
            assert top != "components", path
            assert top != "edulink_db" or name == SHARED_WITH_THE_AUDIT, (path, name)
    assert _core_loaded_by(SHARED_WITH_THE_AUDIT) == LOADED_WITH_IT


# --------------------------------------------------------------------------------------------
# Entry point, project file, requirements, README


def test_main_compiles_and_builds_the_pack_from_the_registry() -> None:
    source = (POLICIES_DIR / "__main__.py").read_text(encoding="utf-8")
    tree = compile(source, str(POLICIES_DIR / "__main__.py"), "exec", ast.PyCF_ONLY_AST)
    code = compile(tree, str(POLICIES_DIR / "__main__.py"), "exec")  # byte-compiles
    assert code.co_filename.endswith("__main__.py")
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PolicyPack"
    ]
    assert len(calls) == 1
    keywords = {k.arg: ast.unparse(k.value) for k in calls[0].keywords}
    assert keywords["name"] == "PACK_NAME" and keywords["policies"] == "policies()"
    imported = {
        node.module: {a.name for a in node.names}
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert {"PACK_NAME", "policies"} <= imported["edulink_policies.registry"]
    assert {"PolicyPack", "EnforcementLevel"} <= imported["pulumi_policy"]
    # what it imports exists, without running the module (that would start a gRPC server)
    assert re.fullmatch(r"[a-zA-Z0-9-_.]{1,100}", PACK_NAME)
    assert [p.name for p in policies()] == [r.name for r in RULES]
    assert (POLICIES_DIR / "README.md").is_file()  # read by __main__ as the pack's readme


def test_project_file_and_requirements() -> None:
    project = yaml.safe_load((POLICIES_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert project["runtime"]["name"] == "python"
    assert project["description"]
    requirements = (POLICIES_DIR / "requirements.txt").read_text(encoding="utf-8")
    for package in ("pulumi-policy", "PyYAML", "pulumi"):
        assert re.search(rf"^{re.escape(package)}[<>=]", requirements, re.MULTILINE), package


def test_readme_rule_table_matches_the_registry() -> None:
    readme = (POLICIES_DIR / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w{2}\d{2}) \| `([^`]+)` \|.*\| (mandatory|advisory) \|", readme, re.M)
    assert [(code, name, level) for code, name, level in rows] == [
        (r.code, r.name, r.level.value) for r in RULES
    ]
    assert "pulumi preview --policy-pack policies" in readme
    assert "--policy-pack-config" in readme


# --------------------------------------------------------------------------------------------
# Analyzer metadata and configuration


def test_analyzer_info_lists_every_policy_with_its_level_and_config() -> None:
    info = servicer().GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME
    listed = {p.name: p for p in info.policies}
    assert list(listed) == [r.name for r in RULES]
    for rule in RULES:
        policy = listed[rule.name]
        assert policy.enforcementLevel == LEVELS[rule.level]
        assert policy.description == rule.description
        assert set(policy.configSchema.properties) == set(rule.config)


def test_mandatory_and_advisory_split() -> None:
    advisory = {r.code for r in RULES if r.level.value == "advisory"}
    assert advisory == {"RL02", "RL06", "ST02"}


def test_catalogue_path_relative_to_the_project() -> None:
    relative = TEST_CATALOGUE.relative_to(PROJECT_ROOT)
    schema = named(mini_stack(), "billing-schema")  # `ledger`: only the test catalogue knows it
    rule = BY_CODE["IS02"]
    with_default = analyze(servicer(), schema)
    assert [d.policy for d in with_default] == [rule.name]
    assert "schema ledger is no service's schema" in with_default[0].message
    configured = servicer({rule.name: {"catalogue": str(relative)}})
    assert analyze(configured, schema) == []


def test_protected_false_exempts_a_stack_by_config() -> None:
    provider = provider_of(mini_stack()).patched({"sslmode": "disable"})
    rule = BY_CODE["PR02"]
    assert [d.policy for d in analyze(servicer(), provider)] == [rule.name]
    assert analyze(servicer({rule.name: {"protected": False}}), provider) == []
    assert analyze(servicer(), provider, stack="dev") == []


def test_admin_roles_from_config_and_from_the_provider() -> None:
    membership = R(
        "postgresql:index/grantRole:GrantRole",
        "m",
        {"role": "supabase_admin", "grantRole": "auth_service_role"},
    )
    config = catalogue_config()
    rule = BY_CODE["IS03"]
    assert [d.policy for d in analyze(servicer(config), membership)] == [rule.name]
    config[rule.name]["adminRoles"] = ["supabase_admin"]
    assert analyze(servicer(config), membership) == []
    provider = provider_of(mini_stack()).patched({"username": "supabase_admin"})
    assert analyze(servicer(catalogue_config()), membership, provider=provider) == []


def test_compliant_stacks_pass_every_rule() -> None:
    config = catalogue_config()
    for stack, resources in (("prod", mini_stack()), ("dev", mini_stack(protected=False))):
        analyzer = servicer(config)
        provider = provider_of(resources)
        diagnostics = [d for r in resources for d in analyze(analyzer, r, stack, provider)]
        diagnostics += analyze_stack(analyzer, resources, stack)
        assert [d.message for d in diagnostics] == [], stack


def test_dev_stack_is_not_held_to_protected_rules() -> None:
    resources = [
        r.patched({"connectionLimit": -1}) if r.name == "auth-login-role" else r
        for r in mini_stack(protected=False)
    ]
    analyzer = servicer(catalogue_config())
    diagnostics = analyze_stack(analyzer, resources, "dev")
    diagnostics += [
        d for r in resources for d in analyze(analyzer, r, "dev", provider_of(resources))
    ]
    assert diagnostics == []


# --------------------------------------------------------------------------------------------
# Never fail open


def test_unreadable_catalogue_is_a_violation_not_a_pass(tmp_path: Path) -> None:
    rule = BY_CODE["GR01"]
    analyzer = servicer({rule.name: {"catalogue": str(tmp_path / "missing.yaml")}})
    write = grant("w", "user_service_role", "auth_schema", "table", ["users"], ["INSERT"])
    (diagnostic,) = [d for d in analyze(analyzer, write) if d.policy == rule.name]
    assert diagnostic.level == proto.MANDATORY
    assert "\nGR01 w: could not evaluate this rule (CatalogueUnreadable: cannot read" in (
        diagnostic.message
    )


def test_malformed_property_is_a_violation_not_a_pass() -> None:
    bad = grant("w", "user_service_role", "auth_schema", "table", ["users"], ["SELECT"])
    bad = bad.patched({"privileges": "SELECT"})  # a string where the provider expects a list
    diagnostics = [d for d in analyze(servicer(), bad) if d.policy == BY_CODE["GR01"].name]
    assert len(diagnostics) == 1
    assert "could not evaluate this rule (UnexpectedValue: `privileges` should be a list" in (
        diagnostics[0].message
    )


def test_unknown_value_during_preview_is_left_to_the_sdk() -> None:
    """An output not known before `up` is the SDK's advisory "can't run policy during
    preview", not a crash report; at `up` the value is known and the rule runs."""
    pending = R(
        GRANT,
        "g",
        {
            "role": "public",
            "schema": UNKNOWN_STRING_VALUE,
            "privileges": ["SELECT"],
            "objectType": "schema",
            "objects": [],
        },
    )
    diagnostics = [d for d in analyze(servicer(), pending) if d.policy.startswith("gr01")]
    assert len(diagnostics) == 1 and diagnostics[0].level == proto.ADVISORY
    assert "can't run policy 'gr01-cross-service-grants-read-only'" in diagnostics[0].message


# --------------------------------------------------------------------------------------------
# The catalogue reader


def test_reads_the_project_catalogue_with_default_names() -> None:
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    assert set(catalogue.services) == {
        "auth",
        "institution",
        "user",
        "notification",
        "application",
        "internship",
    }
    auth = catalogue.services["auth"]
    assert (auth.schema, auth.group_role, auth.login_role) == (
        "auth_schema",
        "auth_service_role",
        "auth_service",
    )
    users = catalogue.table("auth_schema", "users")
    assert users is not None and users.sensitive and users.secret_columns == {"password_hash"}
    read = catalogue.read("user", "auth", "users")
    assert read is not None and read.columns == {"id", "email", "is_active"}
    assert read.references == {"id"}


def test_reads_naming_overrides() -> None:
    catalogue = load_catalogue(TEST_CATALOGUE)
    billing = catalogue.services["billing"]
    assert (billing.schema, billing.group_role, billing.login_role) == (
        "ledger",
        "billing_owner",
        "billing_app",
    )
    assert catalogue.by_schema("ledger") is billing and catalogue.by_role("billing_app") is billing
    settings = catalogue.table("user_schema", "settings")
    assert settings is not None and settings.row_level_security and not settings.sensitive
    whole = catalogue.read("billing", "auth", "audit_log")
    assert whole is not None and whole.columns is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("services: [a, b]\n", "services must be a mapping"),
        ("services:\n  a:\n    reads: {service: b}\n", "services.a.reads must be a list"),
        ("services:\n  a:\n    reads: [{table: t}]\n", "reads[0] needs `service` and `table`"),
        ("services:\n  a:\n    schema: 3\n", "services.a.schema must be a name"),
        ("services: {a: {tables: {t: {secret_columns: x}}}}\n", "must list names"),
        ("services: [\n", "cannot parse"),
    ],
)
def test_malformed_catalogue_is_reported(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueUnreadable, match=re.escape(problem)):
        load_catalogue(path)
