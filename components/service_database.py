"""One service's slice of the database: roles, schema, grants, default privileges, DDL.

Services depend on each other, so `build_service_databases` registers them in two passes,
producers first: each service's roles, schema, grants and migrations (a grant waits for the
producer's migrations, a migration for the grants its foreign keys need), then, once every
service exists, each service's row-level security (a producer's reader policy names the
roles of services declared after it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_postgresql as postgresql

from components.generated_password import GeneratedPassword
from components.migrations import ServiceMigrations
from components.row_level_security import RowLevelSecurity
from edulink_db.plan.model import (
    AccessPlan,
    DefaultPrivilegePlan,
    GrantPlan,
    RolePlan,
    ServicePlan,
)


def build_service_databases(
    plan: AccessPlan, connection: pulumi.Output[dict[str, Any]], opts: pulumi.ResourceOptions
) -> dict[str, ServiceDatabase]:
    """Every service of `plan`, by name, complete: the two passes of the module's doc."""
    services: dict[str, ServiceDatabase] = {}
    for service in plan.services:  # producers first: grants and migrations wait for theirs
        args = ServiceDatabaseArgs(
            plan=service,
            database=plan.database,
            admin_role=plan.admin_role,
            protect=plan.protected,
            disposable=plan.disposable,
            connection=connection,
            earlier=dict(services),
        )
        services[service.name] = ServiceDatabase(service.name, args, opts)
    for service in plan.services:  # producers first: readers' policies wait for theirs
        services[service.name]._secure_rows(services)
    return services


@dataclass(frozen=True)
class ServiceDatabaseArgs:
    plan: ServicePlan
    database: str
    admin_role: str
    protect: bool
    disposable: bool
    connection: pulumi.Output[dict[str, Any]]
    # The services registered before this one, its producers among them.
    earlier: Mapping[str, ServiceDatabase]


