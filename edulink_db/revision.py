"""The project's inputs as they were at another git revision, for `matrix --against`."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edulink_db.errors import UserError

INPUTS = ("catalogue.yaml", "migrations")


@contextmanager
def checkout_inputs(root: Path, ref: str) -> Iterator[Path]:
    """A temporary folder holding the catalogue, migrations and stack files of `ref`."""
    listed = _git(root, "ls-tree", "--name-only", ref)
    names = [
        n
        for n in listed.decode().split()
        if n in INPUTS or (n.startswith("Pulumi.") and n.endswith(".yaml"))
    ]
    archive = _git(root, "archive", "--format=tar", ref, "--", *names)
    with tempfile.TemporaryDirectory(prefix="edulink-db-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)


def _git(root: Path, *args: str) -> bytes:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args], check=True, capture_output=True
        ).stdout
    except FileNotFoundError as error:
        raise UserError("git is not installed; --against needs it") from error
    except subprocess.CalledProcessError as error:
        message = error.stderr.decode(errors="replace").strip()
        raise UserError(f"git {args[0]} failed: {message}") from error
