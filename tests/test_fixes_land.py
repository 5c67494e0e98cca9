"""A QA officer's fixes and a case system's re-deliveries land, in whatever order and under
whatever names they arrive; what cannot land yet stays on the outstanding list until it does."""

from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pytest

from tests.conftest import (
    ACTION_HEADER,
    ACTIVITY_HEADER,
    AUDIT_HEADER,
    GRADE_HEADER,
    ON_THE_SMALL_COUNCILS_NIGHTS,
    audit_row,
    whole_audit,
    write_csv,
    write_drop,
)

TODAY = dt.date(2022, 10, 15)


def _outstanding(paths) -> list[dict]:
    with paths.outstanding_rejections.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _error_report(paths) -> list[dict]:
    with paths.error_report.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _write_reports(ingested, run_id: str) -> None:
    from orchestration.ingest.error_report import write_error_report

    write_error_report(ingested.paths, run_id)


# ---------------------------------------------------------------------------------------------
# 1. Rejected rows come back when their cause is fixed
# ---------------------------------------------------------------------------------------------


def test_a_fixed_audit_lets_its_rejected_activities_and_grades_load_when_the_files_are_re_sent(workspace, ingest):
    landing = workspace.landing_dir
    broken = whole_audit("A1", "Good")
    broken["audits"] = [audit_row("A1", audit_start_date="31/09/2022")]
    sent = write_drop(landing, "2022-07-01", broken, whole_audit("A2", "Good"))
    contents = {path.name: path.read_bytes() for path in sent}

    first = ingest(run_id="first", today=TODAY)
    _write_reports(first, "first")

    assert first.query("SELECT activity_id FROM raw.audit_activities ORDER BY 1") == [("A2-AUD",), ("A2-MOD",), ("A2-PEER",)]
    waiting = first.query(
        "SELECT entity, waiting_for, count(*) FROM ops.rejected_rows WHERE waiting_for IS NOT NULL GROUP BY ALL ORDER BY 1"
    )
    assert waiting == [("audit_activities", "audits", 3), ("audit_subsection_grades", "audit_activities", 14)]
    outstanding = _outstanding(workspace)
    audit_rejection = [row for row in outstanding if row["entity"] == "audits"]
    assert audit_rejection == [
        {
            "entity": "audits", "record_key": "A1", "file_name": "audits_2022-07-01.csv", "sheet": "",
            "row_number": "2", "field": "audit_start_date", "value": "31/09/2022",
            "reason": "'31/09/2022' is not a date: September 2022 has 30 days", "kind": "rejected row",
            "first_reported_at": audit_rejection[0]["first_reported_at"],
        }
    ]
    assert {row["kind"] for row in outstanding if row["entity"] == "audit_activities"} == {"waiting for its audits"}
    assert {row["record_key"] for row in outstanding if row["entity"] == "audit_activities"} == {"A1-AUD", "A1-PEER", "A1-MOD"}

    # The officer fixes the audit row; the case system re-sends the unchanged activity and grade files.
    write_csv(landing, "audits_2022-07-02.csv", AUDIT_HEADER, [audit_row("A1")])
    for name in ("audit_activities_2022-07-01.csv", "audit_subsection_grades_2022-07-01.csv"):
        (landing / name).write_bytes(contents[name])

    second = ingest(run_id="second", today=TODAY)
    _write_reports(second, "second")

    statuses = {(e["file_name"], e["status"]) for e in second.load_log() if e["run_id"] == "second"}
    assert ("audit_activities_2022-07-01.csv", "loaded") in statuses
    assert ("audit_subsection_grades_2022-07-01.csv", "loaded") in statuses
    assert second.query("SELECT count(DISTINCT activity_id) FROM raw.audit_activities") == [(6,)]
    assert second.query("SELECT count(DISTINCT activity_id || practice_area) FROM raw.audit_subsection_grades") == [(28,)]
    assert _outstanding(workspace) == []
    loaded_after_waiting = [row for row in _error_report(workspace) if row["kind"] == "loaded after waiting"]
    assert len(loaded_after_waiting) == 17
    assert {row["reason"] for row in loaded_after_waiting} == {
        "loaded once its audit arrived", "loaded once its activity arrived",
    }


