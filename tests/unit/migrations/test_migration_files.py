"""Migration files on disk: names, versions, order and checksums."""

from __future__ import annotations

import hashlib
from pathlib import Path

from edulink_db.migrations.files import discover_migrations


def write(folder: Path, **files: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (folder / name).write_text(sql, encoding="utf-8")


def test_files_in_version_order_with_checksums(tmp_path: Path) -> None:
    write(
        tmp_path / "svc",
        **{"0010_ten.sql": "select 10;", "0002_two.sql": "select 2;", "0001_baseline.sql": "x"},
    )
    files, issues = discover_migrations(tmp_path, "svc")
    assert issues == []
    assert [(f.version, f.name, f.file_name) for f in files] == [
        (1, "baseline", "0001_baseline.sql"),
        (2, "two", "0002_two.sql"),
        (10, "ten", "0010_ten.sql"),
    ]
    assert files[1].checksum == hashlib.sha256(b"select 2;").hexdigest()
    step = files[2].step()
    assert (step.version, step.name, step.sql, step.file_name) == (
        10,
        "ten",
        "select 10;",
        "0010_ten.sql",
    )
    assert step.checksum == files[2].checksum


def test_bad_names_and_duplicate_versions(tmp_path: Path) -> None:
    write(
        tmp_path / "svc",
        **{
            "0001_baseline.sql": "",
            "0001_again.sql": "",
            "1_short.sql": "",
            "0002_Upper.sql": "",
            "0003_dash-name.sql": "",
            "0004_ok.sql.bak": "",
            "README.md": "",
        },
    )
    files, issues = discover_migrations(tmp_path, "svc", "db/migrations")
    expected = "expected a name like 0001_baseline.sql"
    # sorted by name, so 0001_again.sql is met first and keeps version 1
    assert [f.file_name for f in files] == ["0001_again.sql"]
    assert [str(i) for i in issues] == [
        "db/migrations/svc/0001_baseline.sql: version 0001 is also 0001_again.sql",
        f"db/migrations/svc/0002_Upper.sql: {expected}",
        f"db/migrations/svc/0003_dash-name.sql: {expected}",
        f"db/migrations/svc/0004_ok.sql.bak: {expected}",
        f"db/migrations/svc/1_short.sql: {expected}",
        f"db/migrations/svc/README.md: {expected}",
    ]


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    assert [str(i) for i in discover_migrations(tmp_path, "svc")[1]] == [
        "migrations/svc: no migration folder for this service"
    ]
    (tmp_path / "svc").mkdir()
    assert [str(i) for i in discover_migrations(tmp_path, "svc")[1]] == [
        "migrations/svc: the folder holds no migration"
    ]
