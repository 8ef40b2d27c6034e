"""Do the policies' sub-selects run once per statement (an init-plan) in the plans the
services' real statements get?

The platform writes `current_setting(...)` and `auth.uid()` in policies as `(SELECT ...)` so
PostgreSQL evaluates them once per statement; a sub-select that reads the row (a correlated
one) runs once per row instead, which is what makes RLS slow. Only the actual plan tells:
the top statements of each service from pg_stat_statements are explained as the service
would run them (its group role, its search_path) in the inspection's read-only transaction,
as generic plans (`EXPLAIN (GENERIC_PLAN)` on 16+, PREPARE + EXPLAIN EXECUTE with
`plan_cache_mode = force_generic_plan` on 15). At most PLAN_BUDGET statements are
explained per run, the ones with the most total time first, so the number of queries stays
bounded whatever the number of services and tables.

`select_statements` and `plan_shapes` are pure; `explain` talks to the server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from pglast import ast, parse_sql, visitors
from pglast.parser import ParseError
from psycopg import sql

from edulink_db.inspect.snapshot import PlanCheck, Statement
from edulink_db.introspect.state import LivePolicy

PLAN_BUDGET = 10
GENERIC_PLAN_VERSION = 160000
_STATEMENT_KINDS = (ast.SelectStmt, ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)


Relations = frozenset[str]  # "schema.table" names a sub-select reads


@dataclass(frozen=True)
class Candidate:
    """A statement worth explaining: it reads a table whose policies hold sub-selects."""

    service: str
    role: str  # the role pg_stat_statements recorded it under
    group: str  # what the service acts as
    search_path: tuple[str, ...]
    statement: Statement
    tables: Mapping[str, tuple[str, ...]]  # "schema.table" -> policy names with sub-selects
    policy_reads: Mapping[str, tuple[Relations, ...]]  # per table: each policy sub-select's
    own_reads: tuple[Relations, ...]  # each of the statement's own sub-selects
    parameters: int


@dataclass(frozen=True)
class LoginContext:
    service: str
    group: str
    search_path: tuple[str, ...]


class _Walk(visitors.Visitor):
    """Relations, sub-selects (with the relations each reads) and the highest $n of a tree;
    unqualified names are read in `default`, the service's schema."""

    def __init__(self, default: str) -> None:
        self.default = default
        self.relations: list[str] = []
        self.sublinks: list[Relations] = []
        self.parameters = 0

    def visit_RangeVar(self, ancestors: Any, node: ast.RangeVar) -> None:
        self.relations.append(f"{node.schemaname or self.default}.{node.relname}")

    def visit_SubLink(self, ancestors: Any, node: ast.SubLink) -> None:
        inner = _Walk(self.default)
        if node.subselect is not None:
            inner(node.subselect)
        self.sublinks.append(frozenset(inner.relations))

    def visit_ParamRef(self, ancestors: Any, node: ast.ParamRef) -> None:
        self.parameters = max(self.parameters, node.number or 0)


def sublink_reads(expression: str | None) -> list[Relations]:
    """The relations each sub-select of a policy expression (pg_get_expr text, whose names
    are schema-qualified) reads; empty when it has none."""
    if not expression:
        return []
    try:
        statements = parse_sql(f"SELECT {expression}")
    except ParseError:
        return []
    walk = _Walk("pg_catalog")
    walk(statements)
    return walk.sublinks


def policy_sublinks(
    policies: Sequence[LivePolicy], group: str
) -> dict[str, tuple[tuple[str, ...], tuple[Relations, ...]]]:
    """ "schema.table" -> the policies that apply to `group` and hold sub-selects, and what
    each of those sub-selects reads."""
    names: dict[str, list[str]] = {}
    reads: dict[str, list[Relations]] = {}
    for policy in policies:
        if group not in policy.roles and "public" not in policy.roles:
            continue
        found = sublink_reads(policy.using) + sublink_reads(policy.with_check)
        if found:
            table = f"{policy.schema}.{policy.table}"
            names.setdefault(table, []).append(policy.name)
            reads.setdefault(table, []).extend(found)
    return {table: (tuple(names[table]), tuple(reads[table])) for table in names}


def _parse(query: str, default: str) -> _Walk | None:
    try:
        statements = parse_sql(query)
    except ParseError:
        return None
    if len(statements) != 1 or not isinstance(statements[0].stmt, _STATEMENT_KINDS):
        return None
    walk = _Walk(default)
    walk(statements)
    return walk


def select_statements(
    statements: Sequence[Statement],
    logins: Mapping[str, LoginContext],
    policies: Sequence[LivePolicy],
    budget: int = PLAN_BUDGET,
) -> list[Candidate]:
    """The statements to explain: those reading a table whose applicable policies hold
    sub-selects, most total time first, at most `budget`."""
    by_group = {c.group: policy_sublinks(policies, c.group) for c in logins.values()}
    chosen: list[Candidate] = []
    for statement in sorted(statements, key=lambda s: -s.total_ms):
        context = logins.get(statement.role)
        if context is None:
            continue
        default = context.search_path[0] if context.search_path else "public"
        walk = _parse(statement.query, default)
        interesting = by_group[context.group]
        tables = sorted({t for t in walk.relations if t in interesting}) if walk else []
        if walk is None or not tables:
            continue
        chosen.append(
            Candidate(
                context.service,
                statement.role,
                context.group,
                context.search_path,
                statement,
                {t: interesting[t][0] for t in tables},
                {t: interesting[t][1] for t in tables},
                tuple(walk.sublinks),
                walk.parameters,
            )
        )
        if len(chosen) >= budget:
            break
    return chosen