def test_rows_waiting_for_their_audit_load_by_themselves_when_it_arrives(workspace, ingest):
    landing = workspace.landing_dir
    audit = whole_audit("A1", "Good")
    write_csv(landing, "audit_activities_2022-07-01.csv", ACTIVITY_HEADER, audit["audit_activities"])
    write_csv(landing, "audit_subsection_grades_2022-07-01.csv", GRADE_HEADER, audit["audit_subsection_grades"])
    first = ingest(run_id="first", today=TODAY)
    assert first.query("SELECT count(*) FROM raw.audit_activities") == [(0,)]
    assert [(e["rows_loaded"], e["rows_rejected"]) for e in first.load_log()] == [(0, 3), (0, 14)]
    assert "3 row(s) wait for their audits and load when it arrives" in first.load_log()[0]["reason"]

    write_csv(landing, "audits_2022-07-05.csv", AUDIT_HEADER, audit["audits"])
    second = ingest(run_id="second", today=TODAY)

    assert second.summary.waiting_rows_loaded == 17
    # Loaded with the lineage of the file that delivered them, not of the audit's file.
    assert second.query(
        "SELECT DISTINCT file_name, load_id, extract_date FROM raw.audit_activities"
    ) == [("audit_activities_2022-07-01.csv", 1, dt.date(2022, 7, 1))]
    assert second.query("SELECT count(*) FROM raw.audit_subsection_grades") == [(14,)]
    assert second.query(
        "SELECT resolution, resolved_in_run, count(*) FROM ops.rejected_rows GROUP BY ALL ORDER BY 1"
    ) == [("loaded once its activity arrived", "second", 14), ("loaded once its audit arrived", "second", 3)]


def test_a_rejection_stays_outstanding_across_runs_until_a_later_delivery_puts_it_right(workspace, ingest):
    landing = workspace.landing_dir
    write_csv(landing, "audits_2022-07-01.csv", AUDIT_HEADER, [audit_row("A1", la_code="88"), audit_row("A2")])
    _write_reports(ingest(run_id="first", today=TODAY), "first")
    write_csv(landing, "audits_2022-07-08.csv", AUDIT_HEADER, [audit_row("A3")])
    _write_reports(ingest(run_id="second", today=TODAY), "second")

    # The latest run rejected nothing, but the officer's work is not done.
    assert _error_report(workspace) == []
    [outstanding] = _outstanding(workspace)
    assert (outstanding["file_name"], outstanding["row_number"], outstanding["field"], outstanding["value"]) == (
        "audits_2022-07-01.csv", "2", "la_code", "88",
    )
    assert outstanding["reason"] == "'88' is not a 3-digit DfE local authority code"

    write_csv(landing, "audits_2022-07-15.csv", AUDIT_HEADER, [audit_row("A1")])
    third = ingest(run_id="third", today=TODAY)
    _write_reports(third, "third")

    assert _outstanding(workspace) == []
    assert third.query("SELECT resolution, resolved_in_run FROM ops.rejected_rows") == [
        ("a later delivery of this record loaded", "third"),
    ]


def test_a_re_sent_file_that_loaded_cleanly_is_still_skipped(workspace, ingest):
    path = write_csv(workspace.landing_dir, "audits_2022-07-01.csv", AUDIT_HEADER, [audit_row("A1")])
    content = path.read_bytes()
    ingest(run_id="first", today=TODAY)
    path.write_bytes(content)

    ingested = ingest(run_id="second", today=TODAY)

    assert [e["status"] for e in ingested.load_log()] == ["loaded", "skipped_duplicate"]


# ---------------------------------------------------------------------------------------------
# 2. The newest extract wins, whatever the file is called
# ---------------------------------------------------------------------------------------------


def _workbook(path, sheets: dict[str, tuple[list[str], list[list[object]]]]) -> None:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(name)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    workbook.save(path)


@pytest.mark.job_runs(1)
def test_the_newest_extract_wins_whatever_the_files_are_called(workspace, run_job):
    landing = workspace.landing_dir
    audit = whole_audit("A1", "Good", completed="2022-08-01")
    # The August extract completes the audit; the July extract, sorting after it by name, has it in progress.
    _workbook(
        landing / "audit_extract_2022-08-05.xlsx",
        {
            "audits": (AUDIT_HEADER, audit["audits"]),
            "audit_activities": (ACTIVITY_HEADER, audit["audit_activities"]),
            "audit_subsection_grades": (GRADE_HEADER, audit["audit_subsection_grades"]),
        },
    )
    write_csv(landing, "audits_2022-07-01.csv", AUDIT_HEADER, [audit_row("A1", status="in_progress", audit_completed_date="")])

    marts = run_job()

    assert marts("SELECT audit_id, audit_status, is_counted FROM marts.fct_audit") == [("A1", "completed", True)]
    assert marts("SELECT quarter_label, case_file_audits_completed FROM marts.mart_quarterly_summary") == [("2022-23 Q2", 1)]
    assert marts(
        "SELECT file_name, extract_date FROM ops.load_log WHERE entity = 'audits' ORDER BY load_id"
    ) == [("audits_2022-07-01.csv", dt.date(2022, 7, 1)), ("audit_extract_2022-08-05.xlsx", dt.date(2022, 8, 5))]


