"""The rule registry: every rule module is registered once, with a permanent code, a dotted
name, a level and the documentation SARIF and users read."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import edulink_db.audit.rules as rules_package
from edulink_db.audit.rule import Rule
from edulink_db.audit.rules import RULES
from edulink_db.finding import Level

FAMILIES = {"DR": "drift.", "RL": "rls.", "SL": "security."}


def rule_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(rules_package.__path__))


def test_every_rule_module_defines_one_registered_rule() -> None:
    registered = {type(rule) for rule in RULES}
    for name in rule_modules():
        module = importlib.import_module(f"{rules_package.__name__}.{name}")
        defined = [
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, Rule)
            and value.__module__ == module.__name__
        ]
        assert len(defined) == 1, name
        (rule,) = defined
        assert rule in registered, f"{name}: {rule.__name__} is not in RULES"
        assert name.startswith(rule.code.lower() + "_"), name
    assert len(RULES) == len(rule_modules()) == len(registered)


def test_codes_names_and_levels_are_permanent_shapes() -> None:
    codes = [rule.code for rule in RULES]
    assert len(set(codes)) == len(codes)
    assert codes == sorted(codes)
    for rule in RULES:
        family = rule.code[:2]
        assert family in FAMILIES and rule.code[2:].isdigit() and len(rule.code) == 4
        assert rule.name.startswith(FAMILIES[family]) and " " not in rule.name
        assert isinstance(rule.level, Level)


def test_every_rule_documents_why_and_how_to_fix() -> None:
    for rule in RULES:
        text = rule.documentation
        assert rule.summary.endswith(".") and len(rule.summary) < 120, rule.code
        for section in ("Why:", "**Anti-pattern**", "**Best practice**", "**Remediation**"):
            assert section in text, (rule.code, section)
