"""What every scenario reports: who the session is, and how a refused statement failed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.exceptions import FieldError
from django.db import DatabaseError, connection, transaction


def identity() -> dict[str, Any]:
    """The session as the server sees it, inside one transaction (one pooled server
    connection): role, login, search_path, backend and prepared statements."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, session_user, current_setting('search_path'),"
            " pg_backend_pid(), (SELECT count(*) FROM pg_prepared_statements)"
        )
        role, login, search_path, pid, prepared = cursor.fetchone()
    return {
        "current_user": role,
        "session_user": login,
        "search_path": search_path,
        "pid": pid,
        "prepared": prepared,
    }


def driver() -> str:
    return connection.Database.__name__


def refused(action: Callable[[], Any]) -> dict[str, Any]:
    """Run `action`, expecting the database (or Django) to refuse it; report how."""
    try:
        action()
    except DatabaseError as error:
        cause = error.__cause__
        sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        return {
            "refused": True,
            "error": type(error).__name__,
            "sqlstate": sqlstate,
            "message": str(error).splitlines()[0],
        }
    except FieldError as error:
        return {
            "refused": True,
            "error": type(error).__name__,
            "sqlstate": None,
            "message": str(error).splitlines()[0],
        }
    return {"refused": False}


def wait_for_parties(barrier: Path, name: str, parties: int) -> None:
    """Start together with the other processes: each leaves a file in `barrier` and waits
    (at most a minute) until all `parties` have."""
    (barrier / name).touch()
    deadline = time.monotonic() + 60
    while len(list(barrier.iterdir())) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(list(barrier.iterdir()))} of {parties} started")
        time.sleep(0.01)


def identity_loop(work: Callable[[], Any], threads: int, rounds: int) -> dict[str, Any]:
    """`rounds` transactions in each of `threads` threads, each with its own connection;
    every transaction records the identity the server gives it, and holds its server
    connection for a few milliseconds so that the other threads and processes queue."""
    seen: list[dict[str, Any]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            for _ in range(rounds):
                with transaction.atomic():
                    row = identity()
                    work()
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_sleep(0.005)")
                with lock:
                    seen.append(row)
        except Exception as error:  # reported, judged by the test
            errors.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    started = time.time()
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"seen": seen, "errors": errors, "started": started, "ended": time.time()}
