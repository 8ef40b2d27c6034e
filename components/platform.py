"""The whole database of one stack: the provider, every service, and their outputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_postgresql as postgresql

from components.embedded_database import EmbeddedDatabase
from components.generated_password import GeneratedPassword
from components.service_database import build_service_databases
from edulink_db.django.settings import django_database
from edulink_db.endpoints import Endpoint, connection_url, endpoints
from edulink_db.environment.model import StackSettings
from edulink_db.plan.model import AccessPlan, ServicePlan


@dataclass(frozen=True)
class DatabasePlatformArgs:
    plan: AccessPlan
    settings: StackSettings
    # None when the stack starts its own database: the password is then generated.
    admin_password: pulumi.Input[str] | None
    # Where an embedded database keeps its folder (relative folders are under it).
    project_root: Path = Path()


class DatabasePlatform(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: DatabasePlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edulink-db:index:DatabasePlatform", name, None, opts)
        settings, plan = args.settings, args.plan
        password, host, port, sslmode, ready = self._target(name, args)
        self.provider = postgresql.Provider(
            f"{name}-postgresql",
            host=host,
            port=port,
            database=plan.database,
            username=plan.admin_role,
            password=password,
            sslmode=sslmode,
            # Supabase's `postgres` is no superuser: reading pg_shadow would fail (pitfall P1).
            superuser=False,
            connect_timeout=15,
            opts=pulumi.ResourceOptions(parent=self, depends_on=ready),
        )

        def admin_connection(secret: str) -> dict[str, Any]:
            return {
                "host": host,
                "port": port,
                "dbname": plan.database,
                "user": plan.admin_role,
                "password": secret,
                "sslmode": sslmode,
            }

        connection: pulumi.Output[dict[str, Any]] = pulumi.Output.secret(
            pulumi.Output.from_input(password).apply(admin_connection)
        )
        self.services = build_service_databases(
            plan,
            connection,
            pulumi.ResourceOptions(parent=self, providers=[self.provider], depends_on=ready),
        )
        self.outputs = {
            service.name: _outputs(settings, plan, service, self.services[service.name].password)
            for service in plan.services
        }
        self.register_outputs({})

    def _target(
        self, name: str, args: DatabasePlatformArgs
    ) -> tuple[pulumi.Input[str], str, int, str, list[pulumi.Resource]]:
        settings = args.settings
        if settings.target is not None:
            assert args.admin_password is not None
            target = settings.target
            return args.admin_password, target.host, target.port, target.sslmode, []
        if settings.embedded_database is not None:
            spec = settings.embedded_database
            embedded = EmbeddedDatabase(
                f"{name}-embedded-database",
                folder=str((args.project_root / spec.folder).resolve()),
                port=spec.port,
                major=spec.major,
                opts=pulumi.ResourceOptions(parent=self),
            )
            return embedded.password, "127.0.0.1", spec.port, "disable", [embedded]
        assert settings.local_database is not None
        # Imported here: pulumi_docker costs every other stack's program a third of a second.
        from components.local_database import LocalSupabaseDatabase

        generated = GeneratedPassword(
            f"{name}-local-admin-password", length=32, opts=pulumi.ResourceOptions(parent=self)
        )
        local = LocalSupabaseDatabase(
            f"{name}-local",
            settings.local_database,
            generated.result,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return (
            generated.result,
            "localhost",
            settings.local_database.port,
            "disable",
            [local.container],
        )


def _outputs(
    settings: StackSettings, plan: AccessPlan, service: ServicePlan, password: pulumi.Output[str]
) -> dict[str, Any]:
    """Stack outputs of one service; everything that carries the password is a secret."""
    ends = endpoints(settings, service.login.name)

    def secret(render: Callable[[str], Any]) -> pulumi.Output[Any]:
        return pulumi.Output.secret(password.apply(render))

    def url(endpoint: Endpoint) -> pulumi.Output[Any]:
        return secret(lambda pw: connection_url(endpoint, pw, plan.database))

    urls = {f"{kind}_url": url(endpoint) for kind, endpoint in ends.items()}
    django = secret(lambda pw: django_database(ends["transaction"], pw, plan.database))
    return {
        "login_role": service.login.name,
        "schema": service.schema.name,
        "password": password,
        **urls,
        "django_database": django,
    }
