"""Read-only Django models of exactly the columns a service may read of other services.

Built from the plan's SELECT grants, the same data the access matrix is built from, so a
change of a read shows up as the same columns in the matrix diff and in the models diff.
A model has a field for each granted column and nothing else: Django selects every field
of a model, so one extra field would make every queryset of it fail with 42501.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass

from edulink_db.django.fields import FieldType, field_type
from edulink_db.django.python_source import INDENT, call, docstring, string
from edulink_db.errors import UserError
from edulink_db.migrations.ddl import SchemaShape, Table
from edulink_db.plan.model import AccessPlan, GrantPlan, PolicyPlan, ServicePlan

# Names a field may not take: Python keywords, `pk`, and what a model instance already is.
_TAKEN_BY_DJANGO = frozenset(
    {
        "pk",
        "objects",
        "save",
        "delete",
        "clean",
        "check",
        "full_clean",
        "clean_fields",
        "validate_unique",
        "validate_constraints",
        "refresh_from_db",
        "serializable_value",
        "from_db",
        "DoesNotExist",
        "MultipleObjectsReturned",
        "Meta",
    }
)


@dataclass(frozen=True)
class ModelField:
    """One granted column. `target` names the model a foreign key points at."""

    name: str
    column: str
    type: FieldType
    primary_key: bool = False
    unique: bool = False
    null: bool = False
    target: str | None = None
    to_field: str | None = None


@dataclass(frozen=True)
class ReadModel:
    class_name: str
    producer: str
    schema: str
    table: str
    fields: tuple[ModelField, ...]
    # Row-level security on the producer's table, and the policies that admit the reader.
    row_security: bool
    policies: tuple[PolicyPlan, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.fields)


@dataclass(frozen=True)
class ReadModels:
    service: str
    group_role: str
    models: tuple[ReadModel, ...]

    def columns(self) -> set[tuple[str, str, str]]:
        """(schema, table, column) of every field: what the matrix's SELECT cells list."""
        return {(m.schema, m.table, c) for m in self.models for c in m.columns}


def compile_read_models(
    plan: AccessPlan, shapes: Mapping[str, SchemaShape], service: str
) -> ReadModels:
    """A model per table the service may SELECT from in another schema, in schema order."""
    consumer = plan.service(service)
    grants = sorted(
        (g for g in consumer.grants if g.table is not None and "SELECT" in g.privileges),
        key=lambda g: (g.schema, g.table or ""),
    )
    names = _class_names(grants)
    shells = [_shell(g, shapes[g.producer].tables[g.table or ""], names) for g in grants]
    by_table = {(s.grant.schema, s.grant.table): s for s in shells}
    return ReadModels(
        service=consumer.name,
        group_role=consumer.group.name,
        models=tuple(_model(plan, consumer, shell, by_table) for shell in shells),
    )


@dataclass(frozen=True)
class _Shell:
    """A table's granted columns and the key that identifies its rows, before foreign keys
    (which need every other table's shell) are resolved."""

    grant: GrantPlan
    table: Table
    class_name: str
    columns: tuple[str, ...]
    key: str
    unique: frozenset[str]


def _shell(grant: GrantPlan, table: Table, names: Mapping[str, str]) -> _Shell:
    granted = set(grant.columns or table.columns)
    columns = tuple(c for c in table.columns if c in granted)
    unique = frozenset(k[0] for k in table.unique_keys if len(k) == 1 and k[0] in granted)
    if len(table.primary_key) == 1 and table.primary_key[0] in granted:
        key = table.primary_key[0]
    elif unique:
        key = sorted(unique, key=columns.index)[0]
    else:
        raise UserError(
            f"{grant.schema}.{grant.table}: a Django model needs a column that identifies a "
            f"row, and the read grants none (primary key: {', '.join(table.primary_key)}); "
            "add the primary key to the read's columns"
        )
    return _Shell(grant, table, names[f"{grant.schema}.{grant.table}"], columns, key, unique)


def _model(
    plan: AccessPlan,
    consumer: ServicePlan,
    shell: _Shell,
    by_table: Mapping[tuple[str, str | None], _Shell],
) -> ReadModel:
    grant, table = shell.grant, shell.table
    targets = _foreign_keys(shell, by_table)
    fields: list[ModelField] = []
    taken: set[str] = set()
    for column in shell.columns:
        where = f"{grant.schema}.{grant.table}.{column}"
        target = targets.get(column)
        name = _field_name(column[:-3] if target and column.endswith("_id") else column, taken)
        taken.add(name)
        fields.append(
            ModelField(
                name=name,
                column=column,
                type=field_type(table.types[column], table.type_modifiers.get(column, ()), where),
                primary_key=column == shell.key,
                unique=column in shell.unique and column != shell.key,
                null=column not in table.not_null,
                target=target[0] if target else None,
                to_field=target[1] if target else None,
            )
        )
    return ReadModel(
        class_name=shell.class_name,
        producer=grant.producer,
        schema=grant.schema,
        table=grant.table or "",
        fields=tuple(fields),
        row_security=_has_row_security(plan, grant),
        policies=_reader_policies(plan, consumer, grant),
    )


def _foreign_keys(
    shell: _Shell, by_table: Mapping[tuple[str, str | None], _Shell]
) -> dict[str, tuple[str, str | None]]:
    """Column -> (target class, to_field or None) for each single-column foreign key whose
    both ends are granted; composite keys and keys to tables not read stay plain columns."""
    found: dict[str, tuple[str, str | None]] = {}
    for fk in shell.table.foreign_keys:
        target = by_table.get((fk.ref_schema, fk.ref_table))
        if len(fk.columns) != 1 or fk.columns[0] not in shell.columns or target is None:
            continue
        referenced = fk.ref_columns[0] if fk.ref_columns else target.table.primary_key[0]
        if referenced == target.key:
            found[fk.columns[0]] = (target.class_name, None)
        elif referenced in target.unique:
            found[fk.columns[0]] = (target.class_name, referenced)
    return found


