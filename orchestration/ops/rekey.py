"""`cfa rekey`: change the pseudonymisation key, rebuilding every pseudonym under the new key.

A pseudonym cannot be turned into another (that is the point of a keyed hash), so the only
way to a warehouse under a new key is to load every delivered file again. The archive keeps
them as delivered; the build's `ops.load_log` records which file each run loaded, where it was
archived, and in what order. Rekeying replays them, run by run in their original order and with
their original run ids and dates, through ingestion into a fresh build database under the new
key; then the nightly job builds, tests and publishes it as usual. The old build is kept beside
the new one until the operator deletes it.

What the archive no longer holds (past CFA_ARCHIVE_RETENTION_DAYS) cannot be replayed: rekeying
then refuses, unless the operator accepts losing those files' rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.ops.keyring import fingerprint_of, key_fingerprint, short
from orchestration.ops.refusals import Refusal
from orchestration.settings import WarehousePaths


class RekeyRefused(Refusal):
    exit_code = 7


@dataclass(frozen=True)
class ArchivedDelivery:
    run_id: str | None
    file_name: str
    archived_to: Path
    loaded_on: dt.date


def archived_deliveries(build_database: Path) -> list[ArchivedDelivery]:
    """Every file the build ever took from the landing folder, in the order it loaded them."""
    with duckdb.connect(str(build_database), read_only=True) as connection:
        rows = connection.execute(
            """
            SELECT run_id, file_name, archived_to, min(loaded_at)::DATE
            FROM ops.load_log
            WHERE archived_to IS NOT NULL
            GROUP BY run_id, file_name, archived_to
            ORDER BY min(load_id)
            """
        ).fetchall()
    return [ArchivedDelivery(run_id, name, Path(archived_to), loaded_on) for run_id, name, archived_to, loaded_on in rows]


def refuse_unless_rekeyable(paths: WarehousePaths, key: bytes, allow_loss: bool) -> list[ArchivedDelivery]:
    if not paths.build_database.exists():
        raise RekeyRefused(
            f"there is no build database at {paths.build_database} to rekey: restore it first (`cfa restore BACKUP`)."
        )
    old = fingerprint_of(paths.build_database)
    if old == key_fingerprint(key):
        raise RekeyRefused(
            f"the warehouse is already under this key (fingerprint {short(old)}): set CFA_PSEUDONYMISATION_KEY to the new key."
        )
    from orchestration.ingest.landing import landing_files

    waiting = landing_files(paths.landing_dir)
    if waiting:
        raise RekeyRefused(
            f"{len(waiting)} file(s) wait in {paths.landing_dir}: load them with `cfa run` under the current key "
            "first, or move them out, then rekey."
        )
    deliveries = archived_deliveries(paths.build_database)
    missing = [delivery for delivery in deliveries if not delivery.archived_to.is_file()]
    if missing and not allow_loss:
        raise RekeyRefused(
            f"{len(missing)} of the {len(deliveries)} archived extract(s) the warehouse loaded are no longer in the archive "
            f"(past CFA_ARCHIVE_RETENTION_DAYS, or removed), e.g. {missing[0].archived_to}: rekeying would drop their rows. "
            "Put them back from a backup (`cfa restore`), or rekey without them on purpose with --allow-history-loss."
        )
    return [delivery for delivery in deliveries if delivery.archived_to.is_file()]


def replay_archive(
    paths: WarehousePaths, deliveries: list[ArchivedDelivery], log: Callable[[str], None] = print
) -> Path:
    """A fresh build database under the current key, loaded from the archived files; its path."""
    from orchestration.ingest.landing import ingest_landing_folder

    workdir = paths.build_database.parent / "rekey"
    shutil.rmtree(workdir, ignore_errors=True)
    # Same base name: DuckDB names the catalog after the file, and the dbt views refer to it.
    fresh = WarehousePaths(landing_dir=workdir / "landing", warehouse=workdir / paths.warehouse.name)
    for run_id, batch in itertools.groupby(deliveries, key=lambda delivery: delivery.run_id):
        batch = list(batch)
        fresh.landing_dir.mkdir(parents=True, exist_ok=True)
        for delivery in batch:
            # A council's file goes back into the council's folder (its name is `885/audits_...`).
            replayed = fresh.landing_dir / delivery.file_name
            replayed.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(delivery.archived_to, replayed)
        ingest_landing_folder(fresh, run_id=run_id, today=batch[0].loaded_on, log=lambda message: None)
        with duckdb.connect(str(fresh.build_database)) as connection:
            # The replayed copies were archived in the work folder: the record points at the real archive.
            for delivery in batch:
                connection.execute(
                    "UPDATE ops.load_log SET archived_to = ? WHERE run_id IS NOT DISTINCT FROM ? AND file_name = ?"
                    " AND archived_to LIKE ?",
                    [str(delivery.archived_to), run_id, delivery.file_name, f"{fresh.archive_dir}%"],
                )
        log(f"replayed run {run_id}: {len(batch)} archived file(s)")
    if not fresh.build_database.exists():
        with duckdb.connect(str(fresh.build_database)):
            pass
    _carry_over_operations_history(paths.build_database, fresh.build_database)
    return fresh.build_database


def _carry_over_operations_history(old_build: Path, new_build: Path) -> None:
    """Archive deletions happened whatever the key: their record stays."""
    with duckdb.connect(str(new_build)) as connection:
        connection.execute(f"ATTACH '{old_build}' AS old_build (READ_ONLY)")
        has_deletions = connection.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'old_build' AND schema_name = 'ops'"
            " AND table_name = 'archive_deletions'"
        ).fetchone()[0]
        if has_deletions:
            connection.execute("CREATE SCHEMA IF NOT EXISTS ops")
            connection.execute("CREATE TABLE ops.archive_deletions AS SELECT * FROM old_build.ops.archive_deletions")
        connection.execute("DETACH old_build")


def swap_in(paths: WarehousePaths, fresh_build: Path) -> Path:
    """Put the fresh build in place; the old one is kept beside it. Returns the old one's path."""
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    kept = paths.build_database.with_name(f"{paths.build_database.name}.before-rekey-{stamp}")
    paths.build_database.replace(kept)
    paths.build_database.with_name(paths.build_database.name + ".wal").unlink(missing_ok=True)
    fresh_build.replace(paths.build_database)
    shutil.rmtree(fresh_build.parent.parent, ignore_errors=True)
    return kept


def swap_back(paths: WarehousePaths, kept: Path) -> None:
    kept.replace(paths.build_database)
