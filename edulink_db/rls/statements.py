"""SQL of row-level security, built from plan objects with psycopg's sql module."""

from __future__ import annotations

from psycopg import sql

from edulink_db.plan.model import PolicyPlan, TableSecurityPlan


def enable_statements(table: TableSecurityPlan) -> list[sql.Composed]:
    name = sql.Identifier(table.schema, table.table)
    return [
        sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(name),
        sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(name),
    ]


def disable_statements(table: TableSecurityPlan) -> list[sql.Composed]:
    name = sql.Identifier(table.schema, table.table)
    return [
        sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(name),
        sql.SQL("ALTER TABLE {} DISABLE ROW LEVEL SECURITY").format(name),
    ]


def create_policy(policy: PolicyPlan) -> sql.Composed:
    parts = [
        sql.SQL("CREATE POLICY {} ON {}").format(
            sql.Identifier(policy.name), sql.Identifier(policy.schema, policy.table)
        ),
        sql.SQL("AS PERMISSIVE" if policy.permissive else "AS RESTRICTIVE"),
        sql.SQL("FOR {}").format(sql.SQL(policy.command.upper())),
        sql.SQL("TO {}").format(sql.SQL(", ").join(map(sql.Identifier, policy.roles))),
    ]
    # The expressions are pglast's rendering of a parse tree (rowpolicy), not user text.
    if policy.using is not None:
        parts.append(sql.SQL("USING ({})").format(sql.SQL(policy.using)))
    if policy.with_check is not None:
        parts.append(sql.SQL("WITH CHECK ({})").format(sql.SQL(policy.with_check)))
    return sql.SQL(" ").join(parts)


def drop_policy(policy: PolicyPlan) -> sql.Composed:
    return sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(
        sql.Identifier(policy.name), sql.Identifier(policy.schema, policy.table)
    )