def test_load_order_follows_the_extract_date_not_the_file_name():
    from pathlib import Path

    from orchestration.contract import load_contract
    from orchestration.ingest.landing import ReadableSheet, in_load_order
    from orchestration.ingest.readers import Sheet

    audits = load_contract().entities["audits"]
    names = ["audit_extract_2022-08-05.xlsx", "audits_2022-07-01.csv", "audits_undated.csv", "audits_20220601.csv"]
    readable = [ReadableSheet(Path(name), "sha", Sheet(audits, None)) for name in names]

    ordered = [item.path.name for item in in_load_order(readable, load_contract(), delivered=dt.date(2022, 9, 1))]

    assert ordered == ["audits_20220601.csv", "audits_2022-07-01.csv", "audit_extract_2022-08-05.xlsx", "audits_undated.csv"]


# ---------------------------------------------------------------------------------------------
# 5. Nothing ingestion accepts can block a night; when a check fails anyway, the rows are named
# ---------------------------------------------------------------------------------------------


@ON_THE_SMALL_COUNCILS_NIGHTS
def test_a_date_before_the_warehouse_begins_is_rejected_at_the_door_and_the_night_publishes(first_night):
    # The night's drop: A1 whole, and in audits_2022-06-30_old.csv, OLD-1 of 1999 (see `first_night`).
    assert first_night.exit_code == 0, first_night.output
    marts = first_night.marts

    assert marts("SELECT audit_id FROM marts.fct_audit") == [("A1",)]
    assert marts("SELECT field, reason FROM ops.rejected_rows ORDER BY field") == [
        ("audit_completed_date", "audit_completed_date (1999-03-20) is before 1 April 2000, the earliest date the warehouse covers"),
        ("audit_start_date", "audit_start_date (1999-03-01) is before 1 April 2000, the earliest date the warehouse covers"),
    ]


def test_the_quarter_dimension_covers_every_date_ingestion_accepts(sample_run):
    from orchestration.contract import load_contract

    delivery = load_contract().delivery
    assert sample_run.marts("SELECT min(quarter_start_date), max(quarter_end_date) FROM marts.dim_quarter") == [
        (delivery.earliest_date, delivery.latest_date),
    ]


@ON_THE_SMALL_COUNCILS_NIGHTS
def test_a_failing_blocking_test_names_its_rows_in_the_error_report_and_the_run_output(first_night, hand_edited_night):
    # `first_night` published A1; then a row was written into raw behind ingestion's back, with a
    # grade the contract does not know, and the next night ran through `cfa run` (see `hand_edited_night`).
    assert first_night.exit_code == 0, first_night.output
    code, output, warehouse = hand_edited_night.exit_code, hand_edited_night.output, hand_edited_night.paths.warehouse

    assert code == 1
    assert "stg_audit_extract__audit_subsection_grades_rows_are_sound (hand-edit.csv row 7): grade_code: grade_code is missing;" in output
    with (warehouse.parent / "error_report.csv").open(encoding="utf-8-sig", newline="") as handle:
        failures = [row for row in csv.DictReader(handle) if row["kind"] == "build check failed"]
    grade_failure = [row for row in failures if row["field"] == "grade_code"]
    assert [(row["file_name"], row["row_number"]) for row in grade_failure] == [("hand-edit.csv", "7")]
    assert '"activity_id": "A1-MOD"' in grade_failure[0]["value"]


# ---------------------------------------------------------------------------------------------
# 6. Corrections and deletions; 7. rules that say what a row cannot be; 8. as-at dates
# ---------------------------------------------------------------------------------------------