def _has_row_security(plan: AccessPlan, grant: GrantPlan) -> bool:
    producer = plan.service(grant.producer)
    return any(t.table == grant.table for t in producer.row_security)


def _reader_policies(
    plan: AccessPlan, consumer: ServicePlan, grant: GrantPlan
) -> tuple[PolicyPlan, ...]:
    return tuple(
        p
        for service in plan.services
        for p in service.policies
        if (p.schema, p.table) == (grant.schema, grant.table)
        and consumer.group.name in p.roles
        and p.command in ("select", "all")
    )


def _class_names(grants: list[GrantPlan]) -> dict[str, str]:
    """`auth_schema.users` read from auth -> `AuthUsers`; a clash gets a number."""
    names: dict[str, str] = {}
    for grant in grants:
        base = _camel(grant.producer) + _camel(grant.table or "")
        name, number = base, 2
        while name in names.values():
            name, number = f"{base}{number}", number + 1
        names[f"{grant.schema}.{grant.table}"] = name
    return names


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part) or "X"


def _field_name(column: str, taken: set[str]) -> str:
    """A name Django accepts (no `__`, no trailing `_`, not a keyword or a model attribute)."""
    name = re.sub(r"_{2,}", "_", column).rstrip("_") or "column"
    if keyword.iskeyword(name) or name in _TAKEN_BY_DJANGO:
        name = f"{name}_value"
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}{number}", number + 1
    return candidate


def render_models_module(models: ReadModels) -> str:
    """The module's source, laid out as black and ruff would leave it."""
    lines = docstring(_module_text(models))
    imports = sorted(
        {"from django.db import models"}
        | {i for m in models.models for f in m.fields for i in f.type.imports}
    )
    if models.models:
        lines += ["", *imports]
    for model in models.models:
        lines += ["", "", *_render_model(model, models.service)]
    return "\n".join(lines) + "\n"


def _module_text(models: ReadModels) -> str:
    if not models.models:
        return (
            f"Read-only models of what the {models.service} service may read of other "
            "services: it declares no read, so there are none.\n\n"
            f"Generated by `edulink-db django-models --service {models.service}`."
        )
    return (
        f"Read-only models of what the {models.service} service may read of other "
        "services.\n\n"
        f"Generated by `edulink-db django-models --service {models.service}` from "
        "catalogue.yaml and the migrations: regenerate it, do not edit it (`--check` fails "
        "when it is out of date). Keep it as the models module of an app of its own, listed "
        "in INSTALLED_APPS.\n\n"
        f"Each model has a field for exactly the columns granted to {models.group_role}, so "
        "no queryset can select another column; the database refuses writes (42501). Table "
        "names carry their schema; the service's own tables are found through its role's "
        "search_path."
    )


def _render_model(model: ReadModel, service: str) -> list[str]:
    lines = [f"class {model.class_name}(models.Model):"]
    lines += docstring(_model_text(model, service), INDENT)
    lines.append("")
    for field in model.fields:
        lines += call(f"{field.name} = ", *_field_call(field), indent=INDENT)
    inner = INDENT * 2
    lines += [
        "",
        f"{INDENT}class Meta:",
        f"{inner}managed = False",
        f"{inner}db_table = {string(_quoted(model.schema, model.table))}",
        f'{inner}default_permissions = ("view",)',
    ]
    return lines


def _model_text(model: ReadModel, service: str) -> str:
    text = f"{model.schema}.{model.table} of the {model.producer} service, as {service} reads it."
    if not model.row_security:
        return f"{text}\n\nNo row-level security on the table: every row."
    admitting = [p for p in model.policies if p.permissive]
    narrowing = [p for p in model.policies if not p.permissive and p.using]
    if not admitting:
        rows = "no row: no policy admits this service"
    elif any(p.using in (None, "true") for p in admitting):
        names = ", ".join(p.name for p in admitting)
        rows = f"every row (policy {names})"
    else:
        rows = "the rows where " + " or ".join(f"{p.using} (policy {p.name})" for p in admitting)
    if narrowing:
        rows += ", and only where " + " and ".join(f"{p.using} ({p.name})" for p in narrowing)
    return f"{text}\n\nRow-level security: {rows}."


def _field_call(field: ModelField) -> tuple[str, list[str]]:
    keywords = list(field.type.keywords)
    if field.target is not None:
        # A unique foreign key is a one-to-one relation; Django warns (fields.W342) otherwise.
        function = "models.OneToOneField" if field.unique else "models.ForeignKey"
        positional = [string(field.target), "models.DO_NOTHING"]
        if field.to_field:
            keywords.append(("to_field", string(field.to_field)))
        keywords.append(("related_name", string("+")))
    else:
        function, positional = field.type.function, list(field.type.positional)
    if field.target is not None or field.name != field.column:
        keywords.append(("db_column", string(field.column)))
    if field.primary_key:
        keywords.append(("primary_key", "True"))
    if field.unique and field.target is None:
        keywords.append(("unique", "True"))
    if field.null:
        keywords.append(("null", "True"))
    return function, positional + [f"{k}={v}" for k, v in keywords]


def _quoted(schema: str, table: str) -> str:
    """`"schema"."table"`: Django passes a db_table that starts and ends with a quote as is."""
    return f'"{schema}"."{table}"'
