"""`edulink-db migrate-data`: copy a legacy service database into its schema, verified.

`register(app)` adds the command to a typer app. Exit codes as for the other commands:
0 done, 1 pre-flight problems (nothing was written), 2 the move could not run or a table
failed (that table was rolled back; tables verified before it are kept and recorded, and a
re-run with --resume continues after them). 130 when interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from edulink_db.cli.console import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    print_issues,
    quiet_psycopg,
    user_errors,
)
from edulink_db.cli.options import dsn_option
from edulink_db.datamove.progress import NoProgress, TableResult
from edulink_db.datamove.progress import Progress as ProgressSink
from edulink_db.datamove.render import render_plan, render_result, render_summary
from edulink_db.datamove.run import MoveReport, MoveRequest, migrate_service

SOURCE_ENV = "EDULINK_LEGACY_DSN"
TARGET_ENV = "EDULINK_TARGET_DSN"


class _RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s", style="progress.data.speed")


class RichProgress:
    """A bar per table (rows, rows/s, ETA) while it copies; a line per table once done."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RowsPerSecond(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task: TaskID | None = None
        self._status = self._bars.add_task("", total=None, visible=False)

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def phase(self, text: str) -> None:
        self._bars.update(self._status, description=text, visible=True)

    def start(self, table: str, rows: int) -> None:
        self._bars.update(self._status, visible=False)
        self._task = self._bars.add_task(table, total=rows or None)

    def advance(self, rows: int) -> None:
        if self._task is not None:
            self._bars.advance(self._task, rows)

    def finish(self, result: TableResult) -> None:
        if self._task is not None:
            self._bars.remove_task(self._task)
            self._task = None
        self._console.print(render_result(result), markup=False, highlight=False)


class _Lines(NoProgress):
    """Without a terminal: one line per table, no bars."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def finish(self, result: TableResult) -> None:
        self._console.print(render_result(result), markup=False, highlight=False)


@user_errors(EXIT_FINDINGS, " by the pre-flight; nothing was written")
def migrate_data(
    service: Annotated[str, typer.Option("--service", help="The service to move.")],
    source: Annotated[
        str,
        dsn_option(
            "--source",
            SOURCE_ENV,
            "DSN of the service's legacy database (keep passwords off the command line).",
        ),
    ],
    target: Annotated[
        str,
        dsn_option("--target", TARGET_ENV, "DSN of the new database, as the platform admin."),
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Pre-flight, evaluate every transform on every legacy row, print the plan; "
            "write nothing.",
        ),
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip the tables an earlier run copied and verified.")
    ] = False,
    tables: Annotated[
        list[str] | None,
        typer.Option("--tables", help="Only these tables (repeat, or separate with commas)."),
    ] = None,
    root: Annotated[
        Path, typer.Option("--root", help="The project folder (catalogue.yaml, legacy/).")
    ] = Path("."),
    mappings: Annotated[
        Path | None,
        typer.Option("--mappings", help="The folder of <service>.yaml mappings; default: legacy/."),
    ] = None,
    progress: Annotated[
        bool,
        typer.Option("--progress/--no-progress", help="Progress bars (only on a terminal)."),
    ] = True,
) -> None:
    """Copy a legacy service database into its schema: pre-flight, COPY, verify, record."""
    quiet_psycopg()
    out = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    request = MoveRequest(
        root=root,
        service=service,
        source=source,
        target=target,
        dry_run=dry_run,
        resume=resume,
        tables=_selected_tables(tables),
        mapping_dir=mappings,
    )
    report = _move(request, out, err, bars=progress and err.is_terminal)
    if dry_run:
        _report_dry_run(report, out, err)
        return
    out.print(render_summary(report), markup=False, highlight=False)


def _selected_tables(tables: list[str] | None) -> tuple[str, ...]:
    """`--tables a,b --tables c` as (a, b, c)."""
    return tuple(t.strip() for item in tables or () for t in item.split(",") if t.strip())


def _move(request: MoveRequest, out: Console, err: Console, *, bars: bool) -> MoveReport:
    """Run the move, showing it as bars (a terminal, a real run), a line per table copied,
    or not at all (a dry run copies nothing). Interrupted, the table being copied is rolled
    back and the command exits 130."""
    try:
        if bars and not request.dry_run:
            with RichProgress(err) as shown:
                return migrate_service(request, shown)
        sink: ProgressSink = NoProgress() if request.dry_run else _Lines(out)
        return migrate_service(request, sink)
    except KeyboardInterrupt:
        err.print(
            "interrupted: the table being copied was rolled back; run again with --resume",
            markup=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _report_dry_run(report: MoveReport, out: Console, err: Console) -> None:
    """The plan once the pre-flight passed; before that, only what stops it. Pointed at the
    wrong database, the pre-flight fails on every table, and a plan of 60 lines in front of
    the errors would bury them."""
    if report.issues:
        print_issues(
            err,
            report.issues,
            f"{len(report.issues)} problem(s) found by the pre-flight; dry run, nothing was "
            "written",
        )
        raise typer.Exit(EXIT_FINDINGS)
    out.print(render_plan(report), markup=False, highlight=False)
    out.print("pre-flight: no problem found; dry run, nothing was written", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `migrate-data` to `app`."""
    app.command("migrate-data")(migrate_data)


def main() -> None:
    """`python -m edulink_db.cli.migrate_data`: the command on its own."""
    app = typer.Typer(add_completion=False)
    register(app)
    app(prog_name="edulink-db migrate-data")


if __name__ == "__main__":  # pragma: no cover
    main()
