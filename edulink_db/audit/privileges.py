"""Comparing an ACL with what the plan wants: what is missing, what is extra.

The owner's own privileges are never drift (PostgreSQL gives them implicitly), and grants to
PUBLIC or the Data API roles are left to the security lint SL06.

Privileges are compared by the names `aclexplode` gives, whatever the major: PostgreSQL 17
adds MAINTAIN (ACL letter `m`) on tables, views and materialized views. An owner holds it
implicitly there (its default ACL reads `arwdDxtm`), which is skipped with the rest of the
owner's privileges; MAINTAIN held by any other role is extra, since the plan never grants it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass
from typing import Literal

from edulink_db.audit import names
from edulink_db.audit.context import EXPOSED_GRANTEES
from edulink_db.introspect.state import AclEntry

Wanted = Set[tuple[str, str]]  # (grantee, privilege)
Difference = Literal["extra", "grantable", "missing"]


@dataclass(frozen=True)
class AclDiff:
    missing: dict[str, list[str]]  # grantee -> privileges the plan wants and the ACL lacks
    extra: dict[str, list[str]]  # grantee -> privileges the ACL holds and the plan does not
    grantable: dict[str, list[str]]  # grantee -> planned privileges held WITH GRANT OPTION

    def each(self) -> Iterator[tuple[Difference, str, list[str]]]:
        """Every difference as (kind, grantee, privileges): extra, then grant options, then
        missing, so each rule words the three kinds its own way in one loop."""
        kinds: tuple[tuple[Difference, dict[str, list[str]]], ...] = (
            ("extra", self.extra),
            ("grantable", self.grantable),
            ("missing", self.missing),
        )
        for kind, found in kinds:
            for role, privileges in found.items():
                yield kind, role, privileges


def compare_acl(
    acl: Iterable[AclEntry],
    wanted: Wanted,
    owner: str,
    ignore: Set[str] = EXPOSED_GRANTEES,
) -> AclDiff:
    held = {(e.grantee, e.privilege): e.grantable for e in acl if e.grantee != owner}
    missing: dict[str, list[str]] = {}
    extra: dict[str, list[str]] = {}
    grantable: dict[str, list[str]] = {}
    for grantee, privilege in sorted(wanted):
        if grantee == owner:
            continue
        if (grantee, privilege) not in held:
            missing.setdefault(grantee, []).append(privilege)
    for (grantee, privilege), with_grant in sorted(held.items()):
        if grantee in ignore:
            continue
        if (grantee, privilege) not in wanted:
            extra.setdefault(grantee, []).append(privilege)
        elif with_grant:
            grantable.setdefault(grantee, []).append(privilege)
    return AclDiff(missing, extra, grantable)


def exposed(acl: Iterable[AclEntry], owner: str) -> dict[str, list[str]]:
    """Privileges PUBLIC or a Data API role holds: grantee -> privileges."""
    found: dict[str, list[str]] = {}
    for entry in sorted(acl):
        if entry.grantee in EXPOSED_GRANTEES and entry.grantee != owner:
            found.setdefault(entry.grantee, []).append(entry.privilege)
    return found


def privilege_list(privileges: Iterable[str]) -> str:
    return ", ".join(privileges)


def remediation(kind: Difference, privileges: str, on: str, role: str, prefix: str = "") -> str:
    """The statement that makes one ACL difference what the plan wants: REVOKE an extra
    privilege, REVOKE the grant option of a grantable one, GRANT a missing one (or let
    Pulumi restore it). `on` is what follows ON; `prefix` precedes the statement (ALTER
    DEFAULT PRIVILEGES ... ), so every privilege rule words its fixes alike."""
    who = names.grantee(role)
    return {
        "extra": f"{prefix}REVOKE {privileges} ON {on} FROM {who}",
        "grantable": f"{prefix}REVOKE GRANT OPTION FOR {privileges} ON {on} FROM {who}",
        "missing": f"{prefix}GRANT {privileges} ON {on} TO {who}; or run `pulumi up --refresh`",
    }[kind]
