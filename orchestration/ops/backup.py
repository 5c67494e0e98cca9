"""`cfa backup` and `cfa restore`: the published warehouse, the build database (the history
every later run builds on) and the archive of delivered extracts, together.

A backup is a folder `cfa-backup-<UTC time>/` holding plain file copies (`warehouse/`, `build/`,
`archive/`) and `manifest.json` with each file's size and SHA-256 and the key's fingerprint.
File copies rather than DuckDB's EXPORT DATABASE: they keep the database's catalog name (views
refer to it) and restore exactly. They are taken under the warehouse lock, so no run writes
while they are made; the build is CHECKPOINTed first, and the published warehouse needs no
checkpoint (it is replaced whole, never written in place, so analysts may keep it open).

The archive holds the delivered files with raw child ids: a backup must be protected as the
archive itself is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.ops.keyring import fingerprint_of
from orchestration.ops.refusals import Refusal
from orchestration.settings import WarehousePaths

MANIFEST = "manifest.json"


class BackupUnusable(Refusal):
    exit_code = 6


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checkpointed_copy(database: Path, target: Path) -> None:
    with duckdb.connect(str(database)) as connection:
        connection.execute("CHECKPOINT")  # everything in the file itself, nothing in a WAL
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(database, target)


def backup(paths: WarehousePaths, destination: Path) -> Path:
    """Copy the warehouse, the build and the archive into a new folder under `destination`."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = destination / f"cfa-backup-{stamp}"
    counter = 1
    while folder.exists():  # two backups in one second
        counter += 1
        folder = destination / f"cfa-backup-{stamp}-{counter}"
    folder.mkdir(parents=True)
    if paths.warehouse.exists():
        # Published whole and never written in place (a BI tool may hold it open): a plain copy.
        (folder / "warehouse").mkdir()
        shutil.copyfile(paths.warehouse, folder / "warehouse" / paths.warehouse.name)
    if paths.build_database.exists():
        _checkpointed_copy(paths.build_database, folder / "build" / paths.build_database.name)
    if paths.archive_dir.is_dir():
        shutil.copytree(paths.archive_dir, folder / "archive")
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    manifest = {
        "created_at": stamp,
        "warehouse": str(paths.warehouse),
        "archive": str(paths.archive_dir),
        "key_fingerprint": fingerprint_of(paths.build_database) or fingerprint_of(paths.warehouse),
        "files": {str(path.relative_to(folder)): {"bytes": path.stat().st_size, "sha256": _sha256(path)} for path in files},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return folder


@dataclass
class Restored:
    warehouse: bool
    build: bool
    archive_files: int
    key_fingerprint: str | None


def verify(folder: Path) -> dict:
    """The backup's manifest, once every file it lists is there, whole."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BackupUnusable(f"{folder} is not a cfa backup (no {MANIFEST}): give the cfa-backup-... folder `cfa backup` made.")
    manifest = json.loads(manifest_path.read_text())
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file() or _sha256(path) != expected["sha256"]:
            raise BackupUnusable(f"the backup {folder} is damaged: {name} is missing or changed since it was made; nothing was restored.")
    return manifest


def restore(paths: WarehousePaths, folder: Path) -> Restored:
    """Put the backup's build and warehouse back, and any archived file missing from the archive
    (files archived since the backup stay)."""
    manifest = verify(folder)
    build_copy = folder / "build" / paths.build_database.name
    warehouse_copy = folder / "warehouse" / paths.warehouse.name
    if not build_copy.is_file() and not warehouse_copy.is_file():
        raise BackupUnusable(f"the backup {folder} holds no {paths.warehouse.name} database: nothing to restore for this warehouse.")
    if build_copy.is_file():
        _replace_with_copy(build_copy, paths.build_database)
        stale_wal = paths.build_database.with_name(paths.build_database.name + ".wal")
        stale_wal.unlink(missing_ok=True)  # a WAL from the lost build must not replay into the restored one
    if warehouse_copy.is_file():
        _replace_with_copy(warehouse_copy, paths.warehouse)
    archive_files = 0
    if (folder / "archive").is_dir():
        for source in sorted((folder / "archive").rglob("*")):
            target = paths.archive_dir / source.relative_to(folder / "archive")
            if source.is_file() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
                archive_files += 1
    return Restored(build_copy.is_file(), warehouse_copy.is_file(), archive_files, manifest.get("key_fingerprint"))


def _replace_with_copy(source: Path, target: Path) -> None:
    """Copy beside the target, then rename over it: readers of the old file never see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.restoring"
    shutil.copyfile(source, staging)
    os.replace(staging, target)
