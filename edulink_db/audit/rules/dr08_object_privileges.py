"""DR08: privileges on a service's tables, columns, sequences, functions or types differ
from the plan."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from edulink_db.audit.context import AuditContext
from edulink_db.audit.names import (
    Grantable,
    column_grantable,
    function_grantable,
    relation_grantable,
    type_grantable,
)
from edulink_db.audit.privileges import AclDiff, compare_acl, privilege_list, remediation
from edulink_db.audit.rule import Outcome, Rule
from edulink_db.finding import Level


class ObjectPrivileges(Rule):
    """Privileges on a service's tables, columns, sequences, functions or types differ from
    the plan.

    Why: these grants are the isolation between services. The plan grants another service
    exactly the columns it declared it reads (and REFERENCES where its foreign keys point),
    so a table holding a secret (`auth_schema.users.password_hash`) is never readable as a
    whole. One manual `GRANT SELECT ON auth_schema.users TO ...` undoes that; a missing
    grant breaks the reading service. On PostgreSQL 17 a `GRANT MAINTAIN` is reported too:
    it lets another service VACUUM, CLUSTER, REINDEX and LOCK the table, in any mode, which
    blocks its owner. The owner's own privileges are not drift; grants to
    PUBLIC and the Data API roles are reported by SL06.

    **Anti-pattern**: `GRANT SELECT (password_hash) ON auth_schema.users TO
    user_service_role`, or a table-wide `GRANT SELECT` where the catalogue declares columns.

    **Best practice**: declare the read in catalogue.yaml (`reads:` with `columns:`), review
    the access-matrix diff, and apply it.

    **Remediation**: `REVOKE` the extra privilege as the finding says (a table-level REVOKE
    also revokes that privilege on every column: revoke columns with a column list);
    `pulumi up --refresh` restores a missing one.
    """

    code = "DR08"
    name = "drift.object_privileges"
    level = Level.error

    def check(self, ctx: AuditContext) -> Iterator[Outcome]:
        tables: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        columns: dict[tuple[str, str, str], set[tuple[str, str]]] = defaultdict(set)
        planned_columns: dict[tuple[str, str], set[str]] = defaultdict(set)
        for wanted in ctx.plan.wanted_acl():
            if wanted.table is None:
                continue
            held = (wanted.grantee, wanted.privilege)
            if not wanted.columns:
                tables[(wanted.schema, wanted.table)].add(held)
            for column in wanted.columns:
                columns[(wanted.schema, wanted.table, column)].add(held)
                planned_columns[(wanted.schema, wanted.table)].add(column)
        for key, relation in sorted(ctx.relations.items()):
            diff = compare_acl(relation.acl, tables.get(key, set()), relation.owner)
            yield from self._report(relation_grantable(relation), diff)
            for column in sorted(relation.column_acl.keys() | planned_columns.get(key, set())):
                diff = compare_acl(
                    relation.column_acl.get(column, ()),
                    columns.get((*key, column), set()),
                    relation.owner,
                )
                yield from self._report(column_grantable(relation, column), diff)
        # Planned table grants on tables that do not exist are DR15's; nothing to add here.
        for function in ctx.functions:
            diff = compare_acl(function.acl, set(), function.owner)
            yield from self._report(function_grantable(function), diff)
        for type_ in ctx.types:
            diff = compare_acl(type_.acl, set(), type_.owner)
            yield from self._report(type_grantable(type_), diff)

    def _report(self, object_: Grantable, diff: AclDiff) -> Iterator[Outcome]:
        for kind, role, privileges in diff.each():
            listed = privilege_list(privileges)
            message = {
                "extra": f"{role} holds {listed}, which the plan does not grant",
                "grantable": f"{role} holds {listed} WITH GRANT OPTION; the plan grants no option",
                "missing": f"{role} lacks {listed}, which the plan grants",
            }[kind]
            fix = remediation(kind, object_.privileges(privileges), object_.on, role)
            yield self.finding(object_.target, message, fix)
