"""Re-run the contract's Great Expectations suites over what a run loaded into raw: the check
behind the raw assets' Dagster asset checks, so nothing that breaks the contract reaches dbt
unnoticed, whoever wrote it."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from orchestration.contract import Contract, Entity
from orchestration.ingest.validation import suite_failures
from orchestration.ops.memory import give_back_memory
from orchestration.settings import WarehousePaths
from orchestration.warehouse_db import DUCKDB, build_connection, build_exists

# A national file's load is checked in parts of about this many rows, each holding whole keys.
PART_ROWS = 500_000


@dataclass(frozen=True)
class SuiteFailure:
    file_name: str
    row_number: int
    field: str
    value: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file_name} row {self.row_number}, {self.field}: {self.reason}"


def recheck_run(
    paths: WarehousePaths, entity: Entity, contract: Contract, run_id: str, today: dt.date | None = None
) -> tuple[int, list[str]]:
    """(rows checked, problems) for the rows of `entity` that run `run_id` loaded."""
    checked, failures = recheck_failures(paths, entity, contract, run_id, today)
    return checked, [str(failure) for failure in failures]


def recheck_failures(
    paths: WarehousePaths, entity: Entity, contract: Contract, run_id: str, today: dt.date | None = None
) -> tuple[int, list[SuiteFailure]]:
    """(rows checked, every failing value) for the rows of `entity` that run `run_id` loaded."""
    if not build_exists(paths):
        return 0, []
    today = today or dt.date.today()
    columns = ", ".join(f"raw.{f.stored_name} AS {f.name}" for f in entity.fields)
    key_column = "raw." + next(f.stored_name for f in entity.fields if f.name == entity.key[0])
    problems, checked = [], 0
    # Into a DataFrame, whichever database holds raw: GX validates it with a pandas data source.
    # One batch per load (file or sheet), as a key is unique within its file, not across files;
    # read one at a time, and a national file's in parts that each hold every row of their keys
    # (split by a hash of the key's first field), so that a part is the most memory the check holds.
    with build_connection(paths, read_only=True) as connection:
        loads = connection.execute(
            "SELECT load_id, file_name, coalesce(rows_loaded, 0) FROM ops.load_log"
            " WHERE run_id = ? AND entity = ? AND status = 'loaded' ORDER BY load_id",
            [run_id, entity.name],
        ).fetchall()
        for load_id, file_name, rows_loaded in loads:
            parts = math.ceil(rows_loaded / PART_ROWS) if connection.dialect == DUCKDB and rows_loaded > PART_ROWS else 1
            found = []
            for part in range(parts):
                in_part = f" AND coalesce(hash({key_column}), 0) % {parts} = {part}" if parts > 1 else ""
                batch = connection.compact_frame(
                    f"SELECT raw.source_row, {columns} FROM raw.{entity.name} AS raw WHERE raw.load_id = ?{in_part} ORDER BY raw.source_row",
                    [load_id],
                )
                checked += len(batch)
                for position, meta in suite_failures(entity, batch, contract, today):
                    row = batch.iloc[position]
                    names = [name.strip() for name in meta["field"].split(",")]
                    shown = [None if row[name] is None or row[name] != row[name] else str(row[name]) for name in names]
                    value = None if all(v is None for v in shown) else ", ".join(v or "" for v in shown)
                    found.append(
                        SuiteFailure(file_name, int(row["source_row"]), meta["field"], value, meta["reason"].format(value=value))
                    )
                batch = None  # each part's frame goes before the next is read, and before the memory is handed back
            problems += sorted(found, key=lambda failure: failure.row_number) if parts > 1 else found
    give_back_memory()
    return checked, problems
