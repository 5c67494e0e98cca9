"""When a blocking dbt test fails anyway, name the rows that fail it.

dbt keeps each failing test's rows (`store_failures`, as views in the build database); after a
failed build this reads them, records them in ops.build_failures for the run (the error report
and `cfa run` list them) and says them in the run's log. The rows are staging or mart rows, so
they carry the record's key and, from staging, the file and row it came from.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from orchestration.warehouse_db import connect_build_database, database_errors

BUILD_FAILURES_DDL = """
    CREATE TABLE IF NOT EXISTS ops.build_failures (
        run_id VARCHAR,
        test_name VARCHAR NOT NULL,
        model VARCHAR,
        column_name VARCHAR,
        file_name VARCHAR,
        row_number INTEGER,
        failing_row VARCHAR,
        message VARCHAR,
        recorded_at TIMESTAMP NOT NULL
    )
"""

ROWS_SHOWN_PER_TEST = 20


def _failed_tests(run_results: dict, manifest: dict) -> list[dict]:
    failed = []
    for result in run_results.get("results", []):
        if result.get("status") not in ("fail", "error") or not result["unique_id"].startswith("test."):
            continue
        node = manifest["nodes"].get(result["unique_id"], {})
        failed.append(
            {
                "test_name": node.get("name", result["unique_id"]),
                "model": (node.get("attached_node") or "").split(".")[-1] or None,
                "column_name": node.get("column_name"),
                "relation": node.get("relation_name"),
                "message": result.get("message"),
            }
        )
    return failed


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def record_build_failures(build_database: Path, target_path: Path, run_id: str | None) -> list[str]:
    """Record the rows behind every failed dbt test of the build; return one line per row (or
    per test, where dbt kept no rows) for the run's log."""
    run_results_path, manifest_path = target_path / "run_results.json", target_path / "manifest.json"
    if not run_results_path.exists() or not manifest_path.exists():
        return []
    failed = _failed_tests(json.loads(run_results_path.read_text()), json.loads(manifest_path.read_text()))
    lines: list[str] = []
    recorded_at = dt.datetime.now().replace(microsecond=0)
    with connect_build_database(build_database) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS ops")
        connection.execute(BUILD_FAILURES_DDL)
        for test in failed:
            rows: list[dict] = []
            if test["relation"]:
                try:
                    relation = connection.sql(f"SELECT * FROM {test['relation']} LIMIT {ROWS_SHOWN_PER_TEST}")
                    rows = [dict(zip(relation.columns, row)) for row in relation.fetchall()]
                except database_errors():
                    rows = []
            for row in rows or [{}]:
                # A test over a whole row (staging_rows_are_sound) says which column and rule it broke.
                column, rule = row.pop("broken_column", None) or test["column_name"], row.pop("broken_rule", None)
                row.pop("rows_with_this_key", None)
                where = f"{test['model']}.{column}" if column else test["model"]
                shown = {name: _plain(value) for name, value in row.items() if value is not None}
                file_name, row_number = shown.get("source_file_name"), shown.get("source_row")
                connection.execute(
                    "INSERT INTO ops.build_failures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, test["test_name"], test["model"], column, file_name, row_number,
                     json.dumps(shown, sort_keys=True, default=str) if shown else None, rule or test["message"], recorded_at],
                )
                place = f" ({file_name} row {row_number})" if file_name else ""
                values = ", ".join(f"{name}={value}" for name, value in shown.items())
                detail = "; ".join(part for part in (rule, values) if part) or test["message"]
                lines.append(f"dbt test {test['test_name']} failed on {where}{place}: {detail}")
    return lines


def record_check_failures(build_database: Path, run_id: str | None, check_name: str, table: str, failures: list) -> None:
    """Record the values a blocking contract check found in raw (rows written behind
    ingestion's back), for the error report and the run summary."""
    recorded_at = dt.datetime.now().replace(microsecond=0)
    with connect_build_database(build_database) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS ops")
        connection.execute(BUILD_FAILURES_DDL)
        for failure in failures:
            connection.execute(
                "INSERT INTO ops.build_failures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, check_name, table, failure.field, failure.file_name, failure.row_number,
                 json.dumps({failure.field: failure.value}), failure.reason, recorded_at],
            )