def _nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _scanned(plan: Mapping[str, Any]) -> Relations:
    return frozenset(
        f"{n.get('Schema')}.{n.get('Relation Name')}" for n in _nodes(plan) if "Relation Name" in n
    )


def _could_be(scanned: Relations, sub_select: Relations) -> bool:
    """Whether a sub-plan that scans `scanned` may be a sub-select that reads `sub_select`."""
    return scanned <= sub_select if scanned else not sub_select


def plan_shapes(plan: Mapping[str, Any], candidate: Candidate) -> dict[str, str]:
    """For each policy table of `candidate` scanned in `plan` (EXPLAIN VERBOSE JSON's "Plan"):

    * `per-row sub-plan` when a sub-plan attached to its scan reads only what a policy
      sub-select reads (and not only what one of the statement's own sub-selects reads);
    * `ambiguous` when such a sub-plan could be either's;
    * `init-plan` when the plan evaluates sub-selects once, as init-plans;
    * `folded` otherwise (the planner reduced the sub-select to a constant).
    """
    nodes = list(_nodes(plan))
    init_plans = any(n.get("Parent Relationship") == "InitPlan" for n in nodes)
    shapes: dict[str, str] = {}
    for node in nodes:
        table = f"{node.get('Schema')}.{node.get('Relation Name')}"
        if table not in candidate.tables:
            continue
        shape = "init-plan" if init_plans else "folded"
        for child in node.get("Plans", ()):
            if child.get("Parent Relationship") != "SubPlan":
                continue
            reads = _scanned(child)
            policy = any(_could_be(reads, r) for r in candidate.policy_reads.get(table, ()))
            own = any(_could_be(reads, r) for r in candidate.own_reads)
            if policy and own:
                shape = "ambiguous"
            elif policy:
                shape = "per-row sub-plan"
                break
        if shapes.get(table) not in ("per-row sub-plan", "ambiguous"):
            shapes[table] = shape
    return shapes


class Counted:
    """A connection whose statements are counted: the inspection reports every query."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.queries = 0

    def execute(self, query: Any, params: Any = None) -> psycopg.Cursor[Any]:
        self.queries += 1
        return self.conn.execute(query, params)


def explain(conn: Counted, candidate: Candidate, server_version: int) -> PlanCheck:
    """Explain one statement as its service, inside a savepoint that is always rolled back;
    a statement the server cannot plan is reported with the server's reason."""
    base = PlanCheck(
        candidate.service,
        candidate.role,
        candidate.statement.query_id,
        candidate.statement.query,
        policies=candidate.tables,
    )
    try:
        with conn.conn.transaction(force_rollback=True):
            # Settings first, as the inspecting login; then act as the service's group.
            path = candidate.search_path or ("public",)
            conn.execute(
                sql.SQL("SET LOCAL search_path TO {}").format(
                    sql.SQL(", ").join(sql.Identifier(schema) for schema in path)
                )
            )
            if server_version < GENERIC_PLAN_VERSION:
                conn.execute("SET LOCAL plan_cache_mode TO force_generic_plan")
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(candidate.group)))
            document = _plan(conn, candidate, server_version)
    except psycopg.Error as error:
        reason = error.diag.message_primary or type(error).__name__
        return _with_problem(base, f"could not be explained: {reason}")
    finally:
        if server_version < GENERIC_PLAN_VERSION:
            _deallocate(conn)
    return PlanCheck(
        base.service,
        base.role,
        base.query_id,
        base.query,
        shapes=plan_shapes(document[0]["Plan"], candidate),
        policies=candidate.tables,
    )


_PREPARED = "edulink_inspect_plan"


def _plan(conn: Counted, candidate: Candidate, server_version: int) -> Any:
    # The statement text is pg_stat_statements' own, normalised by the server and parsed
    # with pglast above as exactly one SELECT/INSERT/UPDATE/DELETE: it is explained, never run.
    text = sql.SQL(candidate.statement.query)
    if server_version >= GENERIC_PLAN_VERSION:
        query = sql.SQL("EXPLAIN (GENERIC_PLAN, VERBOSE, FORMAT JSON) {}").format(text)
        row = conn.execute(query).fetchone()
    else:
        conn.execute(sql.SQL("PREPARE {} AS {}").format(sql.Identifier(_PREPARED), text))
        nulls = sql.SQL(", ").join(sql.SQL("NULL") for _ in range(candidate.parameters))
        execute = (
            sql.SQL("EXECUTE {}({})").format(sql.Identifier(_PREPARED), nulls)
            if candidate.parameters
            else sql.SQL("EXECUTE {}").format(sql.Identifier(_PREPARED))
        )
        row = conn.execute(sql.SQL("EXPLAIN (VERBOSE, FORMAT JSON) {}").format(execute)).fetchone()
    assert row is not None
    value = row[0]
    return json.loads(value) if isinstance(value, str) else value


def _deallocate(conn: Counted) -> None:
    """A prepared statement outlives a rolled-back savepoint: drop it, so a pooled server
    session is left as found."""
    with conn.conn.transaction():
        found = conn.execute(
            "SELECT 1 FROM pg_catalog.pg_prepared_statements WHERE name = %s", (_PREPARED,)
        ).fetchone()
        if found:
            conn.execute(sql.SQL("DEALLOCATE {}").format(sql.Identifier(_PREPARED)))


def _with_problem(check: PlanCheck, problem: str) -> PlanCheck:
    return PlanCheck(
        check.service, check.role, check.query_id, check.query, {}, check.policies, problem
    )
