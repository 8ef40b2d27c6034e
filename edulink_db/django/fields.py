"""Which Django field reads a column of a given PostgreSQL type.

Types arrive as the migrations spell them, read by pglast (`pg_catalog.bool`, `uuid`,
`text[]`) with their modifiers (`numeric(4, 2)` -> (4, 2)). A type without a faithful
Django field is refused rather than guessed: a wrong field would convert values wrongly,
not fail.
"""

from __future__ import annotations

from dataclasses import dataclass

from edulink_db.errors import UserError

ARRAY_FIELD_IMPORT = "from django.contrib.postgres.fields import ArrayField"


@dataclass(frozen=True)
class FieldType:
    """`function(*positional, **keywords)`; values are Python source."""

    function: str
    positional: tuple[str, ...] = ()
    keywords: tuple[tuple[str, str], ...] = ()
    imports: tuple[str, ...] = ()


_PLAIN: dict[str, str] = {
    "uuid": "models.UUIDField",
    "text": "models.TextField",
    "bool": "models.BooleanField",
    "int2": "models.SmallIntegerField",
    "int4": "models.IntegerField",
    "int8": "models.BigIntegerField",
    "float4": "models.FloatField",
    "float8": "models.FloatField",
    "date": "models.DateField",
    "time": "models.TimeField",
    "timestamp": "models.DateTimeField",
    "timestamptz": "models.DateTimeField",
    "interval": "models.DurationField",
    "inet": "models.GenericIPAddressField",
    "json": "models.JSONField",
    "jsonb": "models.JSONField",
    "bytea": "models.BinaryField",
}
_CHARACTER = {"varchar", "bpchar"}


def field_type(sql_type: str, modifiers: tuple[int, ...], where: str) -> FieldType:
    """The field for a column of `sql_type`; `where` names the column in the error."""
    if sql_type.endswith("[]"):
        base = field_type(sql_type[:-2], modifiers, where)
        if base.function == "ArrayField":
            raise UserError(f"{where}: {sql_type} has no Django field (nested array)")
        inner = f"{base.function}({_arguments(base)})"
        return FieldType("ArrayField", (inner,), (), (*base.imports, ARRAY_FIELD_IMPORT))
    name = sql_type.removeprefix("pg_catalog.")
    if name in _PLAIN:
        return FieldType(_PLAIN[name])
    if name in _CHARACTER:
        length = (("max_length", str(modifiers[0])),) if modifiers else ()
        return FieldType("models.CharField", (), length)
    if name == "numeric" and len(modifiers) in (1, 2):
        scale = modifiers[1] if len(modifiers) == 2 else 0
        digits = (("max_digits", str(modifiers[0])), ("decimal_places", str(scale)))
        return FieldType("models.DecimalField", (), digits)
    known = ", ".join(sorted({*_PLAIN, *_CHARACTER, "numeric(p, s)"}))
    raise UserError(
        f"{where}: type {sql_type} has no Django field here (known: {known}); "
        "leave the column out of the read, or give it one of these types"
    )


def _arguments(field: FieldType) -> str:
    return ", ".join([*field.positional, *(f"{k}={v}" for k, v in field.keywords)])
