"""The repository and one stack's settings, loaded, validated and compiled in one call.

The Pulumi program and the CLI both start here, so they reject the same inputs with the
same messages, and both fail before anything is registered or applied.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from edulink_db.catalogue.load import LoadedCatalogue, load_catalogue
from edulink_db.environment.load import Environment, Positions, load_environment
from edulink_db.errors import Issue, ValidationFailed
from edulink_db.plan.compile import compile_plan
from edulink_db.plan.model import AccessPlan


@dataclass(frozen=True)
class Project:
    catalogue: LoadedCatalogue
    environment: Environment
    plan: AccessPlan


def load_project(
    root: Path,
    stack: str,
    config: Mapping[str, str],
    secret_keys: Collection[str],
    require_secrets: bool = True,
    positions: Positions | None = None,
) -> Project:
    """Raise ValidationFailed with the problems of both inputs when either is bad.

    `require_secrets=False` is for tools that never connect as the admin (matrix, audit);
    `positions` locate stack-file problems when the caller read the file itself (the CLI).
    """
    problems: list[Issue] = []
    catalogue = environment = None
    try:
        catalogue = load_catalogue(root)
    except ValidationFailed as failed:
        problems += failed.issues
    try:
        # Without a valid catalogue there is nothing to check service names against.
        services = catalogue.services if catalogue else None
        environment = load_environment(
            stack, config, secret_keys, services, require_secrets, positions
        )
    except ValidationFailed as failed:
        problems += failed.issues
    if problems or catalogue is None or environment is None:
        raise ValidationFailed(problems)
    return Project(catalogue, environment, compile_plan(catalogue, environment.settings))
