"""Rules that relate several values of the catalogue and the migrations to each other.

Each `check_*` returns issues and never raises: the loader reports all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from edulink_db.catalogue.expressions import examine_expression, written_expressions
from edulink_db.catalogue.model import ResolvedService
from edulink_db.errors import Issue
from edulink_db.identifiers import is_identifier
from edulink_db.migrations.ddl import ForeignKey, SchemaShape, Table
from edulink_db.rowpolicy import (
    ExpressionError,
    owner_policy_name,
    reader_policy_name,
    render_expression,
)
from edulink_db.yamlsource import YamlSource

# Names Supabase and PostgreSQL already use: owning or impersonating them would hand a
# service someone else's rights.
RESERVED_SCHEMAS = frozenset(
    {
        "public",
        "auth",
        "extensions",
        "storage",
        "realtime",
        "graphql",
        "graphql_public",
        "vault",
        "pgbouncer",
        "supabase_migrations",
        "supabase_functions",
        "net",
        "cron",
        "pgsodium",
        "information_schema",
    }
)
RESERVED_ROLES = frozenset(
    {
        "postgres",
        "anon",
        "authenticated",
        "service_role",
        "authenticator",
        "dashboard_user",
        "pgbouncer",
        "public",
    }
)
RESERVED_PREFIXES = ("pg_", "supabase_")


# PostgreSQL keeps the first 63 bytes of a longer name, silently.
MAX_IDENTIFIER_BYTES = 63


def check_catalogue(
    source: YamlSource,
    services: Mapping[str, ResolvedService],
    shapes: Mapping[str, SchemaShape],
) -> list[Issue]:
    """Every cross-check. `shapes` holds only the services whose migrations were all read:
    a check that needs a missing shape skips, rather than report what a file that did not
    parse would have created."""
    issues: list[Issue] = []
    issues += check_names(source, services)
    issues += check_policy_names(source, services)
    issues += check_tables(source, services, shapes)
    issues += check_reads(source, services, shapes)
    issues += check_cycles(source, services)
    issues += check_foreign_keys(services, shapes)
    issues += check_policies(source, services)
    issues += check_row_filters(source, services)
    issues += check_expressions(source, services, shapes)
    return issues


def check_names(source: YamlSource, services: Mapping[str, ResolvedService]) -> Iterator[Issue]:
    owners: dict[str, str] = {}
    for service in services.values():
        for kind, name in _names(service):
            path = ("services", service.name, kind)
            if not is_identifier(name):
                yield source.issue(
                    path, f"derived name {name!r} is not a valid identifier; set {kind} explicitly"
                )
            reserved = RESERVED_SCHEMAS if kind == "schema" else RESERVED_ROLES
            if name in reserved or name.startswith(RESERVED_PREFIXES):
                yield source.issue(path, f"{name!r} is reserved by PostgreSQL or Supabase")
            namespace = "schema" if kind == "schema" else "role"
            other = owners.setdefault(f"{namespace}:{name}", f"{service.name}.{kind}")
            if other != f"{service.name}.{kind}":
                yield source.issue(path, f"{namespace} {name!r} is also used by services.{other}")


def check_policy_names(
    source: YamlSource, services: Mapping[str, ResolvedService]
) -> Iterator[Issue]:
    """Generated policy names fit PostgreSQL's 63 bytes: a truncated name is never found
    again by its full name, so every run would show the policy as missing and re-create it."""
    for service in services.values():
        if any(spec.row_level_security for spec in service.tables.values()):
            yield from _long_policy_name(source, service, owner_policy_name(service), "owner")
        readers_policy = any(
            read.service in services
            and (spec := services[read.service].tables.get(read.table)) is not None
            and spec.row_level_security
            for read in service.reads
        )
        if readers_policy:
            yield from _long_policy_name(source, service, reader_policy_name(service), "reader")


def _long_policy_name(
    source: YamlSource, service: ResolvedService, name: str, kind: str
) -> Iterator[Issue]:
    size = len(name.encode("utf-8"))
    if size <= MAX_IDENTIFIER_BYTES or not is_identifier(service.group_role):
        return
    spare = MAX_IDENTIFIER_BYTES - (size - len(service.group_role.encode("utf-8")))
    yield source.issue(
        ("services", service.name, "group_role"),
        f"the {kind} policy name {name!r} derived from group_role is {size} bytes; PostgreSQL "
        f"would truncate it to {MAX_IDENTIFIER_BYTES} and never find it again by its name: "
        f"set a group_role of at most {spare} characters",
    )


def _names(service: ResolvedService) -> Iterator[tuple[str, str]]:
    yield "schema", service.schema_name
    yield "group_role", service.group_role
    yield "login_role", service.login_role


def check_tables(
    source: YamlSource,
    services: Mapping[str, ResolvedService],
    shapes: Mapping[str, SchemaShape],
) -> Iterator[Issue]:
    for service in services.values():
        shape = shapes.get(service.name)
        if shape is None:
            continue
        for table_name, spec in service.tables.items():
            path = ("services", service.name, "tables", table_name)
            table = shape.tables.get(table_name)
            if table is None:
                yield source.issue(
                    path,
                    f"no migration of {service.name} creates this table; {_known(shape.tables)}",
                )
                continue
            for index, column in enumerate(spec.secret_columns):
                if column not in table.columns:
                    yield source.issue(
                        (*path, "secret_columns", index), _unknown_column(table, column)
                    )
        for table_name in shape.tables:
            if table_name not in service.tables:
                yield source.issue(
                    ("services", service.name, "tables"),
                    f"table {table_name!r} is created by the migrations but not classified here",
                )


def check_reads(
    source: YamlSource,
    services: Mapping[str, ResolvedService],
    shapes: Mapping[str, SchemaShape],
) -> Iterator[Issue]:
    for consumer in services.values():
        seen: set[tuple[str, str]] = set()
        for index, read in enumerate(consumer.reads):
            path = ("services", consumer.name, "reads", index)
            producer = services.get(read.service)
            if producer is None:
                yield source.issue(
                    (*path, "service"), f"unknown service {read.service!r}; {_known(services)}"
                )
                continue
            if producer.name == consumer.name:
                yield source.issue((*path, "service"), "a service does not declare reads of itself")
                continue
            if (read.service, read.table) in seen:
                yield source.issue(
                    (*path, "table"),
                    f"{read.service}.{read.table} is read twice; merge the entries",
                )
            seen.add((read.service, read.table))
            qualified = f"{producer.schema_name}.{read.table}"
            spec = producer.tables.get(read.table)
            if spec is None:
                yield source.issue(
                    (*path, "table"),
                    f"unknown table {qualified}; {_known(producer.tables)}",
                )
                continue
            # None when the migrations were not all read, or do not create the table (which
            # check_tables reports once): columns cannot be judged then.
            shape = shapes.get(producer.name)
            table = shape.tables.get(read.table) if shape else None
            if read.columns is None and spec.sensitive:
                yield source.issue(
                    path,
                    f"{qualified} is sensitive: list the columns to read",
                )
            for field in ("columns", "references"):
                for position, column in enumerate(getattr(read, field) or ()):
                    where = (*path, field, position)
                    if table is not None and column not in table.columns:
                        yield source.issue(where, _unknown_column(table, column))
                    elif column in spec.secret_columns:
                        yield source.issue(
                            where,
                            f"{qualified}.{column} is secret to {producer.name}",
                        )
            known_references = table is not None and all(
                c in table.columns and c not in spec.secret_columns for c in read.references
            )
            if (
                read.references
                and table is not None
                and known_references
                and not table.is_unique_key(read.references)
            ):
                yield source.issue(
                    (*path, "references"),
                    f"({', '.join(read.references)}) is no primary key or unique constraint of "
                    f"{qualified}: a foreign key cannot point at it",
                )
            if read.columns is not None and not read.columns:
                yield source.issue(
                    (*path, "columns"), "an empty column list grants nothing; drop the read instead"
                )


def check_cycles(source: YamlSource, services: Mapping[str, ResolvedService]) -> Iterator[Issue]:
    """Reads must form a DAG: deploys, migrations and data moves all follow that order."""
    edges = {
        name: sorted({r.service for r in s.reads if r.service in services and r.service != name})
        for name, s in services.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> Iterator[list[str]]:
        state[node] = 1
        stack.append(node)
        for target in edges[node]:
            if state.get(target) == 1:
                yield [*stack[stack.index(target) :], target]
            elif target not in state:
                yield from visit(target)
        stack.pop()
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            for cycle in visit(name):
                yield source.issue(
                    ("services", cycle[0], "reads"), "reads form a cycle: " + " -> ".join(cycle)
                )


def check_foreign_keys(
    services: Mapping[str, ResolvedService], shapes: Mapping[str, SchemaShape]
) -> Iterator[Issue]:
    """Every FK is indexed, points at a table that exists, and crosses schemas only where
    the consumer declared `references` on exactly those columns."""
    by_schema = {s.schema_name: s for s in services.values()}
    for key in _migration_keys(services, shapes):
        yield from _check_foreign_key(key, by_schema, shapes)


@dataclass(frozen=True)
class _MigrationKey:
    """A foreign key as a service's migrations declare it, and how its issues name it."""

    service: ResolvedService
    table: Table
    fk: ForeignKey

    @property
    def target_name(self) -> str:
        return f"{self.fk.ref_schema}.{self.fk.ref_table}"

    def issue(self, problem: str) -> Issue:
        """`foreign key table(columns) <problem>`, at the statement that declares the key."""
        return self.fk.issue(
            f"foreign key {self.table.name}({', '.join(self.fk.columns)}) {problem}"
        )


