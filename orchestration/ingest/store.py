"""The raw and ops schemas of the build database: what ingestion writes, and nothing else does.

raw.<entity> keeps every accepted version of every row with its lineage (load, file, sheet,
row); dbt's staging picks the latest version of each key. ops.load_log records every file
(or sheet) seen, ops.rejected_rows every rejected row with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from orchestration.contract import Contract, Entity
from orchestration.ingest.build_failures import BUILD_FAILURES_DDL
from orchestration.ingest.rules import reference_key
from orchestration.warehouse_db import WarehouseConnection

# Every raw table starts with these: column -> (DuckDB type, what it means for an analyst).
LINEAGE_COLUMNS = {
    "load_id": ("BIGINT NOT NULL", "The load (one file, or one sheet of a workbook) that delivered this version of the row; see ops.load_log."),
    "file_name": ("VARCHAR NOT NULL", "The landing file the row came from."),
    "sheet_name": ("VARCHAR", "The workbook sheet the row came from; empty for CSV."),
    "source_row": ("INTEGER NOT NULL", "The row's number in its file or sheet, as a spreadsheet shows it (the header is row 1)."),
    "loaded_at": ("TIMESTAMP NOT NULL", "When the row was loaded."),
    "extract_date": ("DATE", "The date of the extract that delivered the row (from its file name, else the day it was delivered): the newest extract's version of a record wins."),
    "record_key": ("VARCHAR", "The record's key as the case system knows it, category values as codes; how a rejection is matched to the row that later put it right."),
    "council_folder": ("VARCHAR", "The council subfolder of the landing folder (its la_code) the file came from; empty for a file delivered flat."),
    "contract_version": ("INTEGER", "The extract contract version the file followed. Delivered flat by a v1 file, a record is known by its key alone (activities, grades and actions name their audit by audit_id alone); otherwise by its council and key."),
}

LOAD_STATUSES = ("loaded", "skipped_duplicate", "rejected_file", "sheet_not_loaded")

LOAD_LOG_DDL = [
    """
    CREATE TABLE IF NOT EXISTS ops.load_log (
        load_id BIGINT PRIMARY KEY,
        run_id VARCHAR,
        file_name VARCHAR NOT NULL,
        entity VARCHAR,
        sheet_name VARCHAR,
        content_sha256 VARCHAR NOT NULL,
        status VARCHAR NOT NULL CHECK (status IN ({statuses})),
        rows_read INTEGER NOT NULL,
        rows_loaded INTEGER NOT NULL,
        rows_rejected INTEGER NOT NULL,
        reason VARCHAR,
        loaded_at TIMESTAMP NOT NULL,
        archived_to VARCHAR,
        CHECK (rows_read = rows_loaded + rows_rejected)
    )
    """.format(statuses=", ".join(f"'{status}'" for status in LOAD_STATUSES)),
    # Added after the first release: a warehouse built before gains them, empty, on its next run.
    "ALTER TABLE ops.load_log ADD COLUMN IF NOT EXISTS extract_date DATE",
    "ALTER TABLE ops.load_log ADD COLUMN IF NOT EXISTS full_extract BOOLEAN",
    # Added with contract v2 (many councils in one warehouse).
    "ALTER TABLE ops.load_log ADD COLUMN IF NOT EXISTS council_folder VARCHAR",
    "ALTER TABLE ops.load_log ADD COLUMN IF NOT EXISTS contract_version INTEGER",
]

OPS_DDL = [
    "CREATE SCHEMA IF NOT EXISTS ops",
    *LOAD_LOG_DDL,
    """
    CREATE TABLE IF NOT EXISTS ops.rejected_rows (
        load_id BIGINT NOT NULL,
        file_name VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        sheet_name VARCHAR,
        row_number INTEGER NOT NULL,
        field VARCHAR NOT NULL,
        value VARCHAR,
        reason VARCHAR NOT NULL,
        rejected_at TIMESTAMP NOT NULL
    )
    """,
    "ALTER TABLE ops.rejected_rows ADD COLUMN IF NOT EXISTS record_key VARCHAR",
    # A row whose only fault is a parent not loaded yet waits, with its values (pseudonymised, as
    # raw would hold them), and loads by itself on the run in which the parent arrives.
    "ALTER TABLE ops.rejected_rows ADD COLUMN IF NOT EXISTS waiting_for VARCHAR",
    "ALTER TABLE ops.rejected_rows ADD COLUMN IF NOT EXISTS waiting_row VARCHAR",
    # Put right: by which later load, when, and how. An outstanding rejection has none.
    "ALTER TABLE ops.rejected_rows ADD COLUMN IF NOT EXISTS resolved_by_load_id BIGINT",
    "ALTER TABLE ops.rejected_rows ADD COLUMN IF NOT EXISTS resolved_in_run VARCHAR",
    "ALTER TABLE ops.rejected_rows ADD COLUMN IF NOT EXISTS resolved_at TIMESTAMP",
    "ALTER TABLE ops.rejected_rows ADD COLUMN IF NOT EXISTS resolution VARCHAR",
    BUILD_FAILURES_DDL,
]


def raw_columns(entity: Entity) -> dict[str, str]:
    columns = {name: kind for name, (kind, _) in LINEAGE_COLUMNS.items()}
    for f in entity.fields:
        columns[f.stored_name] = "DATE" if f.stored_type == "date" else "VARCHAR"
    columns["extra_columns"] = "VARCHAR"
    return columns


@dataclass(frozen=True)
class LoadRecord:
    file_name: str
    entity: str | None
    sheet_name: str | None
    content_sha256: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    reason: str | None = None
    extract_date: dt.date | None = None
    full_extract: bool = False
    council_folder: str | None = None
    contract_version: int | None = None


class WarehouseStore:
    def __init__(self, connection: WarehouseConnection, contract: Contract):
        self.connection = connection
        self.contract = contract

    def ensure_schemas(self) -> None:
        for statement in OPS_DDL:
            self.connection.execute(statement)
        self._allow_every_load_status()
        self.connection.execute("CREATE SCHEMA IF NOT EXISTS raw")
        for entity in self.contract.entities.values():
            columns = raw_columns(entity)
            body = ", ".join(f"{name} {kind}" for name, kind in columns.items())
            self.connection.execute(f"CREATE TABLE IF NOT EXISTS raw.{entity.name} ({body})")
            # A field added to the contract later becomes a new, empty column in raw.
            for name, kind in columns.items():
                kind = kind.replace(" NOT NULL", "")
                self.connection.execute(f"ALTER TABLE raw.{entity.name} ADD COLUMN IF NOT EXISTS {name} {kind}")

    def _allow_every_load_status(self) -> None:
        """A load log created by an earlier release checks for fewer statuses, and DuckDB cannot
        alter a CHECK: rebuild the table, rows and all, under today's definition. (A PostgreSQL
        warehouse began with every status, and could alter its CHECK in place.)"""
        checks = self.connection.load_log_checks()
        if checks is None or all(status in checks for status in LOAD_STATUSES):
            return
        columns = self.connection.table_columns("ops", "load_log")
        with self.connection.transaction():
            self.connection.execute("ALTER TABLE ops.load_log RENAME TO load_log_before_upgrade")
            for statement in LOAD_LOG_DDL:
                self.connection.execute(statement)
            listed = ", ".join(columns)
            self.connection.execute(f"INSERT INTO ops.load_log ({listed}) SELECT {listed} FROM ops.load_log_before_upgrade")
            self.connection.execute("DROP TABLE ops.load_log_before_upgrade")

    def already_loaded_cleanly(self, content_sha256: str, entity: str | None, council_folder: str | None = None) -> bool:
        """Whether this content loaded before, for the same council folder (or flat), with nothing
        rejected. A file some of whose rows were rejected is processed again when re-sent: the
        rows' causes may have been put right since (their audit has arrived, say). The same v1
        file in two councils' folders is two councils' records."""
        row = self.connection.execute(
            "SELECT count(*) FROM ops.load_log WHERE content_sha256 = ? AND status = 'loaded'"
            " AND rows_rejected = 0 AND entity IS NOT DISTINCT FROM ? AND council_folder IS NOT DISTINCT FROM ?",
            [content_sha256, entity, council_folder],
        ).fetchall()[0]
        return row[0] > 0

    def known_references(self, entity: str, field: str, among: Iterable[tuple[object, object]]) -> set[str]:
        """The reference keys (rules.reference_key) of the (la_code, value) pairs `among` that
        raw.`entity` holds in `field`: a pair with a council is known when that council's record
        is, or a record delivered flat by v1 without la_code; a pair without one (a flat v1 row),
        when any council's is. Asking only about the pairs a file refers to keeps the cost with
        the file, not with the years of history."""
        pairs = {(la_code if isinstance(la_code, str) and la_code else None, str(value)) for la_code, value in among if isinstance(value, str)}
        rows = self.connection.references_present(f"raw.{entity}", field, sorted(pairs, key=lambda pair: (pair[0] or "", pair[1])))
        return {reference_key(la_code, value) for la_code, value in rows}

    def _next_load_id(self) -> int:
        return self.connection.execute("SELECT coalesce(max(load_id), 0) + 1 FROM ops.load_log").fetchall()[0][0]

    def record(
        self,
        load: LoadRecord,
        run_id: str | None,
        accepted: pa.Table | None = None,
        rejections: list | None = None,
        entity: Entity | None = None,
        waiting: pa.Table | None = None,
    ) -> int:
        """Write one file's (or sheet's) rows, rejections and load-log entry in one transaction."""
        loaded_at = dt.datetime.now().replace(microsecond=0)
        with self.connection.transaction():
            load_id = self._next_load_id()
            lineage = {
                "load_id": load_id, "file_name": load.file_name, "sheet_name": load.sheet_name,
                "loaded_at": loaded_at, "extract_date": load.extract_date,
                "council_folder": load.council_folder, "contract_version": load.contract_version,
            }
            if accepted is not None and len(accepted):
                self._insert_raw(entity, lineage, accepted)
            if rejections:
                waiting_by_row = {row["row_number"]: _row_json(row) for row in _waiting_records(waiting)}
                self._insert_frame(
                    "ops.rejected_rows",
                    pd.DataFrame(
                        [
                            {
                                "load_id": load_id, "file_name": load.file_name, "entity": load.entity,
                                "sheet_name": load.sheet_name, "row_number": r.row_number, "field": r.field,
                                "value": r.value, "reason": r.reason, "rejected_at": loaded_at,
                                "record_key": r.record_key, "waiting_for": r.waiting_for,
                                "waiting_row": waiting_by_row.get(r.row_number) if r.waiting_for else None,
                            }
                            for r in rejections
                        ]
                    ),
                    {"load_id": "BIGINT", "row_number": "INTEGER", "rejected_at": "TIMESTAMP"},
                )
            self.connection.execute(
                "INSERT INTO ops.load_log (load_id, run_id, file_name, entity, sheet_name, content_sha256, status,"
                " rows_read, rows_loaded, rows_rejected, reason, loaded_at, extract_date, full_extract,"
                " council_folder, contract_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    load_id, run_id, load.file_name, load.entity, load.sheet_name, load.content_sha256,
                    load.status, load.rows_read, load.rows_loaded, load.rows_rejected, load.reason, loaded_at,
                    load.extract_date, load.full_extract, load.council_folder, load.contract_version,
                ],
            )
        return load_id

    def _insert_frame(self, table: str, frame: pd.DataFrame | pa.Table, types: dict[str, str]) -> None:
        """One INSERT for the whole frame (never row by row), each column cast to its type."""
        self.connection.insert_frame(table, frame, types)

    def _insert_raw(self, entity: Entity, lineage: dict[str, object], rows: pa.Table) -> None:
        """Insert a sheet's accepted rows (typed, by field name, with row_number, record_key and
        extra_columns) into raw in one statement, with the load's lineage."""
        columns = raw_columns(entity)
        names = {f.name: f.stored_name for f in entity.fields} | {
            "row_number": "source_row", "record_key": "record_key", "extra_columns": "extra_columns",
        }
        frame = rows.select(list(names)).rename_columns(list(names.values()))
        self.connection.insert_frame(
            f"raw.{entity.name}", frame, {name: kind.replace(" NOT NULL", "") for name, kind in columns.items()}, constants=lineage
        )

    def load_waiting_rows(self, entity: Entity, run_id: str | None) -> int:
        """Load the rows of `entity` that were waiting for a parent that has now arrived, with the
        lineage of the load that delivered them; a row superseded meanwhile by a later delivery
        of the same record is no longer waiting. Returns how many loaded."""
        waiting = self.connection.execute(
            """
            SELECT r.load_id, r.row_number, r.field, r.value, r.waiting_row,
                   l.file_name, l.sheet_name, l.extract_date, l.council_folder, l.contract_version
            FROM ops.rejected_rows AS r
            JOIN ops.load_log AS l USING (load_id)
            WHERE r.entity = ? AND r.waiting_for IS NOT NULL AND r.resolved_by_load_id IS NULL
            ORDER BY r.load_id, r.row_number
            """,
            [entity.name],
        ).fetchall()
        referenced = {ref.field: ref.entity for ref in entity.references}
        # A waiting row waits for its own council's record (the la_code it was kept with).
        council_of = {(row[0], row[1]): json.loads(row[4]).get(self.contract.council_field) if row[4] else None for row in waiting}
        known_references = {
            field: self.known_references(
                referenced[field], field, [(council_of[(row[0], row[1])], row[3]) for row in waiting if row[2] == field]
            )
            for field in {row[2] for row in waiting} if field in referenced
        }
        arrived = [
            row for row in waiting
            if reference_key(council_of[(row[0], row[1])], row[3]) in known_references.get(row[2], set())
        ]
        if not arrived:
            return 0
        loaded_at = dt.datetime.now().replace(microsecond=0)
        by_load: dict[tuple, list[tuple]] = {}
        for load_id, row_number, field, _value, waiting_row, file_name, sheet_name, extract_date, folder, version in arrived:
            by_load.setdefault((load_id, file_name, sheet_name, extract_date, folder, version), []).append((row_number, field, waiting_row))
        with self.connection.transaction():
            for (load_id, file_name, sheet_name, extract_date, folder, version), rows in by_load.items():
                lineage = {
                    "load_id": load_id, "file_name": file_name, "sheet_name": sheet_name,
                    "loaded_at": loaded_at, "extract_date": extract_date,
                    "council_folder": folder, "contract_version": version,
                }
                self._insert_raw(entity, lineage, _rows_table(entity, [_row_from_json(row, entity) for _, _, row in rows]))
                for field in {field for _, field, _ in rows}:
                    row_numbers = [row_number for row_number, row_field, _ in rows if row_field == field]
                    self.connection.execute(
                        "UPDATE ops.rejected_rows SET resolved_by_load_id = load_id, resolved_in_run = ?, resolved_at = ?,"
                        " resolution = ? WHERE load_id = ? AND entity = ? AND row_number = ANY(?)",
                        [run_id, loaded_at, f"loaded once its {_singular(waiting_row_parent(entity, field))} arrived",
                         load_id, entity.name, row_numbers],
                    )
        return len(arrived)

    def resolve_rejections(self, run_id: str | None) -> None:
        """Mark every rejection a later delivery has put right: a later load accepted the same
        record, or the same file was delivered again (its own rejections, if any, now stand)."""
        resolved_at = dt.datetime.now().replace(microsecond=0)
        outstanding = {
            entity for (entity,) in self.connection.execute(
                "SELECT DISTINCT entity FROM ops.rejected_rows WHERE resolved_by_load_id IS NULL"
            ).fetchall()
        }
        # Only an entity with rejections outstanding is looked for in raw: a night with none
        # costs nothing however many years raw holds.
        for entity in (entity for name, entity in self.contract.entities.items() if name in outstanding):
            self.connection.execute(
                f"""
                UPDATE ops.rejected_rows AS r
                SET resolved_by_load_id = fix.load_id, resolved_in_run = ?, resolved_at = ?,
                    resolution = 'a later delivery of this record loaded'
                FROM (
                    SELECT record_key, max(load_id) AS load_id FROM raw.{entity.name}
                    WHERE record_key IN (
                        SELECT record_key FROM ops.rejected_rows WHERE entity = ? AND resolved_by_load_id IS NULL
                    )
                    GROUP BY record_key
                ) AS fix
                WHERE r.entity = ? AND r.resolved_by_load_id IS NULL
                  AND r.record_key = fix.record_key AND fix.load_id > r.load_id
                """,
                [run_id, resolved_at, entity.name, entity.name],
            )
        self.connection.execute(
            """
            UPDATE ops.rejected_rows AS r
            SET resolved_by_load_id = again.load_id, resolved_in_run = ?, resolved_at = ?,
                resolution = 'the file was delivered again'
            FROM (
                SELECT file_name, entity, max(load_id) AS load_id FROM ops.load_log
                WHERE status = 'loaded' GROUP BY file_name, entity
            ) AS again
            WHERE r.resolved_by_load_id IS NULL AND r.file_name = again.file_name
              AND r.entity = again.entity AND again.load_id > r.load_id
            """,
            [run_id, resolved_at],
        )

    def refresh_statistics(self) -> None:
        self.connection.refresh_statistics(
            [f"raw.{name}" for name in self.contract.entities] + ["ops.load_log", "ops.rejected_rows"]
        )

    def mark_archived(self, file_name: str, run_id: str | None, archived_to: Path) -> None:
        self.connection.execute(
            "UPDATE ops.load_log SET archived_to = ? WHERE file_name = ? AND run_id IS NOT DISTINCT FROM ?"
            " AND archived_to IS NULL",
            [str(archived_to), file_name, run_id],
        )


