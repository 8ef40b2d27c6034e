"""What other services hold that points into the schema being restored in place.

`check_incoming` runs before anything changes: every key another schema's rows reference
must be among the backup's rows (staged in temporary tables), or the restore is refused with
the referencing tables named. `fingerprint` is the safety net after the change: the count
and a checksum of every referencing table's foreign-key columns, taken before and after, must
be equal, so no ON DELETE or ON UPDATE action can have touched another service unseen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.backup.catalog import ForeignKey, Table

SAMPLES = 3
_ACTIONS_THAT_WRITE = ("c", "n", "d")  # CASCADE, SET NULL, SET DEFAULT


def _match(left: str, right: str, a: Sequence[str], b: Sequence[str]) -> sql.Composed:
    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} = {}.{}").format(
            sql.Identifier(left), sql.Identifier(x), sql.Identifier(right), sql.Identifier(y)
        )
        for x, y in zip(a, b, strict=True)
    )


def _not_null(alias: str, columns: Sequence[str]) -> sql.Composed:
    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} IS NOT NULL").format(sql.Identifier(alias), sql.Identifier(c))
        for c in columns
    )


def _text(alias: str, columns: Sequence[str]) -> sql.Composed:
    return sql.SQL("concat_ws(', ', {})").format(
        sql.SQL(", ").join(
            sql.SQL("{}.{}::text").format(sql.Identifier(alias), sql.Identifier(c)) for c in columns
        )
    )


def orphans(
    conn: psycopg.Connection[Any], key: ForeignKey, stage: sql.Composable
) -> tuple[int, list[str]]:
    """Rows of the referencing table whose key the staged backup rows do not hold."""
    query = sql.SQL(
        "SELECT count(*), (array_agg(DISTINCT {text}))[1:{samples}] FROM {child} AS r"
        " WHERE {not_null} AND NOT EXISTS (SELECT FROM {stage} AS s WHERE {match})"
    ).format(
        text=_text("r", key.columns),
        samples=sql.Literal(SAMPLES),
        child=sql.Identifier(key.schema, key.table),
        not_null=_not_null("r", key.columns),
        stage=stage,
        match=_match("s", "r", key.ref_columns, key.columns),
    )
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0]), list(row[1] or [])


def changed_keys(
    conn: psycopg.Connection[Any], key: ForeignKey, table: Table, stage: sql.Composable
) -> int:
    """Referenced rows whose referenced (non-primary) key the backup changes, where the
    foreign key's ON UPDATE would write to the other service's rows."""
    if key.on_update not in _ACTIONS_THAT_WRITE or key.ref_columns == table.primary_key:
        return 0
    query = sql.SQL(
        "SELECT count(*) FROM {table} AS t JOIN {stage} AS s ON {pk}"
        " WHERE ({live}) IS DISTINCT FROM ({staged})"
        " AND EXISTS (SELECT FROM {child} AS r WHERE {match})"
    ).format(
        table=sql.Identifier(key.ref_schema, key.ref_table),
        stage=stage,
        pk=_match("t", "s", table.primary_key, table.primary_key),
        live=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in key.ref_columns),
        staged=sql.SQL(", ").join(
            sql.SQL("s.{}").format(sql.Identifier(c)) for c in key.ref_columns
        ),
        child=sql.Identifier(key.schema, key.table),
        match=_match("r", "t", key.columns, key.ref_columns),
    )
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def fingerprint(conn: psycopg.Connection[Any], keys: Sequence[ForeignKey]) -> dict[str, str]:
    """Per referencing foreign key: its table's row count and a checksum of its columns."""
    found: dict[str, str] = {}
    for key in keys:
        row_text = sql.SQL("ROW({})::text").format(
            sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(c)) for c in key.columns)
        )
        query = sql.SQL(
            "SELECT count(*) || ' rows, ' || coalesce(sum(('x' || left(md5({row}), 16))"
            "::bit(64)::bigint), 0) FROM {child} AS r"
        ).format(row=row_text, child=sql.Identifier(key.schema, key.table))
        row = conn.execute(query).fetchone()
        found[f"{key.referencing} ({key.name})"] = str(row[0]) if row else ""
    return found


def differences(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    return [
        f"{name}: {before[name]} before, {after.get(name)} after"
        for name in before
        if before[name] != after.get(name)
    ]