def _migration_keys(
    services: Mapping[str, ResolvedService], shapes: Mapping[str, SchemaShape]
) -> Iterator[_MigrationKey]:
    """Every foreign key of the services whose migrations were all read."""
    for service in services.values():
        shape = shapes.get(service.name)
        if shape is None:
            continue
        for table in shape.tables.values():
            for fk in table.foreign_keys:
                yield _MigrationKey(service, table, fk)


def _check_foreign_key(
    key: _MigrationKey,
    by_schema: Mapping[str, ResolvedService],
    shapes: Mapping[str, SchemaShape],
) -> Iterator[Issue]:
    """Its index, then its target: the service, the table, the columns, and for another
    service's table the `references` the consumer declared."""
    if not key.table.is_indexed(key.fk.columns):
        yield key.issue("has no index leading with its columns")
    producer = by_schema.get(key.fk.ref_schema)
    if producer is None:
        yield key.issue(f"points outside the service schemas: {key.target_name}")
        return
    target_shape = shapes.get(producer.name)
    if target_shape is None:
        return  # its migrations were not all read: nothing to compare with
    target = target_shape.tables.get(key.fk.ref_table)
    if target is None:
        yield key.issue(f"points at unknown table {key.target_name}")
        return
    referenced = key.fk.ref_columns or target.primary_key
    yield from _check_referenced_columns(key, target, referenced)
    if producer.name != key.service.name:
        yield from _check_declared_references(key, producer, referenced)


