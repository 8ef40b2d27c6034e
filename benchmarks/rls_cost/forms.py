"""Companion of run.py: what each form of the restrictive policy costs one indexed lookup,
server-side (planning + execution), against RLS off, the owner policy alone and a
restrictive `USING (true)`.

Run:  cd /work/main && .venv/bin/python benchmarks/rls_cost/forms.py [--rows N] [--rounds N]

Same setup as run.py (prod replayed onto a PostgreSQL 15 cluster started here, rows loaded
into user_schema.preferences), queried as the user service's login acting for one profile.
Writes forms.json beside this file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

import run as rls_cost  # noqa: E402
from psycopg import sql  # noqa: E402

from tests.support.cluster import start_cluster  # noqa: E402
from tests.support.deploy import Deployment, deploy  # noqa: E402
from tests.support.program import recorded  # noqa: E402

SETTING = "current_setting('edulink.acting_profile_id', true)"
FORMS = {
    "restrictive true": "true",
    "generated": f"profile_id = coalesce((select nullif({SETTING}, '')::uuid), profile_id)",
    "no sub-select": f"profile_id = coalesce(nullif({SETTING}, '')::uuid, profile_id)",
    "previous": rls_cost.PREVIOUS,
}
MODES = ("off", "owner policy only", *FORMS)


def set_form(deployment: Deployment, mode: str) -> None:
    table, policy = rls_cost.TABLE, sql.Identifier(rls_cost.POLICY)
    rls_cost.set_rls(deployment, mode != "off")
    with deployment.superuser() as su:
        su.execute(sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(policy, table))
        if mode in FORMS:
            # Trusted text: the constants above.
            su.execute(
                sql.SQL(
                    "CREATE POLICY {} ON {} AS RESTRICTIVE FOR ALL TO user_service_role"
                    " USING ({}) WITH CHECK ({})"
                ).format(policy, table, sql.SQL(FORMS[mode]), sql.SQL(FORMS[mode]))  # type: ignore[arg-type]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1500, help="EXPLAINs per form and round")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="edulink-rls-forms-"))
    samples: dict[str, list[float]] = {}
    try:
        with start_cluster(15, base) as cluster:
            deployment = deploy(cluster, recorded("prod"))
            data = rls_cost.load_rows(deployment, args.rows)
            for _ in range(args.rounds):
                for mode in MODES:
                    set_form(deployment, mode)
                    with deployment.login("user") as login:
                        login.execute(
                            "SELECT set_config('edulink.acting_profile_id', %s, false)",
                            [str(data["profile"])],
                        )
                        samples.setdefault(mode, []).extend(
                            rls_cost.server_timed(
                                login, rls_cost.QUERIES["lookup"], data, args.repeat
                            )
                        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    medians: dict[str, Any] = {m: round(statistics.median(v) * 1e6, 1) for m, v in samples.items()}
    (HERE / "forms.json").write_text(
        json.dumps({"rows": args.rows, "forms": FORMS, "median_us": medians}, indent=2) + "\n"
    )
    print("| form | lookup, server-side median (µs) |\n|---|---|")
    for mode in MODES:
        print(f"| {mode} | {medians[mode]} |")


if __name__ == "__main__":
    main()