class ServiceDatabase(pulumi.ComponentResource):
    """Registered by `build_service_databases` only: the constructor is its first pass,
    `_secure_rows` its second."""

    login_role: pulumi.Output[str]
    password: pulumi.Output[str]
    # What later services wait for.
    plan: ServicePlan
    group: postgresql.Role
    admin_membership: postgresql.GrantRole
    schema: postgresql.Schema
    grants_by_key: dict[str, postgresql.Grant]
    migrations: ServiceMigrations
    row_security: RowLevelSecurity | None

    def __init__(
        self, name: str, args: ServiceDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edulink-db:index:ServiceDatabase", name, None, opts)
        self._args = args
        self.plan = plan = args.plan
        keep = self._stateful()
        child = pulumi.ResourceOptions(parent=self)

        self.group = self._role(plan.group, f"{plan.name}-group-role", None, keep)
        self.password_resource = GeneratedPassword(
            f"{plan.name}-login-password", length=40, opts=child
        )
        # The login role joins its group through its own `roles`: the provider's read reports
        # a role's memberships there, so a GrantRole for it would make every refresh show the
        # login roles as drifted, and the next update of a role revokes what `roles` omits.
        [admin] = [m for m in plan.memberships if m.member == args.admin_role]
        groups = [m.group for m in plan.memberships if m.member == plan.login.name]
        self.login = self._role(
            plan.login,
            f"{plan.name}-login-role",
            self.password_resource.result,
            pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[self.group])),
            groups,
        )
        self.admin_membership = postgresql.GrantRole(
            f"{plan.name}-admin-membership",
            role=admin.member,
            grant_role=self.group.name,
            # Replacing create-before-delete would revoke the membership just granted
            # (provider pitfall P8). On PostgreSQL 16+ the admin already holds its groups WITH
            # ADMIN OPTION (granted to a CREATEROLE creator by the bootstrap superuser, a row
            # this REVOKE/GRANT never touches, and one it may not grant back: 0LP01); the
            # provider reads the first row, so the option is ignored or every `up` replaced
            # this resource (found by the real-engine tier on 17).
            opts=pulumi.ResourceOptions(
                parent=self, delete_before_replace=True, ignore_changes=["withAdminOption"]
            ),
        )

        self.schema = postgresql.Schema(
            f"{plan.name}-schema",
            name=plan.schema.name,
            database=args.database,
            owner=self.group.name,
            drop_cascade=False,
            opts=pulumi.ResourceOptions.merge(
                keep, pulumi.ResourceOptions(depends_on=[self.admin_membership])
            ),
        )
        self.default_privileges = [self._default_privilege(d) for d in plan.default_privileges]
        # By key: grants on one ACL row wait for each other, this service's or a later one's.
        self.grants_by_key = {}
        for grant in plan.grants:
            self.grants_by_key[grant.key] = self._grant(grant)
        self.grants = list(self.grants_by_key.values())
        self.migrations = ServiceMigrations(
            f"{plan.name}-migrations",
            service=plan.name,
            schema=self.schema.name,
            role=self.group.name,
            steps=list(plan.migrations.steps),
            disposable=args.disposable,
            connection=args.connection,
            opts=pulumi.ResourceOptions.merge(
                keep,
                pulumi.ResourceOptions(
                    depends_on=[
                        self.admin_membership,
                        *(args.earlier[s].migrations for s in plan.migrations.after_services),
                        *(self._granted(k) for k in plan.migrations.after_grants),
                    ]
                ),
            ),
        )
        self.login_role = self.login.name
        self.password = pulumi.Output.secret(self.password_resource.result)
        self.row_security = None

    def _secure_rows(self, services: Mapping[str, ServiceDatabase]) -> None:
        """The second pass: register the service's RLS resource, once every service exists,
        because its policies may name roles and tables of services declared after it; then
        the component is complete."""
        plan = self.plan
        group_roles = {s.plan.group.name: s.group for s in services.values()}
        producers = sorted({p.service for p in plan.policies} - {plan.name})
        needs: list[pulumi.Resource] = [self.migrations]
        needs += [group_roles[role] for p in plan.policies for role in p.roles]
        for producer in producers:
            producer_rows = services[producer].row_security
            assert producer_rows is not None, f"{producer} is secured before {plan.name}"
            needs += [services[producer].migrations, producer_rows]
        keep = self._stateful()
        self.row_security = RowLevelSecurity(
            f"{plan.name}-row-level-security",
            service=plan.name,
            tables=plan.row_security,
            policies=plan.policies,
            connection=self._args.connection,
            opts=pulumi.ResourceOptions.merge(
                keep, pulumi.ResourceOptions(depends_on=list(dict.fromkeys(needs)))
            ),
        )
        self.register_outputs({"login_role": self.login_role, "schema": self.schema.name})

    def _stateful(self) -> pulumi.ResourceOptions:
        """Options for what holds data or access: kept (protected, retained) in protected stacks."""
        protect = self._args.protect
        return pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect)

    def _role(
        self,
        role: RolePlan,
        resource_name: str,
        password: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions,
        groups: list[str] | None = None,
    ) -> postgresql.Role:
        # Every flag is passed explicitly and never changes after create: a non-superuser
        # admin cannot ALTER ROLE ... NOSUPERUSER/NOBYPASSRLS/NOREPLICATION (pitfall P2).
        return postgresql.Role(
            resource_name,
            name=role.name,
            login=role.login,
            password=password,
            connection_limit=role.connection_limit,
            statement_timeout=role.statement_timeout_ms,
            idle_in_transaction_session_timeout=role.idle_in_transaction_session_timeout_ms,
            search_paths=list(role.search_path) or None,
            assume_role=role.assume_role,
            inherit=role.inherit,
            superuser=role.superuser,
            create_database=role.create_database,
            create_role=role.create_role,
            replication=role.replication,
            bypass_row_level_security=role.bypass_row_level_security,
            # The admin's memberships are GrantRole resources (the admin is no Role of ours);
            # a role's own memberships are its `roles`, what the provider reads back.
            roles=groups or [],
            skip_reassign_owned=False,
            opts=opts,
        )

    def _default_privilege(self, plan: DefaultPrivilegePlan) -> postgresql.DefaultPrivileges:
        return postgresql.DefaultPrivileges(
            plan.key,
            database=self._args.database,
            owner=self.group.name,
            role=plan.grantee,
            object_type=plan.object_type,
            schema=plan.schema,
            privileges=list(plan.privileges),
            opts=pulumi.ResourceOptions(
                parent=self, delete_before_replace=True, depends_on=[self.admin_membership]
            ),
        )

    def _grant(self, plan: GrantPlan) -> postgresql.Grant:
        producer = self._args.earlier[plan.producer]
        needs: list[pulumi.Resource] = [
            self.group,
            producer.admin_membership,
            # the schema, or for a table grant the migrations that create the table
            producer.migrations if plan.table else producer.schema,
        ]
        if plan.after is not None:
            needs.append(self._granted(plan.after))
        wanted = plan.wanted  # one grantee, one object: the privileges this resource holds
        target = wanted[0]
        grant = postgresql.Grant(
            plan.key,
            database=self._args.database,
            role=target.grantee,
            schema=target.schema,
            object_type=target.object_type,
            objects=[target.table] if target.table else [],
            columns=list(target.columns) or None,
            privileges=[w.privilege for w in wanted],
            opts=pulumi.ResourceOptions(parent=self, depends_on=needs),
        )
        return grant

    def _granted(self, key: str) -> postgresql.Grant:
        """The grant registered under `key`: this service's, or an earlier service's (grants
        on one ACL row wait for each other, whoever the grantee)."""
        for service in (self, *self._args.earlier.values()):
            if key in service.grants_by_key:
                return service.grants_by_key[key]
        raise KeyError(f"{self.plan.name} waits for grant {key}, which is not registered yet")