def _check_referenced_columns(
    key: _MigrationKey, target: Table, referenced: tuple[str, ...]
) -> Iterator[Issue]:
    """The columns exist and form a primary key or unique constraint of the target."""
    missing = [c for c in referenced if c not in target.columns]
    if missing:
        yield key.issue(f"points at unknown columns {missing} of {key.target_name}")
    elif not target.is_unique_key(referenced):
        yield key.issue(
            f"points at ({', '.join(referenced)}) of {key.target_name}, which is no primary "
            "key or unique constraint"
        )


def _check_declared_references(
    key: _MigrationKey, producer: ResolvedService, referenced: tuple[str, ...]
) -> Iterator[Issue]:
    """A key into another service's table needs the consumer's read of that table to list
    the referenced columns under `references`."""
    declared = {
        column
        for read in key.service.reads
        if read.service == producer.name and read.table == key.fk.ref_table
        for column in read.references
    }
    undeclared = sorted(set(referenced) - declared)
    if undeclared:
        yield key.issue(
            f"references {key.target_name}({', '.join(undeclared)}) but "
            f"services.{key.service.name}.reads declares no such references"
        )


def _known(names: Iterable[str]) -> str:
    listed = sorted(names)
    return "known: " + ", ".join(listed) if listed else "none is declared"


