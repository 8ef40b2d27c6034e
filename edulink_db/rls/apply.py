"""Install row-level security, changing only what differs from what was installed before.

Everything runs in one transaction, each statement as the table's owner (SET LOCAL ROLE: the
admin is a member of every service group), so a failure leaves the tables as they were and
nothing depends on session state a transaction pooler would lose.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import sql

from edulink_db.connection import ConnectionSettings, connect
from edulink_db.introspect.policies import fetch_policies
from edulink_db.introspect.session import CatalogSession
from edulink_db.introspect.state import LivePolicy
from edulink_db.plan.model import PolicyPlan, TableSecurityPlan
from edulink_db.rls.compare import same_expression
from edulink_db.rls.statements import (
    create_policy,
    disable_statements,
    drop_policy,
    enable_statements,
)
from edulink_db.wire import from_wire, to_wire

PolicyKey = tuple[str, str, str]
TableKey = tuple[str, str]


@dataclass(frozen=True)
class SecurityState:
    """What is installed: tables with RLS enabled and forced, and the policies as planned.

    `drifted` names the installed policies a refresh found changed outside the platform; the
    next update re-creates them from the plan.
    """

    tables: tuple[TableSecurityPlan, ...] = ()
    policies: tuple[PolicyPlan, ...] = ()
    drifted: tuple[PolicyKey, ...] = ()

    def to_props(self) -> dict[str, Any]:
        wire: dict[str, Any] = to_wire(self)
        if not self.drifted:
            del wire["drifted"]  # a state without drift keeps the shape it always had
        return wire

    def over(self, props: dict[str, Any]) -> dict[str, Any]:
        """`props` with this state in place of the one they held, the rest kept: a field
        `to_props` leaves out (no drift) must not survive from the old props."""
        kept = {key: value for key, value in props.items() if key not in _STATE_FIELDS}
        return {**kept, **self.to_props()}

    @classmethod
    def from_props(cls, props: dict[str, Any] | None) -> SecurityState:
        """Read what `to_props` wrote, after the engine dropped its None values (and what
        earlier versions wrote: see `_LEGACY_DRIFT`)."""
        props = props or {}
        state = from_wire(cls, {key: props.get(key) or [] for key in _STATE_FIELDS})
        return state._legacy_drift_named()

    def _legacy_drift_named(self) -> SecurityState:
        marked = tuple(
            policy_key(p)
            for p in self.policies
            if p.using == _LEGACY_DRIFT and policy_key(p) not in self.drifted
        )
        return replace(self, drifted=(*self.drifted, *marked)) if marked else self


_STATE_FIELDS = ("tables", "policies", "drifted")
# Before `drifted`, a refresh stored a changed policy with this text as its USING expression.
# Such a state still names the policy as drifted; the text is never compared nor rendered.
_LEGACY_DRIFT = "(changed outside the platform)"


def policy_key(policy: PolicyPlan) -> PolicyKey:
    return (policy.schema, policy.table, policy.name)


def table_key(table: TableSecurityPlan) -> TableKey:
    return (table.schema, table.table)


@dataclass(frozen=True)
class Change:
    """One step, with the sentence a dry run and a real run both print."""

    owner: str
    statement: sql.Composed
    says: str
    # Set on removals: a table that is gone (dropped, or its schema renamed by the stack)
    # has nothing left to remove, so the step is skipped rather than failing the update.
    table: TableKey | None = None


def plan_changes(old: SecurityState, new: SecurityState) -> list[Change]:
    """The statements that turn `old` into `new`, and nothing for what did not change."""
    changes: list[Change] = []
    old_policies = {policy_key(p): p for p in old.policies}
    new_policies = {policy_key(p): p for p in new.policies}
    old_tables = {table_key(t): t for t in old.tables}
    new_tables = {table_key(t): t for t in new.tables}
    for name, policy in old_policies.items():
        if name not in new_policies:
            says = f"drop policy {_label(name)}"
            changes.append(Change(policy.owner, drop_policy(policy), says, _table_of(policy)))
    for table_name, table in new_tables.items():
        if table_name not in old_tables:
            says = f"enable and force RLS on {_label(table_name)}"
            changes += [Change(table.owner, s, says) for s in enable_statements(table)]
    for name, policy in new_policies.items():
        if old_policies.get(name) != policy or name in old.drifted:
            # DROP IF EXISTS first: a changed policy is replaced in the same transaction, and
            # one left by an interrupted run is adopted rather than an error.
            says = f"create policy {_label(name)}"
            changes.append(Change(policy.owner, drop_policy(policy), says))
            changes.append(Change(policy.owner, create_policy(policy), says))
    for table_name, table in old_tables.items():
        if table_name not in new_tables:
            says = f"disable RLS on {_label(table_name)}"
            changes += [Change(table.owner, s, says, table_name) for s in disable_statements(table)]
    return changes


def _table_of(policy: PolicyPlan) -> TableKey:
    return (policy.schema, policy.table)


def _label(key: Iterable[str]) -> str:
    return ".".join(key)


def apply_changes(settings: ConnectionSettings, changes: Sequence[Change]) -> None:
    if not changes:
        return
    with connect(settings) as conn, conn.transaction():
        gone = _missing_tables(conn, {c.table for c in changes if c.table is not None})
        for change in changes:
            if change.table in gone:
                continue
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(change.owner)))
            conn.execute(change.statement)


def _missing_tables(conn: psycopg.Connection[Any], tables: set[TableKey]) -> set[TableKey]:
    ordered = sorted(tables)
    rows = conn.execute(
        "SELECT s, t FROM unnest(%s::text[], %s::text[]) AS x(s, t)"
        " WHERE to_regclass(format('%%I.%%I', s, t)) IS NULL",
        ([s for s, _ in ordered], [t for _, t in ordered]),
    ).fetchall()
    return {(s, t) for s, t in rows}


def read_state(settings: ConnectionSettings, expected: SecurityState) -> SecurityState:
    """What of `expected` is live: tables whose RLS is still enabled and forced, and the
    policies that still exist, drifted where their command, mode, roles or expressions no
    longer match (or already did not: drift stays until an update re-creates the policy).

    Read-only: expressions are compared through `rls.compare`, which parses both the plan's
    rendering and PostgreSQL's (pg_get_expr) into one normal form, so a refresh takes no
    lock on the tables it looks at.
    """
    with connect(settings) as conn, conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        live_tables = _live_tables(conn, expected.tables)
        live_policies = _live_policies(conn, expected.policies)
    tables = tuple(t for t in expected.tables if live_tables.get(table_key(t)))
    policies = tuple(p for p in expected.policies if policy_key(p) in live_policies)
    drifted = tuple(
        policy_key(p)
        for p in policies
        if policy_key(p) in expected.drifted or not _matches(p, live_policies[policy_key(p)])
    )
    return SecurityState(tables, policies, drifted)


def _matches(policy: PolicyPlan, live: LivePolicy) -> bool:
    return (
        live.command == policy.command
        and live.permissive == policy.permissive
        and sorted(live.roles) == sorted(policy.roles)
        and same_expression(policy.using, live.using, policy.schema, policy.table)
        and same_expression(policy.with_check, live.with_check, policy.schema, policy.table)
    )


def _live_tables(
    conn: psycopg.Connection[Any], tables: Sequence[TableSecurityPlan]
) -> dict[TableKey, bool]:
    rows = conn.execute(
        "SELECT n.nspname, c.relname, c.relrowsecurity AND c.relforcerowsecurity"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
        ([t.schema for t in tables], [t.table for t in tables]),
    ).fetchall()
    return {(s, t): bool(on) for s, t, on in rows}


def _live_policies(
    conn: psycopg.Connection[Any], policies: Sequence[PolicyPlan]
) -> dict[PolicyKey, LivePolicy]:
    """The audit's reader of pg_policy, in this transaction and with the connection's own
    search_path (the plan's expressions are compared with what pg_get_expr renders there)."""
    wanted = {policy_key(p) for p in policies}
    live = fetch_policies(CatalogSession(conn), sorted({p.schema for p in policies}))
    return {key: p for p in live if (key := (p.schema, p.table, p.name)) in wanted}
