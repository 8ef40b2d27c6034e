"""The dev stack's own database: Supabase's postgres image in a local Docker container."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from edulink_db.environment.model import LocalDatabase


class LocalSupabaseDatabase(pulumi.ComponentResource):
    """A health-checked container; `ready` is what the postgresql provider waits for."""

    def __init__(
        self,
        name: str,
        spec: LocalDatabase,
        admin_password: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("edulink-db:index:LocalSupabaseDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        image = docker.RemoteImage(f"{name}-image", name=spec.image, keep_locally=True, opts=child)
        self.container = docker.Container(
            f"{name}-container",
            name=spec.container_name,
            image=image.image_id,
            envs=[pulumi.Output.concat("POSTGRES_PASSWORD=", admin_password)],
            ports=[docker.ContainerPortArgs(internal=5432, external=spec.port, ip="127.0.0.1")],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "pg_isready", "-U", "postgres", "-h", "localhost"],
                interval="2s",
                timeout="5s",
                retries=60,
                start_period="5s",
            ),
            # Create returns only once the health check passes, so nothing connects early.
            wait=True,
            wait_timeout=180,
            opts=child,
        )
        self.register_outputs({"container": self.container.name})
