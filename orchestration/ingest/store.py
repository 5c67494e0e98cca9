"""The raw and ops schemas of the build database: what ingestion writes, and nothing else does.

raw.<entity> keeps every accepted version of every row with its lineage (load, file, sheet,
row); dbt's staging picks the latest version of each key. ops.load_log records every file
(or sheet) seen, ops.rejected_rows every rejected row with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.contract import Contract, Entity

# Every raw table starts with these: column -> (DuckDB type, what it means for an analyst).
LINEAGE_COLUMNS = {
    "load_id": ("BIGINT NOT NULL", "The load (one file, or one sheet of a workbook) that delivered this version of the row; see ops.load_log."),
    "file_name": ("VARCHAR NOT NULL", "The landing file the row came from."),
    "sheet_name": ("VARCHAR", "The workbook sheet the row came from; empty for CSV."),
    "source_row": ("INTEGER NOT NULL", "The row's number in its file or sheet, as a spreadsheet shows it (the header is row 1)."),
    "loaded_at": ("TIMESTAMP NOT NULL", "When the row was loaded."),
}

OPS_DDL = [
    "CREATE SCHEMA IF NOT EXISTS ops",
    """
    CREATE TABLE IF NOT EXISTS ops.load_log (
        load_id BIGINT PRIMARY KEY,
        run_id VARCHAR,
        file_name VARCHAR NOT NULL,
        entity VARCHAR,
        sheet_name VARCHAR,
        content_sha256 VARCHAR NOT NULL,
        status VARCHAR NOT NULL CHECK (status IN ('loaded', 'skipped_duplicate', 'rejected_file', 'sheet_not_loaded')),
        rows_read INTEGER NOT NULL,
        rows_loaded INTEGER NOT NULL,
        rows_rejected INTEGER NOT NULL,
        reason VARCHAR,
        loaded_at TIMESTAMP NOT NULL,
        archived_to VARCHAR,
        CHECK (rows_read = rows_loaded + rows_rejected)
    )
    """,
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
]


def raw_columns(entity: Entity) -> dict[str, str]:
    columns = {name: kind for name, (kind, _) in LINEAGE_COLUMNS.items()}
    for f in entity.fields:
        columns[f.stored_name] = "DATE" if f.type == "date" else "VARCHAR"
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


class WarehouseStore:
    def __init__(self, connection: duckdb.DuckDBPyConnection, contract: Contract):
        self.connection = connection
        self.contract = contract

    def ensure_schemas(self) -> None:
        for statement in OPS_DDL:
            self.connection.execute(statement)
        self.connection.execute("CREATE SCHEMA IF NOT EXISTS raw")
        for entity in self.contract.entities.values():
            columns = raw_columns(entity)
            body = ", ".join(f"{name} {kind}" for name, kind in columns.items())
            self.connection.execute(f"CREATE TABLE IF NOT EXISTS raw.{entity.name} ({body})")
            # A field added to the contract later becomes a new, empty column in raw.
            for name, kind in columns.items():
                kind = kind.replace(" NOT NULL", "")
                self.connection.execute(f"ALTER TABLE raw.{entity.name} ADD COLUMN IF NOT EXISTS {name} {kind}")

    def already_loaded(self, content_sha256: str, entity: str | None) -> bool:
        row = self.connection.execute(
            "SELECT count(*) FROM ops.load_log WHERE content_sha256 = ? AND status = 'loaded'"
            " AND entity IS NOT DISTINCT FROM ?",
            [content_sha256, entity],
        ).fetchone()
        return row[0] > 0

    def known_values(self, entity: str, field: str) -> set[str]:
        rows = self.connection.execute(f"SELECT DISTINCT {field} FROM raw.{entity} WHERE {field} IS NOT NULL")
        return {r[0] for r in rows.fetchall()}

    def _next_load_id(self) -> int:
        return self.connection.execute("SELECT coalesce(max(load_id), 0) + 1 FROM ops.load_log").fetchone()[0]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.connection.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def record(
        self,
        load: LoadRecord,
        run_id: str | None,
        accepted: list[dict[str, object]] | None = None,
        rejections: list | None = None,
        entity: Entity | None = None,
    ) -> int:
        """Write one file's (or sheet's) rows, rejections and load-log entry in one transaction."""
        loaded_at = dt.datetime.now().replace(microsecond=0)
        with self._transaction():
            load_id = self._next_load_id()
            if accepted:
                self._insert_raw(entity, load_id, load, loaded_at, accepted)
            if rejections:
                self.connection.executemany(
                    "INSERT INTO ops.rejected_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        [load_id, load.file_name, load.entity, load.sheet_name, r.row_number, r.field, r.value, r.reason, loaded_at]
                        for r in rejections
                    ],
                )
            self.connection.execute(
                "INSERT INTO ops.load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                [
                    load_id, run_id, load.file_name, load.entity, load.sheet_name, load.content_sha256,
                    load.status, load.rows_read, load.rows_loaded, load.rows_rejected, load.reason, loaded_at,
                ],
            )
        return load_id

    def _insert_raw(
        self, entity: Entity, load_id: int, load: LoadRecord, loaded_at: dt.datetime, rows: list[dict[str, object]]
    ) -> None:
        columns = list(raw_columns(entity))
        values = []
        for row in rows:
            lineage = [load_id, load.file_name, load.sheet_name, row["row_number"], loaded_at]
            fields = [row[f.name] for f in entity.fields]
            extra = json.dumps(row["extra"], sort_keys=True) if row["extra"] else None
            values.append([*lineage, *fields, extra])
        placeholders = ", ".join("?" for _ in columns)
        self.connection.executemany(
            f"INSERT INTO raw.{entity.name} ({', '.join(columns)}) VALUES ({placeholders})", values
        )

    def mark_archived(self, file_name: str, run_id: str | None, archived_to: Path) -> None:
        self.connection.execute(
            "UPDATE ops.load_log SET archived_to = ? WHERE file_name = ? AND run_id IS NOT DISTINCT FROM ?"
            " AND archived_to IS NULL",
            [str(archived_to), file_name, run_id],
        )
