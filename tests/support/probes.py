"""Log in as a service and try every cell of the access matrix against the real database.

A cell that must work has to succeed; a cell that must fail has to fail with SQLSTATE 42501
(insufficient_privilege) and nothing else. Probes run inside one transaction per role, each
behind a savepoint, and everything is rolled back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.matrix import Cell, build_matrix
from edulink_db.project import Project
from tests.support.cluster import Cluster
from tests.support.program import Recording

INSUFFICIENT_PRIVILEGE = "42501"


@dataclass
class ProbeReport:
    results: list[tuple[Cell, str]] = field(default_factory=list)  # (cell, outcome)
    mismatches: list[str] = field(default_factory=list)

    def count(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for cell, outcome in self.results:
            counts[
                ("allowed" if cell.allowed else "denied")
                + ("" if outcome == "probed" else f" ({outcome})")
            ] += 1
        return counts


@dataclass(frozen=True)
class ColumnInfo:
    table_oid: int
    type: str
    unique: bool  # a single-column PRIMARY KEY or UNIQUE index: a foreign key may point here


def column_info(
    superuser_conn: psycopg.Connection[Any], schemas: Iterable[str]
) -> dict[tuple[str, str, str], ColumnInfo]:
    rows = superuser_conn.execute(
        """
        SELECT n.nspname, c.relname, a.attname, c.oid::int, format_type(a.atttypid, a.atttypmod),
               EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique
                       AND i.indnatts = 1 AND i.indkey[0] = a.attnum AND i.indpred IS NULL)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%s) AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
        """,
        (list(schemas),),
    ).fetchall()
    return {(s, t, c): ColumnInfo(oid, type_, unique) for s, t, c, oid, type_, unique in rows}


def probe_service(
    dsn: str,
    own_schema: str,
    cells: Iterable[Cell],
    columns: dict[tuple[str, str, str], ColumnInfo],
    report: ProbeReport,
) -> None:
    with psycopg.connect(dsn, autocommit=False) as conn:
        for number, cell in enumerate(cells):
            statement = _statement(cell, own_schema, columns, number)
            if statement is None:
                _catalog_check(conn, cell, columns, report)
                continue
            state = _attempt(conn, statement)
            report.results.append((cell, "probed"))
            _judge(cell, state, statement.as_string(conn), report)
        conn.rollback()


def _statement(
    cell: Cell, own_schema: str, columns: dict[tuple[str, str, str], ColumnInfo], number: int
) -> sql.Composable | None:
    if cell.table is None:
        if cell.privilege == "CREATE":
            return sql.SQL("CREATE TABLE {} (id int)").format(
                sql.Identifier(cell.schema, f"edulink_probe_{number}")
            )
        # USAGE: resolving anything in the schema needs it; a table's row type needs nothing else.
        any_table = next(t for (s, t, _c) in columns if s == cell.schema)
        return sql.SQL("SELECT NULL::{}").format(sql.Identifier(cell.schema, any_table))
    table = sql.Identifier(cell.schema, cell.table)
    column = sql.Identifier(cell.column) if cell.column else None
    if cell.privilege == "DELETE":
        return sql.SQL("DELETE FROM {} WHERE false").format(table)
    if cell.privilege == "SELECT":
        return sql.SQL("SELECT {} FROM {} WHERE false").format(column, table)
    if cell.privilege == "INSERT":
        return sql.SQL("INSERT INTO {} ({}) SELECT NULL WHERE false").format(table, column)
    if cell.privilege == "UPDATE":
        return sql.SQL("UPDATE {} SET {} = NULL WHERE false").format(table, column)
    if cell.privilege == "REFERENCES":
        assert cell.column is not None
        info = columns[(cell.schema, cell.table, cell.column)]
        if not info.unique:
            return None  # PostgreSQL refuses a foreign key to it for another reason (42830)
        return sql.SQL("CREATE TABLE {} (ref {} REFERENCES {} ({}))").format(
            sql.Identifier(own_schema, f"edulink_probe_{number}"), sql.SQL(info.type), table, column
        )
    raise AssertionError(f"no probe for {cell}")


def _attempt(conn: psycopg.Connection[Any], statement: sql.Composable) -> str | None:
    """None on success, else the SQLSTATE; the savepoint undoes whatever happened."""
    conn.execute("SAVEPOINT probe")
    try:
        conn.execute(statement)
        return None
    except psycopg.Error as error:
        return error.sqlstate or "?????"
    finally:
        conn.execute("ROLLBACK TO SAVEPOINT probe")


def _judge(cell: Cell, state: str | None, text: str, report: ProbeReport) -> None:
    if cell.allowed and state is not None:
        report.mismatches.append(f"{cell.service}: expected to work, got {state}: {text}")
    elif not cell.allowed and state != INSUFFICIENT_PRIVILEGE:
        got = "success" if state is None else state
        report.mismatches.append(f"{cell.service}: expected 42501, got {got}: {text}")


def _catalog_check(
    conn: psycopg.Connection[Any],
    cell: Cell,
    columns: dict[tuple[str, str, str], ColumnInfo],
    report: ProbeReport,
) -> None:
    """Where no statement can tell (REFERENCES on a non-unique column), ask the catalog; by
    OID, because resolving a name already needs USAGE on the schema."""
    assert cell.table is not None and cell.column is not None
    oid = columns[(cell.schema, cell.table, cell.column)].table_oid
    row = conn.execute(
        "SELECT has_column_privilege(current_user, %s::oid, %s, %s)",
        (oid, cell.column, cell.privilege),
    ).fetchone()
    report.results.append((cell, "catalog"))
    if bool(row and row[0]) != cell.allowed:
        report.mismatches.append(f"{cell.service}: catalog says {not cell.allowed} for {cell}")


def probe_matrix(
    cluster: Cluster, database: str, logins: Recording | Mapping[str, str], project: Project
) -> ProbeReport:
    """Every cell of the plan's matrix, probed as each service's login role; `logins` gives
    the passwords: a recording's, or a deployed stack's outputs (service -> password)."""
    cells = build_matrix(project.plan, project.catalogue.shapes)
    with psycopg.connect(cluster.superuser_dsn(database)) as conn:
        columns = column_info(conn, [s.schema.name for s in project.plan.services])
    report = ProbeReport()
    for service in project.plan.services:
        if isinstance(logins, Recording):
            password = str(logins.by_name(f"{service.name}-login-role").inputs["password"])
        else:
            password = logins[service.name]
        dsn = cluster.dsn(service.login.name, password, database)
        mine = [c for c in cells if c.service == service.name]
        probe_service(dsn, service.schema.name, mine, columns, report)
    return report
