"""The QA officers' error report: every rejected row and file of a run, as a CSV for Excel."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb

from orchestration.settings import WarehousePaths

REPORT_COLUMNS = ["file_name", "sheet", "row_number", "field", "value", "reason", "kind", "loaded_at"]

_REPORT_QUERY = """
    SELECT file_name, sheet_name AS sheet, NULL AS row_number, NULL AS field, NULL AS value,
           reason, 'rejected file' AS kind, loaded_at
    FROM ops.load_log
    WHERE status = 'rejected_file' AND run_id IS NOT DISTINCT FROM $run_id
    UNION ALL
    SELECT r.file_name, r.sheet_name, r.row_number, r.field, r.value, r.reason, 'rejected row', r.rejected_at
    FROM ops.rejected_rows AS r
    JOIN ops.load_log AS l USING (load_id)
    WHERE l.run_id IS NOT DISTINCT FROM $run_id
    ORDER BY file_name, sheet, row_number NULLS FIRST, field
"""


def write_error_report(paths: WarehousePaths, run_id: str | None) -> tuple[Path, int]:
    """Write the run's report beside the warehouse (and a dated copy); return its path and row count."""
    paths.error_report_history_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    dated = paths.error_report_history_dir / f"error_report_{stamp}.csv"
    with duckdb.connect(str(paths.build_database), read_only=True) as connection:
        relation = connection.sql(_REPORT_QUERY, params={"run_id": run_id})
        rows = relation.fetchall()
        relation.write_csv(str(dated), header=True)
    # Excel opens a UTF-8 CSV correctly only with a byte-order mark.
    dated.write_bytes(b"\xef\xbb\xbf" + dated.read_bytes())
    shutil.copyfile(dated, paths.error_report)
    return paths.error_report, len(rows)
