"""A checkpoint and the engine's steps over it: `up`, `refresh` and `destroy` of a recording.

What the engine does, and so what this does:

* `up` plans first (as `pulumi up`'s preview does): a new URN is a create; a known one is
  diffed — for a dynamic resource by the provider host's Check then Diff, with the stored
  inputs and outputs — into same, update or replace; a URN the program no longer registers
  is a delete. A replace or delete of a `protect`ed resource stops the whole run before any
  statement. Then it executes in dependency order: replaces delete first when the provider
  asks for delete-before-replace, deletes run dependents first.
* `refresh` calls Read with the stored outputs and keeps what it returns (drift shows as
  changed outputs, which the next `up`'s Diff sees).
* `destroy` deletes everything, dependents first; `retain_on_delete` leaves the object and
  forgets it, `protect` refuses the whole run.

Where this differs from the engine (README, "How it is proven"):

* `postgresql:*` resources are not run by the real provider: create, update and delete are
  the provider's SQL as read from its source (`tests/support/replay.py`,
  notes/provider-semantics.md); their diff compares inputs, with the provider's ForceNew
  rules; their refresh reads nothing (drift of grants and roles is the audit's job).
* Generated passwords, the dev database and components only live in the checkpoint: what
  the mocks resolved for them is handed back from it (`run_program(kept=...)`), as the
  engine hands back outputs; their providers run through the host in their own tests.
* Steps run one at a time in one topological order (`test_replay_order.py` explores the
  others).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from google.protobuf import json_format
from psycopg import sql

from tests.support.program import Recording, Registration
from tests.support.provider_host import ProviderHost, _engine_value
from tests.support.replay import (
    _DEFAULT_OBJECTS,
    DYNAMIC,
    SKIPPED_PREFIXES,
    Replay,
    _Executor,
    _grantee,
    apply_sql,
    grant_statements,
    registered_inputs,
    topological_orders,
)

Op = tuple[str, str]
"""(operation, URN): create, update, replace, delete, or refresh (outputs changed)."""


class ProtectedError(AssertionError):
    """What the engine says before running anything when a protected resource would go."""


@dataclass
class ResourceState:
    urn: str
    type: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]


@dataclass
class _Step:
    op: str
    registration: Registration | None
    old: ResourceState | None
    news: dict[str, Any] = field(default_factory=dict)
    delete_first: bool = False


# Everything but `privileges` is ForceNew for these two (notes/provider-semantics.md §5, §7).
_PRIVILEGE_RESOURCES = (
    "postgresql:index/grant:Grant",
    "postgresql:index/defaultPrivileges:DefaultPrivileges",
)
_GRANT_ROLE = "postgresql:index/grantRole:GrantRole"


class Engine:
    """One stack's checkpoint on one test database."""

    def __init__(self, admin_dsn: str, connection: dict[str, Any]) -> None:
        self.admin_dsn = admin_dsn
        self.connection = connection  # what dynamic resources get instead of the stack's
        self.checkpoint: dict[str, ResourceState] = {}
        self.log = Replay()

    def kept(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Outputs the program reads back (random results, the dev database's password), by
        type and name: what the mocks resolved on the first run, kept as the engine keeps it."""
        return {
            (s.type, s.urn.rsplit("::", 1)[1]): s.outputs
            for s in self.checkpoint.values()
            if s.type.startswith(SKIPPED_PREFIXES)
        }

    # -- up -------------------------------------------------------------------------------

    def up(self, recording: Recording) -> list[Op]:
        with ProviderHost() as host:
            steps = self._plan(host, recording)
            for step in steps:
                self._execute(host, step)
        return [(s.op, _urn(s)) for s in steps if s.op != "same"]

    def _plan(self, host: ProviderHost, recording: Recording) -> list[_Step]:
        steps = [self._diff(host, r) for r in topological_orders(recording)]
        registered = {r.urn for r in recording.resources}
        # The mocks register the root stack once per process; every real run has it.
        registered |= {u for u, s in self.checkpoint.items() if s.type == "pulumi:pulumi:Stack"}
        gone = [s for u, s in reversed(self.checkpoint.items()) if u not in registered]
        steps += [_Step("delete", None, s) for s in gone]
        refused = [
            _urn(s) for s in steps if s.op in ("replace", "delete") and s.old and s.old.protect
        ]
        if refused:
            raise ProtectedError(_protected_message(refused))
        return steps

    def _diff(self, host: ProviderHost, registration: Registration) -> _Step:
        old = self.checkpoint.get(registration.urn)
        if _hosted(registration.type):
            news = registered_inputs(registration, self.connection)
            checked = host.check(registration.urn, old.inputs if old else {}, news)
            if old is None:
                return _Step("create", registration, None, checked)
            response = host.diff(registration.urn, old.id, old.inputs, old.outputs, checked)
            if response.changes != response.DIFF_SOME:
                return _Step("same", registration, old, checked)
            if response.replaces:
                return _Step("replace", registration, old, checked, response.deleteBeforeReplace)
            return _Step("update", registration, old, checked)
        news = engine_inputs(registration)
        if old is None:
            return _Step("create", registration, None, news)
        if news == old.inputs:
            return _Step("same", registration, old, news)
        if _forces_new(registration.type, old.inputs, news):
            # The bridge marks Grant delete-before-replace; the others create first.
            delete_first = registration.type == "postgresql:index/grant:Grant"
            return _Step("replace", registration, old, news, delete_first)
        return _Step("update", registration, old, news)

    def _execute(self, host: ProviderHost, step: _Step) -> None:
        if step.op == "create":
            self._create(host, step)
        elif step.op == "update":
            self._update(host, step)
        elif step.op == "replace":
            assert step.old is not None
            if step.delete_first:
                self._delete(host, step.old)
                self._create(host, step)
            else:
                self._create(host, step)
                self._delete(host, step.old)
        elif step.op == "delete":
            assert step.old is not None
            self._delete(host, step.old)
        elif step.op == "same" and step.old is not None and step.registration is not None:
            self._remember(step.registration, step.old.id, step.news, step.old.outputs)

    def _create(self, host: ProviderHost, step: _Step) -> None:
        registration = step.registration
        assert registration is not None
        id_, outputs = f"{registration.name}-id", {**step.news, **registration.outputs}
        if _hosted(registration.type):
            id_, outputs = host.create(registration.urn, step.news)
        elif not registration.type.startswith(SKIPPED_PREFIXES):
            apply_sql(_with_inputs(registration, step.news), self.admin_dsn, self.log)
        self._remember(registration, id_, step.news, outputs)

    def _update(self, host: ProviderHost, step: _Step) -> None:
        registration, old = step.registration, step.old
        assert registration is not None and old is not None
        outputs = dict(step.news)
        if _hosted(registration.type):
            outputs = host.update(registration.urn, old.id, old.inputs, old.outputs, step.news)
        elif registration.type in _PRIVILEGE_RESOURCES:
            apply_sql(_with_inputs(registration, step.news), self.admin_dsn, self.log)
        elif registration.type in _UPDATES:
            with psycopg.connect(self.admin_dsn) as conn:
                _UPDATES[registration.type](_Executor(conn, self.log), old.inputs, step.news)
                conn.commit()
        elif not registration.type.startswith(SKIPPED_PREFIXES):
            raise AssertionError(f"the harness does not model an update of {registration.urn}")
        self._remember(registration, old.id, step.news, outputs)

    def _remember(
        self, registration: Registration, id_: str, inputs: dict[str, Any], outputs: dict[str, Any]
    ) -> None:
        self.checkpoint[registration.urn] = ResourceState(
            urn=registration.urn,
            type=registration.type,
            id=id_,
            inputs=inputs,
            outputs=outputs,
            protect=registration.protect,
            retain_on_delete=registration.retain_on_delete,
            dependencies=list(registration.dependencies),
        )

    # -- delete, refresh, destroy ---------------------------------------------------------------

    def _delete(self, host: ProviderHost, state: ResourceState) -> None:
        if not state.retain_on_delete:
            if _hosted(state.type):
                host.delete(state.urn, state.id, state.inputs, state.outputs)
            elif state.type in _DELETES:
                with psycopg.connect(self.admin_dsn) as conn:
                    _DELETES[state.type](_Executor(conn, self.log), state.inputs)
                    conn.commit()
        del self.checkpoint[state.urn]

    def refresh(self) -> list[Op]:
        ops: list[Op] = []
        with ProviderHost() as host:
            for state in list(self.checkpoint.values()):
                if not _hosted(state.type):
                    continue
                _, outputs = host.read(state.urn, state.id, state.inputs, state.outputs)
                if outputs != state.outputs:
                    ops.append(("refresh", state.urn))
                    state.outputs = outputs
        return ops

    def destroy(self) -> list[Op]:
        states = list(reversed(self.checkpoint.values()))
        refused = [s.urn for s in states if s.protect]
        if refused:
            raise ProtectedError(_protected_message(refused))
        with ProviderHost() as host:
            for state in states:
                self._delete(host, state)
        return [("delete", s.urn) for s in states]


def _hosted(type_: str) -> bool:
    """A dynamic resource the provider host runs (the dev database is the test cluster's)."""
    return type_.startswith(DYNAMIC) and not type_.startswith(SKIPPED_PREFIXES)


def engine_inputs(registration: Registration) -> dict[str, Any]:
    """The inputs as the engine keeps them: secrets unwrapped, null properties skipped."""
    value: dict[str, Any] = _engine_value(json_format.MessageToDict(registration.struct))
    return value


def _with_inputs(registration: Registration, inputs: dict[str, Any]) -> Registration:
    return replace(registration, inputs=inputs)


def _urn(step: _Step) -> str:
    if step.registration is not None:
        return step.registration.urn
    assert step.old is not None
    return step.old.urn


def _forces_new(type_: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    if type_ in _PRIVILEGE_RESOURCES:
        keys = (set(old) | set(new)) - {"privileges"}
        return any(old.get(k) != new.get(k) for k in keys)
    return type_ == _GRANT_ROLE


def _protected_message(urns: Iterable[str]) -> str:
    names = ", ".join(sorted(urns))
    return (
        f"refusing to replace or delete protected resources: {names}. "
        "A protected stack keeps its data: to go ahead on purpose, run "
        "`pulumi state unprotect <urn>` for each, then `pulumi up` again"
    )


def _delete_role(ex: _Executor, inputs: dict[str, Any]) -> None:
    role = sql.Identifier(inputs["name"])
    admin = ex.value("SELECT current_user")
    ex.lock_role(inputs["name"])

    def body() -> None:
        ex.run(sql.SQL("REASSIGN OWNED BY {} TO {}").format(role, sql.Identifier(admin)))
        ex.run(sql.SQL("DROP OWNED BY {}").format(role))

    ex.with_roles_granted([inputs["name"]], body)
    ex.run(sql.SQL("DROP ROLE {}").format(role))


def _schema_owner(ex: _Executor, name: str | None) -> str | None:
    """The schema's owner, or None when there is no such schema."""
    owner = ex.value("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", name)
    return None if owner is None else str(owner)


def _delete_schema(ex: _Executor, inputs: dict[str, Any]) -> None:
    name = inputs["name"]
    owner = _schema_owner(ex, name)
    if owner is not None:
        ex.with_roles_granted(
            [owner], lambda: ex.run(sql.SQL("DROP SCHEMA {} RESTRICT").format(sql.Identifier(name)))
        )


def _delete_grant(ex: _Executor, inputs: dict[str, Any]) -> None:
    schema = inputs.get("schema")
    owner = _schema_owner(ex, schema)
    if owner is None:
        return  # the provider's read drops a grant whose schema is gone
    revoke = next(
        grant_statements(
            inputs["role"],
            inputs["objectType"],
            schema,
            inputs.get("objects") or [],
            inputs.get("columns") or [],
            sorted(inputs.get("privileges") or []),
        )
    )
    ex.lock_role(inputs["role"])
    ex.with_roles_granted([owner], lambda: ex.run(revoke))


def _delete_grant_role(ex: _Executor, inputs: dict[str, Any]) -> None:
    ex.run(
        sql.SQL("REVOKE {} FROM {}").format(
            sql.Identifier(inputs["grantRole"]), sql.Identifier(inputs["role"])
        )
    )


def _delete_default_privileges(ex: _Executor, inputs: dict[str, Any]) -> None:
    owner = inputs["owner"]
    prefix = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {}").format(sql.Identifier(owner))
    if inputs.get("schema"):
        prefix = sql.SQL("{} IN SCHEMA {}").format(prefix, sql.Identifier(inputs["schema"]))
    statement = sql.SQL("{} REVOKE ALL ON {} FROM {}").format(
        prefix, sql.SQL(_DEFAULT_OBJECTS[inputs["objectType"]]), _grantee(inputs["role"])
    )
    ex.lock_role(owner)
    ex.with_roles_granted([owner], lambda: ex.run(statement))


def _update_role(ex: _Executor, old: dict[str, Any], new: dict[str, Any]) -> None:
    """resourcePostgreSQLRoleUpdate, for what the program can change: password, connection
    limit, search_path (always re-set) and the per-role settings."""
    unmodelled = {k for k in set(old) | set(new) if old.get(k) != new.get(k)} - {
        "password",
        "connectionLimit",
        "searchPaths",
        "statementTimeout",
        "idleInTransactionSessionTimeout",
        "assumeRole",
    }
    if unmodelled:
        raise AssertionError(f"the harness does not model a role update of {sorted(unmodelled)}")
    name = sql.Identifier(new["name"])
    ex.lock_role(new["name"])
    if old.get("password") != new.get("password"):
        ex.run(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(new.get("password"))),
            redact=True,
        )
    if old.get("connectionLimit") != new.get("connectionLimit"):
        limit = sql.Literal(int(new.get("connectionLimit", -1)))
        ex.run(sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(name, limit))
    paths = new.get("searchPaths") or []
    target = sql.SQL(", ").join(map(sql.Identifier, paths)) if paths else sql.SQL("DEFAULT")
    ex.run(sql.SQL("ALTER ROLE {} SET search_path TO {}").format(name, target))
    for key, setting in (
        ("statementTimeout", "statement_timeout"),
        ("idleInTransactionSessionTimeout", "idle_in_transaction_session_timeout"),
        ("assumeRole", "role"),
    ):
        if old.get(key) == new.get(key):
            continue
        if new.get(key):
            value = sql.Identifier(new[key]) if key == "assumeRole" else sql.Literal(int(new[key]))
            ex.run(sql.SQL("ALTER ROLE {} SET {} TO {}").format(name, sql.SQL(setting), value))
        else:
            ex.run(sql.SQL("ALTER ROLE {} RESET {}").format(name, sql.SQL(setting)))


def _update_schema(ex: _Executor, old: dict[str, Any], new: dict[str, Any]) -> None:
    """resourcePostgreSQLSchemaUpdate: a rename in place, then the owner (no owner dance)."""
    if old["name"] != new["name"]:
        ex.run(
            sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(old["name"]), sql.Identifier(new["name"])
            )
        )
    if old.get("owner") != new.get("owner") and new.get("owner"):
        ex.run(
            sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(
                sql.Identifier(new["name"]), sql.Identifier(new["owner"])
            )
        )


_UPDATES = {
    "postgresql:index/role:Role": _update_role,
    "postgresql:index/schema:Schema": _update_schema,
}

_DELETES = {
    "postgresql:index/role:Role": _delete_role,
    "postgresql:index/schema:Schema": _delete_schema,
    "postgresql:index/grant:Grant": _delete_grant,
    "postgresql:index/grantRole:GrantRole": _delete_grant_role,
    "postgresql:index/defaultPrivileges:DefaultPrivileges": _delete_default_privileges,
}
