"""Re-run the contract's Great Expectations suites over what a run loaded into raw: the check
behind the raw assets' Dagster asset checks, so nothing that breaks the contract reaches dbt
unnoticed, whoever wrote it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from orchestration.contract import Contract, Entity
from orchestration.ingest.validation import suite_failures
from orchestration.settings import WarehousePaths
from orchestration.warehouse_db import build_connection, build_exists


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
    # Into a DataFrame, whichever database holds raw: GX validates it with a pandas data source.
    with build_connection(paths, read_only=True) as connection:
        rows = connection.frame(
            f"""
            SELECT raw.load_id, raw.file_name, raw.source_row, {columns}
            FROM raw.{entity.name} AS raw
            JOIN ops.load_log AS load USING (load_id)
            WHERE load.run_id = ? AND load.entity = ? AND load.status = 'loaded'
            ORDER BY raw.load_id, raw.source_row
            """,
            [run_id, entity.name],
        )
    problems = []
    # One batch per load (file or sheet): a key is unique within its file, not across files.
    for _, batch in rows.groupby("load_id", sort=True):
        batch = batch.reset_index(drop=True)
        for position, meta in suite_failures(entity, batch, contract, today):
            row = batch.iloc[position]
            names = [name.strip() for name in meta["field"].split(",")]
            shown = [None if row[name] is None or row[name] != row[name] else str(row[name]) for name in names]
            value = None if all(v is None for v in shown) else ", ".join(v or "" for v in shown)
            problems.append(
                SuiteFailure(row["file_name"], int(row["source_row"]), meta["field"], value, meta["reason"].format(value=value))
            )
    return len(rows), problems