def _waiting_records(waiting: pa.Table | None) -> list[dict[str, object]]:
    """Waiting rows as dicts, their unmatched columns as a dict under `extra` (how a waiting row
    has always been kept)."""
    if waiting is None or not waiting.num_rows:
        return []
    records = waiting.to_pylist()
    for record in records:
        extra = record.pop("extra_columns", None)
        record["extra"] = json.loads(extra) if extra else None
    return records


def _rows_table(entity: Entity, records: list[dict[str, object]]) -> pa.Table:
    """Rows kept as dicts (waiting rows, from their JSON) as the table `_insert_raw` takes."""
    columns: dict[str, pa.Array] = {
        "row_number": pa.array([record["row_number"] for record in records], pa.int64()),
        "record_key": pa.array([record.get("record_key") for record in records], pa.string()),
    }
    for f in entity.fields:
        kind = pa.date32() if f.stored_type == "date" else pa.string()
        columns[f.name] = pa.array([record.get(f.name) for record in records], kind)
    columns["extra_columns"] = pa.array(
        [json.dumps(record["extra"], sort_keys=True) if record.get("extra") else None for record in records], pa.string()
    )
    return pa.table(columns)


def _row_json(row: dict[str, object]) -> str:
    """A waiting row as JSON: dates as ISO strings, everything else as text."""
    def plain(value: object) -> object:
        return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value

    return json.dumps({name: plain(value) for name, value in row.items()}, sort_keys=True, default=int)


def _row_from_json(text: str, entity: Entity) -> dict[str, object]:
    row = json.loads(text)
    for f in entity.fields:
        if f.stored_type == "date" and row.get(f.name):
            row[f.name] = dt.date.fromisoformat(row[f.name])
    return row


def waiting_row_parent(entity: Entity, field: str) -> str:
    return next(ref.entity for ref in entity.references if ref.field == field)


def _singular(entity_name: str) -> str:
    """`audits` -> `audit`, `audit_activities` -> `activity`: how an officer names the parent."""
    last = entity_name.split("_")[-1]
    return last[:-3] + "y" if last.endswith("ies") else last.removesuffix("s")
