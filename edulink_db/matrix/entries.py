"""The access matrix as a reviewer reads it: one entry per (service, object, privilege).

Built from the plan, so `--against` can diff two revisions without a database.
"""

from __future__ import annotations

from dataclasses import dataclass

from edulink_db.plan.model import AccessPlan


@dataclass(frozen=True)
class Entry:
    service: str
    schema: str
    table: str | None  # None: the schema itself
    privilege: str  # OWNER, USAGE, SELECT, REFERENCES, or POLICY <command>
    columns: tuple[str, ...] = ()  # () means every column
    detail: str = ""  # for policies: name, mode and expression

    @property
    def object(self) -> str:
        return self.schema if self.table is None else f"{self.schema}.{self.table}"

    def sort_key(self) -> tuple[str, str, str, str, tuple[str, ...], str]:
        return (
            self.service,
            self.schema,
            self.table or "",
            self.privilege,
            self.columns,
            self.detail,
        )


def build_entries(plan: AccessPlan) -> list[Entry]:
    entries: list[Entry] = []
    group_of = {s.group.name: s.name for s in plan.services}
    for w in plan.wanted_acl():
        entries.append(Entry(group_of[w.grantee], w.schema, w.table, w.privilege, w.columns))
    for service in plan.services:
        entries.append(Entry(service.name, service.schema.name, None, "OWNER"))
        for policy in service.policies:
            mode = "permissive" if policy.permissive else "restrictive"
            clauses = [f"using {policy.using}"] if policy.using else []
            clauses += [f"with check {policy.with_check}"] if policy.with_check else []
            for role in policy.roles:
                entries.append(
                    Entry(
                        group_of.get(role, role),
                        policy.schema,
                        policy.table,
                        f"POLICY {policy.command.upper()}",
                        (),
                        f"{policy.name} ({mode}) {'; '.join(clauses)}".strip(),
                    )
                )
    return sorted(set(entries), key=Entry.sort_key)


@dataclass(frozen=True)
class EntryDiff:
    added: list[Entry]
    removed: list[Entry]

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed


def diff_entries(before: list[Entry], after: list[Entry]) -> EntryDiff:
    old, new = set(before), set(after)
    return EntryDiff(
        added=sorted(new - old, key=Entry.sort_key),
        removed=sorted(old - new, key=Entry.sort_key),
    )