@pytest.mark.job_runs(3)
def test_corrections_deletions_and_full_extracts_leave_the_marts_and_keep_history_in_raw(workspace, run_job):
    landing = workspace.landing_dir
    duplicated = whole_audit("A5", "Good")
    duplicated["audit_activities"].append(["A5-MOD2", "A5", "moderation", "QA Officer", "S3", "2022-06-20", "Good"])
    write_drop(
        landing, "2022-06-30",
        whole_audit("A1", "Good"), whole_audit("A2", "Inadequate"), whole_audit("A3", "Good"), whole_audit("A4", "Good"),
        duplicated,
    )
    marts = run_job()
    assert marts("SELECT count(*) FROM marts.fct_audit WHERE is_counted") == [(4,)]
    assert marts("SELECT audit_id FROM marts.mart_audits_held_back") == [("A5",)]

    # A1 re-sent under its right la_code; A2 entered in error; the duplicate moderation deleted.
    write_csv(landing, "audits_2022-07-15.csv", AUDIT_HEADER + ["deleted"], [
        audit_row("A1", la_code="886") + [""], audit_row("A2") + ["Yes"],
    ])
    write_csv(landing, "audit_activities_2022-07-15.csv", ACTIVITY_HEADER + ["Deleted"], [
        ["A5-MOD2", "A5", "moderation", "QA Officer", "S3", "2022-06-20", "Good", "entered in error"],
    ])
    marts = run_job()

    assert marts("SELECT audit_id, la_code FROM marts.fct_audit ORDER BY 1") == [
        ("A1", "886"), ("A3", "885"), ("A4", "885"), ("A5", "885"),
    ]
    assert marts("SELECT count(*) FROM marts.mart_audits_held_back") == [(0,)]
    assert marts(
        "SELECT la_code, inadequate_count, case_file_audits_completed FROM marts.mart_quarterly_summary ORDER BY 1"
    ) == [("885", 0, 3), ("886", 0, 1)]

    # A full extract of council 885's audits that no longer holds A4 retires it (and only 885's).
    write_csv(landing, "audits_full_2022-09-30.csv", AUDIT_HEADER, [audit_row("A3"), audit_row("A5")])
    marts = run_job()

    assert marts("SELECT audit_id FROM marts.fct_audit ORDER BY 1") == [("A1",), ("A3",), ("A5",)]
    assert marts("SELECT full_extract FROM ops.load_log WHERE file_name = 'audits_full_2022-09-30.csv'") == [(True,)]
    # History stays in raw, with lineage: in the build database, which analysts never see.
    import duckdb

    with duckdb.connect(str(workspace.build_database), read_only=True) as build:
        assert build.execute("SELECT count(*) FROM raw.audits WHERE audit_id IN ('A2', 'A4')").fetchall() == [(3,)]


def test_a_full_extract_with_rejected_rows_retires_nothing(workspace, ingest):
    write_csv(workspace.landing_dir, "audits_full_2022-09-30.csv", AUDIT_HEADER, [audit_row("A1"), audit_row("A2", la_code="8")])

    ingested = ingest(today=TODAY)

    [entry] = ingested.load_log()
    assert entry["full_extract"] is False
    assert "a full extract with rejected rows: nothing is retired until it loads cleanly" in entry["reason"]


@pytest.mark.parametrize(
    ("row", "field", "value", "reason"),
    [
        pytest.param(
            ["ACT-1", "A1", "", "2022-06-20", "2022-07-20", "2022-07-01", "open"], "completed_date", "2022-07-01",
            "completed_date must be empty unless status is completed", id="open-with-a-completed-date",
        ),
        pytest.param(
            ["ACT-1", "A1", "", "2022-06-20", "2022-06-01", "", "open"], "due_date", "2022-06-01",
            "due_date (2022-06-01) is before raised_date", id="due-before-raised",
        ),
        pytest.param(
            ["ACT-1", "A1", "", "2022-06-20", "2022-07-20", "2022-06-10", "completed"], "completed_date", "2022-06-10",
            "completed_date (2022-06-10) is before raised_date", id="completed-before-raised",
        ),
    ],
)
def test_an_action_that_contradicts_itself_is_rejected_with_its_reason(workspace, ingest, row, field, value, reason):
    write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"))
    write_csv(workspace.landing_dir, "audit_actions_2022-06-30.csv", ACTION_HEADER, [row])

    ingested = ingest(today=TODAY)

    assert [r for r in ingested.rejections() if r[0].startswith("audit_actions")] == [
        ("audit_actions_2022-06-30.csv", None, 2, field, value, reason),
    ]


@ON_THE_SMALL_COUNCILS_NIGHTS
def test_overdue_is_judged_as_at_the_newest_extract_and_every_mart_says_its_date(second_night):
    # A1 came in the end-of-June drop; the end-of-July drop brought its actions (see `second_night`).
    assert second_night.exit_code == 0, second_night.output
    marts = second_night.marts

    assert marts("SELECT action_id, is_overdue FROM marts.fct_audit_action ORDER BY 1") == [
        ("ACT-DUE", False), ("ACT-LATE", True),
    ]
    for mart in (
        "mart_audit_grades_by_quarter", "mart_subsection_grades_by_quarter", "mart_quarterly_summary",
        "mart_overall_grades_year_to_date", "mart_subsection_grades_year_to_date",
    ):
        assert marts(f"SELECT DISTINCT figures_as_at FROM marts.{mart}") == [(dt.date(2022, 7, 31),)], mart


