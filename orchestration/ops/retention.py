"""How long delivered extracts are kept in the archive, and the nightly deletion of expired ones.

The archive (`<landing>_archive/<run date>/`) keeps files exactly as delivered, raw child ids
included: kept for ever, it would hold identifiable data long after the warehouse needs it.
It is needed for two things only: to see what was delivered when an error report is queried,
and to rebuild pseudonyms under a new key (`cfa rekey` replays it). CFA_ARCHIVE_RETENTION_DAYS
bounds it; see docs/operations.md for the default's reason.

Every deletion is logged in the run's log and in `ops.archive_deletions` (path, the date it was
archived, size and SHA-256, run, reason), which is published with the warehouse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestration.ops.refusals import Refusal
from orchestration.settings import WarehousePaths
from orchestration.warehouse_db import build_connection

RETENTION_SETTING = "CFA_ARCHIVE_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 730

DELETIONS_DDL = [
    "CREATE SCHEMA IF NOT EXISTS ops",
    """
    CREATE TABLE IF NOT EXISTS ops.archive_deletions (
        deleted_at TIMESTAMP NOT NULL,
        run_id VARCHAR,
        path VARCHAR NOT NULL,
        archived_on DATE NOT NULL,
        bytes BIGINT NOT NULL,
        content_sha256 VARCHAR NOT NULL,
        reason VARCHAR NOT NULL
    )
    """,
]


class RetentionSettingInvalid(Refusal):
    pass


def retention_days() -> int:
    value = os.environ.get(RETENTION_SETTING, "").strip()
    if not value:
        return DEFAULT_RETENTION_DAYS
    if not value.isdigit() or int(value) < 1:
        raise RetentionSettingInvalid(
            f"{RETENTION_SETTING}={value!r} is not a whole number of days (1 or more): set it, or unset it for the "
            f"default of {DEFAULT_RETENTION_DAYS}."
        )
    return int(value)


@dataclass(frozen=True)
class Deletion:
    path: Path
    archived_on: dt.date
    bytes: int
    content_sha256: str


def expired_files(archive_dir: Path, today: dt.date, days: int) -> list[Deletion]:
    """Files in archive folders dated more than `days` before `today`; other folders are not ours."""
    if not archive_dir.is_dir():
        return []
    cutoff = today - dt.timedelta(days=days)
    expired = []
    for folder in sorted(archive_dir.iterdir()):
        try:
            archived_on = dt.date.fromisoformat(folder.name)
        except ValueError:
            continue
        if not folder.is_dir() or archived_on >= cutoff:
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            content = path.read_bytes()
            expired.append(Deletion(path, archived_on, len(content), hashlib.sha256(content).hexdigest()))
    return expired


def delete_expired_archive(
    paths: WarehousePaths,
    run_id: str | None,
    today: dt.date | None = None,
    log: Callable[[str], None] = print,
) -> list[Deletion]:
    """Delete archived extracts past the retention period and record each deletion in the build."""
    days = retention_days()
    today = today or dt.date.today()
    expired = expired_files(paths.archive_dir, today, days)
    if not expired:
        return []
    reason = f"archived more than {days} days before {today.isoformat()} ({RETENTION_SETTING})"
    with build_connection(paths) as connection:
        for statement in DELETIONS_DDL:
            connection.execute(statement)
        for deletion in expired:
            deletion.path.unlink()
            # One row per file, committed as it goes: a file deleted is a file recorded.
            connection.execute(
                "INSERT INTO ops.archive_deletions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    dt.datetime.now().replace(microsecond=0), run_id, str(deletion.path), deletion.archived_on,
                    deletion.bytes, deletion.content_sha256, reason,
                ],
            )
            log(f"deleted archived extract {deletion.path}: {reason}")
    for folder in sorted({deletion.path.parent for deletion in expired}, reverse=True):
        try:
            folder.rmdir()
        except OSError:
            pass  # something else is in it: leave the folder
    return expired
