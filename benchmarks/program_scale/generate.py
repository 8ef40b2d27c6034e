"""Generate a synthetic edulink-db project of N services: catalogue.yaml, migrations, a stack file.

Shape of every service `svcNNNN` (schema `svcNNNN_schema`):

* 10 tables `t00`..`t09`. `t00`..`t04` are sensitive (RLS enabled and forced, owner policy),
  `t05`..`t09` are not. `t00` and `t01` have a secret column `secret_hash`.
* 2 cross reads, declared on the consumer, each with a foreign key and its index: service k
  reads `svc(k-1).t00 (id, name, is_active)` and `svc(k-2).t01 (id, name, is_active)`, both
  `references: [id]`. The reads form a DAG (a chain), as the catalogue requires, so svc0000
  has no read and svc0001 one: 2N - 3 reads in all. Both read tables have RLS, so every read
  also yields a reader policy.
* `extra_reads` adds reads `(consumer, producer)` of the producer's `t05` (no RLS), to measure
  the cost of one more read.

The stack file mirrors Pulumi.prod.yaml (an existing target, protected, pooler, limits), so
the program takes the same code paths as for prod.

Used by benchmarks/program_scale/run.py and benchmarks/deploy_cost/run.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "edulink-db"
STACK = "bench"
TABLES = 10
SENSITIVE_TABLES = 5
READ_COLUMNS = ["id", "name", "is_active"]
HUBS = 5
TOPOLOGIES = ("chain", "hub")


def service_name(index: int) -> str:
    return f"svc{index:04d}"


def schema_name(index: int) -> str:
    return f"{service_name(index)}_schema"


def _reads(
    index: int, extra_reads: list[tuple[int, int]], topology: str = "chain"
) -> list[tuple[int, str]]:
    """(producer index, table) pairs read by service `index`."""
    reads: list[tuple[int, str]] = []
    if topology == "hub":
        if index >= HUBS:
            reads += [(index % HUBS, "t00"), ((index + 1) % HUBS, "t01")]
    else:
        if index >= 1:
            reads.append((index - 1, "t00"))
        if index >= 2:
            reads.append((index - 2, "t01"))
    reads += [(producer, "t05") for consumer, producer in extra_reads if consumer == index]
    return reads


def _table_sql(index: int, table: int, fks: list[tuple[str, int, str]]) -> str:
    schema = schema_name(index)
    name = f"t{table:02d}"
    columns = [
        "    id uuid not null default gen_random_uuid()",
        "    owner_id uuid not null",
        "    name text not null",
        "    is_active boolean not null default true",
    ]
    if table < 2:
        columns.append("    secret_hash text")
    columns += [f"    {column} uuid not null" for column, _, _ in fks]
    columns.append("    created_at timestamptz not null default now()")
    constraints = [f"    constraint {name}_pkey primary key (id)"]
    constraints += [
        f"    constraint {name}_{column}_fkey foreign key ({column})\n"
        f"        references {schema_name(producer)}.{ref_table} (id) on delete restrict"
        for column, producer, ref_table in fks
    ]
    body = ",\n".join(columns + constraints)
    indexes = [f"create index {name}_owner_id_idx on {schema}.{name} (owner_id);"]
    indexes += [
        f"create index {name}_{column}_idx on {schema}.{name} ({column});" for column, _, _ in fks
    ]
    return f"create table {schema}.{name} (\n{body}\n);\n" + "\n".join(indexes) + "\n"


def _migration(index: int, reads: list[tuple[int, str]]) -> str:
    # Foreign keys of the reads live in tables t02, t03, ... (one per read, wrapping to t02..t09).
    fks: dict[int, list[tuple[str, int, str]]] = {}
    for position, (producer, table) in enumerate(reads):
        holder = 2 + position % (TABLES - 2)
        fks.setdefault(holder, []).append(
            (f"ref_{service_name(producer)}_{table}", producer, table)
        )
    header = f"-- {service_name(index)}: generated baseline ({TABLES} tables, {len(reads)} reads)\n"
    return header + "\n".join(_table_sql(index, t, fks.get(t, [])) for t in range(TABLES))


def _service(index: int, reads: list[tuple[int, str]]) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for table in range(TABLES):
        spec: dict[str, Any] = {"sensitive": table < SENSITIVE_TABLES}
        if table < 2:
            spec["secret_columns"] = ["secret_hash"]
        tables[f"t{table:02d}"] = spec
    return {
        "description": f"generated service {index}",
        "tables": tables,
        "reads": [
            {
                "service": service_name(producer),
                "table": table,
                "columns": READ_COLUMNS,
                "references": ["id"],
            }
            for producer, table in reads
        ],
    }


def stack_settings() -> dict[str, Any]:
    return {
        f"{NAMESPACE}:target": {
            "host": "db.bench.supabase.co",
            "port": 5432,
            "database": "postgres",
            "adminUser": "postgres",
            "sslmode": "require",
        },
        f"{NAMESPACE}:pooler": {
            "host": "aws-0-eu-central-1.pooler.supabase.com",
            "tenant": "bench",
            "sessionPort": 5432,
            "transactionPort": 6543,
        },
        f"{NAMESPACE}:disposable": False,
        f"{NAMESPACE}:protected": True,
        f"{NAMESPACE}:limits": {
            "connectionLimit": 6,
            "statementTimeoutMs": 20000,
            "idleInTransactionSessionTimeoutMs": 30000,
        },
    }


def write_project(
    folder: Path,
    services: int,
    extra_reads: list[tuple[int, int]] | None = None,
    topology: str = "chain",
) -> Path:
    """Write the project into `folder` (created) and return it; __main__.py is the real one."""
    extra = extra_reads or []
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "__main__.py", folder / "__main__.py")
    catalogue: dict[str, Any] = {"version": 1, "services": {}}
    for index in range(services):
        reads = _reads(index, extra, topology)
        catalogue["services"][service_name(index)] = _service(index, reads)
        migrations = folder / "migrations" / service_name(index)
        migrations.mkdir(parents=True, exist_ok=True)
        (migrations / "0001_baseline.sql").write_text(_migration(index, reads))
    (folder / "catalogue.yaml").write_text(yaml.safe_dump(catalogue, sort_keys=False))
    (folder / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": stack_settings()}))
    return folder


def read_count(
    services: int, extra_reads: list[tuple[int, int]] | None = None, topology: str = "chain"
) -> int:
    return sum(len(_reads(i, extra_reads or [], topology)) for i in range(services))
