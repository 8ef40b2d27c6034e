"""Catalogue + stack settings -> AccessPlan. Pure: the same inputs give the same plan."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import replace

from edulink_db.catalogue.load import LoadedCatalogue
from edulink_db.catalogue.model import Read, ResolvedService
from edulink_db.environment.model import StackSettings
from edulink_db.plan.model import (
    AccessPlan,
    DefaultPrivilegePlan,
    GrantObject,
    GrantPlan,
    Membership,
    MigrationPlan,
    PolicyPlan,
    RolePlan,
    SchemaPlan,
    ServicePlan,
    TableSecurityPlan,
)
from edulink_db.rowpolicy import owner_policy_name, reader_policy_name, render_expression


def compile_plan(loaded: LoadedCatalogue, settings: StackSettings) -> AccessPlan:
    order = dependency_order(loaded.services)
    chains: dict[tuple[str, str | None], str] = {}
    services = tuple(
        _compile_service(loaded, loaded.services[name], settings, chains) for name in order
    )
    return AccessPlan(
        database=settings.database,
        admin_role=settings.admin_user,
        protected=settings.protected,
        disposable=settings.disposable,
        services=services,
    )


def dependency_order(services: Mapping[str, ResolvedService]) -> list[str]:
    """Producers before consumers; ties broken by name so the order is stable (Kahn's
    algorithm with a heap: linear in services and reads, which matters at a thousand)."""
    waiting = {name: {r.service for r in s.reads} & services.keys() for name, s in services.items()}
    consumers: dict[str, list[str]] = {name: [] for name in services}
    for name, needs in waiting.items():
        for producer in needs:
            consumers[producer].append(name)
    ready = [name for name, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for consumer in consumers[name]:
            waiting[consumer].discard(name)
            if not waiting[consumer]:
                heapq.heappush(ready, consumer)
    if len(order) < len(services):
        raise ValueError(f"reads form a cycle among {sorted(set(services) - set(order))}")
    return order


def _compile_service(
    loaded: LoadedCatalogue,
    service: ResolvedService,
    settings: StackSettings,
    chains: dict[tuple[str, str | None], str],
) -> ServicePlan:
    limits = settings.limits_for(service.name)
    group = RolePlan(name=service.group_role, login=False)
    login = RolePlan(
        name=service.login_role,
        login=True,
        connection_limit=limits.connection_limit,
        statement_timeout_ms=limits.statement_timeout_ms,
        idle_in_transaction_session_timeout_ms=limits.idle_in_transaction_session_timeout_ms,
        search_path=(service.schema_name,),
        assume_role=service.group_role,
    )
    memberships = (
        Membership(login.name, group.name, "the service acts as its group, which owns its objects"),
        Membership(
            settings.admin_user,
            group.name,
            "PostgreSQL 15 needs membership for ALTER DEFAULT PRIVILEGES FOR ROLE and owner DDL; "
            "16+ gives a creator no SET option",
        ),
    )
    grants = tuple(_chain(_grants(loaded.services, service), chains))
    references = tuple(
        g.key for g in grants if "REFERENCES" in g.privileges or g.object_type == "schema"
    )
    steps = tuple(m.step() for m in loaded.migrations[service.name])
    return ServicePlan(
        name=service.name,
        schema=SchemaPlan(service.schema_name, owner=group.name),
        group=group,
        login=login,
        memberships=memberships,
        grants=grants,
        default_privileges=_default_privileges(service),
        row_security=tuple(
            TableSecurityPlan(service.schema_name, name, service.group_role)
            for name, spec in service.tables.items()
            if spec.row_level_security
        ),
        policies=(
            *_own_policies(loaded.services, service),
            *_reader_policies(loaded.services, service),
        ),
        migrations=MigrationPlan(
            service=service.name,
            schema=service.schema_name,
            role=group.name,
            steps=steps,
            after_services=tuple(sorted({r.service for r in service.reads})),
            after_grants=references,
        ),
    )


def _grants(
    services: Mapping[str, ResolvedService], consumer: ResolvedService
) -> Iterator[GrantPlan]:
    producers = sorted({r.service for r in consumer.reads})
    for name in producers:
        producer = services[name]
        yield GrantPlan(
            key=f"{consumer.name}-usage-{producer.schema_name}",
            consumer=consumer.name,
            producer=producer.name,
            grantee=consumer.group_role,
            object_type="schema",
            schema=producer.schema_name,
            table=None,
            columns=(),
            privileges=("USAGE",),
        )
        for read in sorted((r for r in consumer.reads if r.service == name), key=lambda r: r.table):
            yield from _table_grants(consumer, producer, read)


def _table_grants(
    consumer: ResolvedService, producer: ResolvedService, read: Read
) -> Iterator[GrantPlan]:
    def grant(privilege: str, object_type: GrantObject, columns: tuple[str, ...]) -> GrantPlan:
        return GrantPlan(
            key=f"{consumer.name}-{privilege.lower()}-{producer.schema_name}-{read.table}",
            consumer=consumer.name,
            producer=producer.name,
            grantee=consumer.group_role,
            object_type=object_type,
            schema=producer.schema_name,
            table=read.table,
            columns=columns,
            privileges=(privilege,),
        )

    if read.columns is None:
        yield grant("SELECT", "table", ())
    else:
        yield grant("SELECT", "column", read.columns)
    if read.references:
        yield grant("REFERENCES", "column", read.references)


def _chain(
    grants: Iterator[GrantPlan], chains: dict[tuple[str, str | None], str]
) -> Iterator[GrantPlan]:
    """Link each grant to the previous one on the same ACL row (see GrantPlan.after)."""
    for grant in grants:
        previous = chains.get(grant.acl_object)
        chains[grant.acl_object] = grant.key
        yield grant if previous is None else replace(grant, after=previous)


def _default_privileges(service: ResolvedService) -> tuple[DefaultPrivilegePlan, ...]:
    """PostgreSQL gives PUBLIC EXECUTE on new functions and USAGE on new types; take both
    away for everything the group creates. Nothing is granted to other services: a default
    SELECT would expose every column of every future table and defeat column-scoped reads."""
    return tuple(
        DefaultPrivilegePlan(
            key=f"{service.name}-revoke-public-{kind}s",
            owner=service.group_role,
            grantee="public",
            object_type=kind,
            privileges=(),
        )
        for kind in ("function", "type")
    )


def _expression(text: str | None) -> str | None:
    return None if text is None else render_expression(text)


def _own_policies(
    services: Mapping[str, ResolvedService], service: ResolvedService
) -> Iterator[PolicyPlan]:
    """Per table with RLS: the owner's policy, which admits every row of its own table (the
    seed's policy had no USING, i.e. NULL, and locked the owner out: defect 1), then the
    catalogue's custom policies."""
    for name, spec in service.tables.items():
        if not spec.row_level_security:
            continue
        yield PolicyPlan(
            service=service.name,
            schema=service.schema_name,
            table=name,
            owner=service.group_role,
            name=owner_policy_name(service),
            command="all",
            permissive=True,
            roles=(service.group_role,),
            using="true",
            with_check="true",
        )
        for custom in spec.policies:
            yield PolicyPlan(
                service=service.name,
                schema=service.schema_name,
                table=name,
                owner=service.group_role,
                name=custom.name,
                command=custom.command,
                permissive=not custom.restrictive,
                roles=tuple(services[role].group_role for role in custom.roles),
                using=_expression(custom.using),
                with_check=_expression(custom.with_check),
            )


def _reader_policies(
    services: Mapping[str, ResolvedService], consumer: ResolvedService
) -> Iterator[PolicyPlan]:
    """A SELECT policy per declared read of a table with RLS; without it the column grant
    would show the reader no row at all."""
    for read in sorted(consumer.reads, key=lambda r: (r.service, r.table)):
        producer = services[read.service]
        if not producer.tables[read.table].row_level_security:
            continue
        yield PolicyPlan(
            service=producer.name,
            schema=producer.schema_name,
            table=read.table,
            owner=producer.group_role,
            name=reader_policy_name(consumer),
            command="select",
            permissive=True,
            roles=(consumer.group_role,),
            using=_expression(read.row_filter) or "true",
            with_check=None,
        )