@pytest.mark.job_runs(1)
def test_the_run_summary_names_audits_held_back_and_outstanding_rejections(tmp_path):
    from tests.conftest import run_cli

    landing = tmp_path / "landing"
    landing.mkdir()
    incomplete = whole_audit("A3", "Good")
    incomplete["audit_activities"] = incomplete["audit_activities"][:2]
    incomplete["audit_subsection_grades"] = incomplete["audit_subsection_grades"][:7]
    write_drop(landing, "2022-06-30", whole_audit("A1", "Good"), incomplete)
    write_csv(landing, "audits_2022-06-30_more.csv", AUDIT_HEADER, [audit_row("B1", la_code="88")])

    code, output = run_cli(
        ["run", "--landing", str(landing), "--warehouse", str(tmp_path / "warehouse" / "cfa.duckdb")], tmp_path / "dagster"
    )

    assert code == 0, output
    assert "  outstanding rejections:   1 " in output
    assert "    audits_2022-06-30_more.csv row 2, la_code [audits B1]: '88' is not a 3-digit DfE local authority code" in output
    assert "  audits held back:         1 " in output
    assert "    A3 (2022-23 Q1): expected 3 activities (1 audit, 1 peer review, 1 moderation), found 1 audit, 1 peer review, 0 moderation" in output


def test_a_load_log_from_an_earlier_release_is_upgraded_with_its_history(workspace, ingest):
    import duckdb

    workspace.build_database.parent.mkdir(parents=True)
    with duckdb.connect(str(workspace.build_database)) as connection:
        connection.execute("CREATE SCHEMA ops")
        connection.execute(
            """
            CREATE TABLE ops.load_log (
                load_id BIGINT PRIMARY KEY, run_id VARCHAR, file_name VARCHAR NOT NULL, entity VARCHAR,
                sheet_name VARCHAR, content_sha256 VARCHAR NOT NULL,
                status VARCHAR NOT NULL CHECK (status IN ('loaded', 'skipped_duplicate', 'rejected_file')),
                rows_read INTEGER NOT NULL, rows_loaded INTEGER NOT NULL, rows_rejected INTEGER NOT NULL,
                reason VARCHAR, loaded_at TIMESTAMP NOT NULL, archived_to VARCHAR,
                CHECK (rows_read = rows_loaded + rows_rejected)
            )
            """
        )
        connection.execute("INSERT INTO ops.load_log VALUES (1, 'old', 'x.txt', NULL, NULL, 'sha', 'rejected_file', 0, 0, 0, 'old', now(), NULL)")
    workbook = openpyxl.Workbook()
    workbook.active.title = "audits"
    workbook.active.append(AUDIT_HEADER)
    workbook.active.append(audit_row("A1"))
    hidden = workbook.create_sheet("old copy")
    hidden.sheet_state = "hidden"
    workbook.save(workspace.landing_dir / "audits_2022-07-01.xlsx")

    ingested = ingest(today=TODAY)

    assert [(e["load_id"], e["status"]) for e in ingested.load_log()] == [
        (1, "rejected_file"), (2, "sheet_not_loaded"), (3, "loaded"),
    ]


def test_a_contract_check_that_fails_anyway_names_its_rows_in_the_error_report(workspace, ingest):
    import duckdb

    from orchestration.contract import load_contract
    from orchestration.ingest.build_failures import record_check_failures
    from orchestration.ingest.error_report import write_error_report
    from orchestration.ingest.recheck import recheck_failures

    write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"))
    ingest(run_id="night-1", today=TODAY)
    with duckdb.connect(str(workspace.build_database)) as connection:
        connection.execute("UPDATE raw.audit_subsection_grades SET grade = 'Excellent' WHERE source_row = 3")
    contract = load_contract()

    checked, failures = recheck_failures(workspace, contract.entities["audit_subsection_grades"], contract, "night-1")
    record_check_failures(workspace.build_database, "night-1", "audit_extract__audit_subsection_grades", "raw.audit_subsection_grades", failures)
    write_error_report(workspace, "night-1")

    assert checked == 14
    [failure] = [row for row in _error_report(workspace) if row["kind"] == "build check failed"]
    assert (failure["file_name"], failure["row_number"], failure["field"], failure["value"]) == (
        "audit_subsection_grades_2022-06-30.csv", "3", "grade", '{"grade": "Excellent"}',
    )
    assert failure["reason"].startswith("check audit_extract__audit_subsection_grades failed: 'Excellent' is not a grade")
