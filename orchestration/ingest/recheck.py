"""Re-run the contract's suites over what a run loaded into raw: the check behind the raw
assets' Dagster asset checks, so nothing that breaks the contract reaches dbt unnoticed,
whoever wrote it."""

from __future__ import annotations

import datetime as dt

import duckdb

from orchestration.contract import Contract, Entity
from orchestration.ingest.readers import Record, Sheet
from orchestration.ingest.store import WarehouseStore
from orchestration.ingest.validation import validate_sheet
from orchestration.settings import WarehousePaths


def recheck_run(
    paths: WarehousePaths, entity: Entity, contract: Contract, run_id: str, today: dt.date | None = None
) -> tuple[int, list[str]]:
    """(rows checked, problems) for the rows of `entity` that run `run_id` loaded."""
    if not paths.build_database.exists():
        return 0, []
    today = today or dt.date.today()
    columns = ", ".join(f.stored_name for f in entity.fields)
    checked, problems = 0, []
    with duckdb.connect(str(paths.build_database), read_only=True) as connection:
        store = WarehouseStore(connection, contract)
        known = {ref.field: store.known_values(ref.entity, ref.field) for ref in entity.references}
        loads = connection.execute(
            "SELECT load_id, file_name FROM ops.load_log WHERE run_id = ? AND entity = ? AND status = 'loaded'",
            [run_id, entity.name],
        ).fetchall()
        for load_id, file_name in loads:
            rows = connection.execute(
                f"SELECT source_row, {columns} FROM raw.{entity.name} WHERE load_id = ? ORDER BY source_row", [load_id]
            ).fetchall()
            records = [
                Record(row_number=row[0], values=dict(zip(entity.field_names, row[1:])), extra={}) for row in rows
            ]
            result = validate_sheet(Sheet(entity=entity, sheet_name=None, records=records), contract, known, today)
            checked += result.rows_read
            problems += [f"{file_name} row {r.row_number}, {r.field}: {r.reason}" for r in result.rejections]
    return checked, problems
