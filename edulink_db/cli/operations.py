"""`edulink-db inspect | backup | restore | rollback`: operating each service on the shared
database. Thin: parse options, call the core, print, choose the exit code.

Exit codes as for `audit`: 0 clean / done, 1 findings at or above --fail-on (inspect) or a
refusal before anything changed (restore, rollback), 2 the command could not run or failed
(and rolled back). `register(app)` adds the commands to a typer app.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edulink_db.cli.console import EXIT_FINDINGS, quiet_psycopg, user_errors
from edulink_db.cli.options import AllowNotEvaluatedOption, FailOnOption, RootOption, dsn_option
from edulink_db.finding import Level

if TYPE_CHECKING:
    from edulink_db.project import Project

# Each command imports what it runs when it runs: a restore does not pay for the compiler, the
# audit or pglast's catalogue checks at start-up (benchmarks/backup_restore measures it).
LOCK_TIMEOUT = "10s"

StackOption = Annotated[str, typer.Option("--stack", "-s", help="The stack whose settings to use.")]


def _emit(text: str, end: str = "\n") -> None:
    """A command's report, as it is rendered (plain text: rich is imported only to word an
    error, not at every start-up)."""
    typer.echo(text + end, nl=False)


# A refusal (problems found, nothing changed) exits 1; another user error exits 2.
refuses_bad_input = user_errors(EXIT_FINDINGS, "; nothing was changed")


def _project(root: Path, stack: str) -> Project:
    from edulink_db.project import load_project
    from edulink_db.stackfile import read_stack_config

    config, secret = read_stack_config(root, stack)
    return load_project(root, stack, config, secret, require_secrets=False)


class InspectFormat(StrEnum):
    table = "table"
    json = "json"
    prometheus = "prometheus"


@refuses_bad_input
def inspect(
    dsn: Annotated[
        str,
        dsn_option(
            "--dsn",
            "EDULINK_INSPECT_DSN",
            "The database to inspect (or EDULINK_INSPECT_DSN).",
        ),
    ],
    service: Annotated[
        list[str] | None, typer.Option("--service", help="Only this service (repeatable).")
    ] = None,
    format: Annotated[InspectFormat, typer.Option("--format", "-f")] = InspectFormat.table,
    thresholds: Annotated[
        Path | None, typer.Option("--thresholds", help="YAML file overriding the thresholds.")
    ] = None,
    fail_on: FailOnOption = Level.warning,
    allow_not_evaluated: AllowNotEvaluatedOption = False,
    root: RootOption = Path("."),
    stack: StackOption = "prod",
) -> None:
    """Per-service health: sizes, index use, cache, bloat, vacuum, sessions, locks, top
    statements, connections and timeouts against the plan, RLS plans; read-only."""
    from edulink_db.inspect.render import render
    from edulink_db.inspect.run import exceeds, run_inspect
    from edulink_db.inspect.scope import scope_of
    from edulink_db.inspect.thresholds import load_thresholds

    limits = load_thresholds(thresholds)
    scope = scope_of(_project(root, stack).plan, service or ())
    report = run_inspect(dsn, scope, limits)
    _emit(render(report, format.value), end="")
    if exceeds(report, fail_on, fail_on_unknown=not allow_not_evaluated):
        raise typer.Exit(1)


DsnOption = Annotated[
    str,
    dsn_option(
        "--dsn",
        "EDULINK_DSN",
        "The database, as the platform admin (or EDULINK_DSN; keep passwords off the "
        "command line).",
    ),
]
ServiceOption = Annotated[str, typer.Option("--service", help="The service.")]


@refuses_bad_input
def backup(
    service: ServiceOption,
    dsn: DsnOption,
    out: Annotated[Path, typer.Option("--out", help="The backup file to write.")],
    compress: Annotated[
        bool, typer.Option("--compress/--no-compress", help="Deflate the data (slower).")
    ] = False,
    root: RootOption = Path("."),
) -> None:
    """Back up one service's schema (definitions, rows, checksums, migration history) to a
    file, from one consistent snapshot; read-only."""
    from edulink_db.backup.dump import BackupRequest, backup_service
    from edulink_db.backup.render import render_backup

    quiet_psycopg()
    request = BackupRequest(root=root, service=service, dsn=dsn, out=out, compress=compress)
    report = backup_service(request)
    _emit(render_backup(report))


@refuses_bad_input
def restore(
    service: ServiceOption,
    source: Annotated[Path, typer.Option("--from", help="The backup file.")],
    dsn: DsnOption,
    in_place: Annotated[
        bool,
        typer.Option(
            "--in-place",
            help="Restore onto the platform's own schema, leaving roles, grants, policies and "
            "other services' rows as they are; without it, into a database that has no such "
            "schema (a drill).",
        ),
    ] = False,
    lock_timeout: Annotated[
        str, typer.Option("--lock-timeout", help="How long to wait for the schema's tables.")
    ] = LOCK_TIMEOUT,
) -> None:
    """Restore one service's schema from a backup, in one transaction, verified against the
    backup's manifest; refused before anything changes if other services' rows would lose
    what they reference."""
    from edulink_db.backup.render import render_restore
    from edulink_db.backup.restore import RestoreRequest, restore_service

    quiet_psycopg()
    request = RestoreRequest(
        service=service, source=source, dsn=dsn, in_place=in_place, lock_timeout=lock_timeout
    )
    report = restore_service(request)
    _emit(render_restore(report))


@refuses_bad_input
def rollback(
    service: ServiceOption,
    dsn: DsnOption,
    to: Annotated[
        str,
        dsn_option(
            "--to",
            "EDULINK_ROLLBACK_DSN",
            "The standalone database to roll back into (or EDULINK_ROLLBACK_DSN).",
        ),
    ],
    root: RootOption = Path("."),
    mappings: Annotated[
        Path | None,
        typer.Option("--mappings", help="The folder of <service>.yaml mappings; default: legacy/."),
    ] = None,
) -> None:
    """Copy a moved service's schema back into a standalone database shaped like its legacy
    one (the inverse of legacy/<service>.yaml), verified with the data move's checksums."""
    from edulink_db.rollback.render import render_rollback
    from edulink_db.rollback.run import RollbackRequest, rollback_service

    quiet_psycopg()
    request = RollbackRequest(
        root=root, service=service, source=dsn, target=to, mapping_dir=mappings
    )
    _emit(render_rollback(rollback_service(request)))


def register(app: typer.Typer) -> None:
    """Add `inspect`, `backup`, `restore` and `rollback` to `app`."""
    app.command("inspect")(inspect)
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("rollback")(rollback)


def main() -> None:
    """`python -m edulink_db.cli.operations`: these commands on their own."""
    app = typer.Typer(add_completion=False, no_args_is_help=True)

    @app.callback()
    def _root() -> None:
        """edulink-db: operating the services' database."""

    register(app)
    app(prog_name="edulink-db")


if __name__ == "__main__":  # pragma: no cover
    main()
