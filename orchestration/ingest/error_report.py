"""The QA officers' error reports, as CSV files for Excel, beside the warehouse.

- `error_report.csv`: what the latest run rejected (rows and whole files), the workbook sheets it
  did not load (hidden, blank or named after no entity), the rows waiting for
  a parent record, the waiting rows that loaded in this run because their parent arrived, and
  the rows behind any dbt test that failed the build.
- `outstanding_rejections.csv`: the work list. Every rejection not yet put right, across runs,
  with the record's key. A rejection leaves it when a later delivery of the same record loads,
  when the same file is delivered again (its own rejections then stand), or, for a waiting row,
  when its parent arrives and the row loads.

Both carry delivered values, whatever they hold: they are written by orchestration.safe_csv, so
a value that a spreadsheet would run as a formula is shown as text.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from orchestration.safe_csv import write_relation
from orchestration.settings import WarehousePaths
from orchestration.warehouse_db import WarehouseConnection, build_connection

REPORT_COLUMNS = ["file_name", "sheet", "row_number", "field", "value", "reason", "kind", "loaded_at"]

_REPORT_QUERY = """
    SELECT file_name, sheet_name AS sheet, CAST(NULL AS INTEGER) AS row_number, NULL AS field, NULL AS value,
           reason, 'rejected file' AS kind, loaded_at
    FROM ops.load_log
    WHERE status = 'rejected_file' AND run_id IS NOT DISTINCT FROM $run_id
    UNION ALL
    SELECT file_name, sheet_name, NULL, NULL, NULL, reason, 'sheet not loaded', loaded_at
    FROM ops.load_log
    WHERE status = 'sheet_not_loaded' AND run_id IS NOT DISTINCT FROM $run_id
    UNION ALL
    SELECT r.file_name, r.sheet_name, r.row_number, r.field, r.value, r.reason,
           CASE WHEN r.waiting_for IS NULL THEN 'rejected row' ELSE 'waiting for its ' || r.waiting_for END,
           r.rejected_at
    FROM ops.rejected_rows AS r
    JOIN ops.load_log AS l USING (load_id)
    WHERE l.run_id IS NOT DISTINCT FROM $run_id
    UNION ALL
    SELECT r.file_name, r.sheet_name, r.row_number, r.field, r.value, r.resolution,
           'loaded after waiting', r.resolved_at
    FROM ops.rejected_rows AS r
    WHERE r.waiting_for IS NOT NULL AND r.resolved_in_run IS NOT DISTINCT FROM $run_id
      AND r.resolved_by_load_id = r.load_id
    UNION ALL
    SELECT coalesce(f.file_name, f.model), NULL, f.row_number, f.column_name, f.failing_row,
           'check ' || f.test_name || ' failed: ' || coalesce(f.message, ''), 'build check failed', f.recorded_at
    FROM ops.build_failures AS f
    WHERE f.run_id IS NOT DISTINCT FROM $run_id
    ORDER BY file_name, sheet, row_number NULLS FIRST, field
"""

OUTSTANDING_COLUMNS = [
    "entity", "record_key", "file_name", "sheet", "row_number", "field", "value", "reason", "kind", "first_reported_at",
]

# A rejected file is put right once a file of the same name is delivered again.
OUTSTANDING_QUERY = """
    SELECT l.entity, NULL AS record_key, l.file_name, l.sheet_name AS sheet, NULL AS row_number,
           NULL AS field, NULL AS value, l.reason, 'rejected file' AS kind, l.loaded_at AS first_reported_at
    FROM ops.load_log AS l
    WHERE l.status = 'rejected_file'
      AND NOT EXISTS (
          SELECT 1 FROM ops.load_log AS later
          WHERE later.file_name = l.file_name AND later.load_id > l.load_id
      )
    UNION ALL
    SELECT r.entity, r.record_key, r.file_name, r.sheet_name, r.row_number, r.field, r.value, r.reason,
           CASE WHEN r.waiting_for IS NULL THEN 'rejected row' ELSE 'waiting for its ' || r.waiting_for END,
           r.rejected_at
    FROM ops.rejected_rows AS r
    WHERE r.resolved_by_load_id IS NULL
    ORDER BY file_name, sheet, row_number NULLS FIRST, field
"""


def write_error_report(paths: WarehousePaths, run_id: str | None) -> tuple[Path, int]:
    """Write the run's report beside the warehouse (and a dated copy), and the outstanding list;
    return the run report's path and row count."""
    paths.error_report_history_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    dated = paths.error_report_history_dir / f"error_report_{stamp}.csv"
    with build_connection(paths, read_only=True) as connection:
        relation = connection.sql(_REPORT_QUERY, params={"run_id": run_id})
        rows = relation.fetchall()
        write_relation(relation, dated)
        write_relation(connection.sql(OUTSTANDING_QUERY), paths.outstanding_rejections)
    shutil.copyfile(dated, paths.error_report)
    return paths.error_report, len(rows)


def outstanding_rejections(connection: WarehouseConnection) -> list[dict]:
    relation = connection.sql(OUTSTANDING_QUERY)
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]
