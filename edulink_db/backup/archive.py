"""The backup file: one zip archive holding `manifest.json`, the migration files
(`definitions/NNNN_name.sql`) and one COPY stream per table (`data/<table>.copy`, in COPY's
binary format where every column has a built-in type, its text format otherwise).

Why a zip: members can be written as they stream from the server without knowing their size
first (a tar header needs it), the manifest can be read without reading the data, and every
member carries a CRC that zipfile checks on read; the manifest adds a SHA-256 per member, so
a truncated or altered file is refused before a row of it is restored. It is written to
`<file>.partial` and renamed when complete: an interrupted backup leaves no file that looks
whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from edulink_db.backup.manifest import FORMAT, MANIFEST, Manifest
from edulink_db.errors import UserError

CHUNK = 256 * 1024


class BackupError(UserError):
    """A backup could not be written or read, or a restore was refused or failed; the message
    says what was (not) changed."""


class Member:
    """A member being written: counts its bytes and hashes them."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._stream.write(data)
        self._hash.update(data)
        self.bytes += len(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class ArchiveWriter:
    def __init__(self, path: Path, compress: bool = False) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self._zip = zipfile.ZipFile(self._partial, "w", compression=method, compresslevel=1)

    @contextmanager
    def member(self, name: str) -> Iterator[Member]:
        info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
        info.compress_type = self._zip.compression
        with self._zip.open(info, "w", force_zip64=True) as stream:
            yield Member(stream)

    def write_text(self, name: str, text: str) -> tuple[str, int]:
        with self.member(name) as member:
            member.write(text.encode("utf-8"))
        return member.sha256, member.bytes

    def finish(self, manifest: Manifest) -> None:
        """Write the manifest, close, and move the file into place."""
        self.write_text(MANIFEST, manifest.model_dump_json(indent=2) + "\n")
        self._zip.close()
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        self._zip.close()
        self._partial.unlink(missing_ok=True)


class ArchiveReader:
    """A backup opened for reading: its manifest validated, its members read with their
    SHA-256 checked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
            raw = self._zip.read(MANIFEST)
        except FileNotFoundError:
            raise BackupError(f"{path}: no such file") from None
        except (zipfile.BadZipFile, KeyError) as error:
            raise BackupError(f"{path} is not a backup of {FORMAT!r} ({error})") from None
        try:
            self.manifest = Manifest.model_validate(json.loads(raw))
        except (ValueError, ValidationError) as error:
            first = str(error).splitlines()[0]
            raise BackupError(f"{path}: the manifest is not valid: {first}") from None

    def close(self) -> None:
        self._zip.close()

    def chunks(self, name: str, sha256: str) -> Iterator[bytes]:
        """The member's bytes; raises BackupError after the last chunk if they are not the
        ones the manifest names (the caller's transaction then rolls back)."""
        digest = hashlib.sha256()
        try:
            with self._zip.open(name) as stream:
                while data := stream.read(CHUNK):
                    digest.update(data)
                    yield data
        except (zipfile.BadZipFile, KeyError, OSError) as error:
            raise BackupError(f"{self.path}: {name} cannot be read: {error}") from None
        if digest.hexdigest() != sha256:
            raise BackupError(
                f"{self.path}: {name} is not the file the manifest describes (SHA-256 differs)"
            )

    def check(self) -> None:
        """Read every member the manifest names and check its SHA-256: a damaged file is
        refused before a restore changes anything."""
        manifest = self.manifest
        members = [(m.file, m.sha256) for m in manifest.migrations]
        members += [(t.file, t.sha256) for t in manifest.tables]
        for name, sha256 in members:
            for _ in self.chunks(name, sha256):
                pass

    def text(self, name: str, sha256: str) -> str:
        return b"".join(self.chunks(name, sha256)).decode("utf-8")