def _unknown_column(table: Table, column: str) -> str:
    return f"unknown column {table.schema}.{table.name}.{column}; known: {', '.join(table.columns)}"


_NO_USING = {"insert"}
_NO_WITH_CHECK = {"select", "delete"}


def check_policies(source: YamlSource, services: Mapping[str, ResolvedService]) -> Iterator[Issue]:
    """Custom policies: meaningful for their command, on tables with RLS, for known
    services, and not clashing with the generated policy names."""
    generated = {owner_policy_name(s) for s in services.values()}
    generated |= {reader_policy_name(s) for s in services.values()}
    for service in services.values():
        for table_name, spec in service.tables.items():
            path = ("services", service.name, "tables", table_name)
            if spec.policies and not spec.row_level_security:
                yield source.issue(
                    (*path, "policies"), "policies need rls: true (or sensitive: true)"
                )
            names: set[str] = set()
            for index, policy in enumerate(spec.policies):
                where = (*path, "policies", index)
                if policy.name in generated or policy.name in names:
                    yield source.issue(
                        (*where, "name"), f"policy name {policy.name!r} is already taken"
                    )
                names.add(policy.name)
                for position, role in enumerate(policy.roles):
                    if role not in services:
                        yield source.issue(
                            (*where, "roles", position),
                            f"unknown service {role!r}; {_known(services)}",
                        )
                if policy.using is None and policy.with_check is None:
                    yield source.issue(where, "a policy needs using, with_check or both")
                if policy.command in _NO_USING and policy.using is not None:
                    yield source.issue((*where, "using"), "an INSERT policy has only with_check")
                if policy.command in _NO_WITH_CHECK and policy.with_check is not None:
                    yield source.issue(
                        (*where, "with_check"), f"a {policy.command.upper()} policy has only using"
                    )


def check_row_filters(
    source: YamlSource, services: Mapping[str, ResolvedService]
) -> Iterator[Issue]:
    """A row filter narrows the reader's policy on the producer's table: it needs RLS there."""
    for service in services.values():
        for index, read in enumerate(service.reads):
            producer = services.get(read.service)
            spec = producer.tables.get(read.table) if producer else None
            if read.row_filter is None or spec is None:
                continue
            where = ("services", service.name, "reads", index, "row_filter")
            if not spec.row_level_security:
                yield source.issue(
                    where,
                    "a row filter needs row-level security on the table; it would filter nothing",
                )


def _by_schema(
    services: Mapping[str, ResolvedService], shapes: Mapping[str, SchemaShape]
) -> dict[str, SchemaShape]:
    return {services[name].schema_name: shape for name, shape in shapes.items()}


def _table(shapes: Mapping[str, SchemaShape], service: str, table: str) -> Table | None:
    shape = shapes.get(service)
    return shape.tables.get(table) if shape else None


def check_expressions(
    source: YamlSource,
    services: Mapping[str, ResolvedService],
    shapes: Mapping[str, SchemaShape],
) -> Iterator[Issue]:
    """Policy expressions and row filters: one expression each, then read against the
    table they judge (when its shape is known), naming the word PostgreSQL would refuse."""
    by_schema = _by_schema(services, shapes)
    for written in written_expressions(services):
        try:
            render_expression(written.text)
        except ExpressionError as error:
            yield source.issue(written.path, f"expression {error}")
            continue
        table = _table(shapes, written.service, written.table)
        if table is None:
            continue
        for problem in examine_expression(written.text, table, by_schema).problems:
            yield source.issue_in_value(
                written.path, problem.offset, f"expression {problem.message}"
            )
