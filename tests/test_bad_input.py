"""Every kind of bad input the contract names ends in ops.rejected_rows or ops.load_log with the
exact reason, the file, the row and the value, and never in raw."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import (
    ACTIVITY_HEADER,
    AUDIT_HEADER,
    GRADE_HEADER,
    audit_row,
    whole_audit,
    write_csv,
    write_drop,
)

GRADES_CHOICE = "use Outstanding, Good, Requires Improvement or Inadequate"


def _only_rejection(ingested, file_name: str) -> tuple:
    rejections = [r for r in ingested.rejections() if r[0] == file_name]
    assert len(rejections) == 1, rejections
    return rejections[0]


def _assert_counts_add_up(ingested) -> None:
    for entry in ingested.load_log():
        if entry["status"] == "loaded":
            assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_rejected"], entry


@pytest.mark.parametrize(
    ("overrides", "field", "value", "reason"),
    [
        pytest.param(
            {"audit_start_date": ""}, "audit_start_date", None, "audit_start_date is required", id="missing-required-field"
        ),
        pytest.param(
            {"audit_start_date": "31/02/2022"}, "audit_start_date", "31/02/2022",
            "'31/02/2022' is not a date: February 2022 has 28 days", id="impossible-day",
        ),
        pytest.param(
            {"audit_start_date": "31/09/2022"}, "audit_start_date", "31/09/2022",
            "'31/09/2022' is not a date: September 2022 has 30 days", id="day-past-the-month-end",
        ),
        pytest.param(
            {"audit_start_date": "2022-13-01"}, "audit_start_date", "2022-13-01",
            "'2022-13-01' is not a date: there is no month 13", id="no-such-month",
        ),
        pytest.param(
            {"audit_start_date": "1st June"}, "audit_start_date", "1st June",
            "'1st June' is not a date: use YYYY-MM-DD or DD/MM/YYYY", id="unparseable-date",
        ),
        pytest.param(
            {"audit_completed_date": "1999-06-01"}, "audit_completed_date", "1999-06-01",
            "audit_completed_date (1999-06-01) is before 1 April 2000, the earliest date the warehouse covers",
            id="before-the-warehouse-begins",
        ),
        pytest.param(
            {"status": "in_progress"}, "audit_completed_date", "2022-06-20",
            "audit_completed_date must be empty unless status is completed", id="completed-date-on-an-open-audit",
        ),
        pytest.param(
            {"audit_completed_date": "07/31/2022"}, "audit_completed_date", "07/31/2022",
            "'07/31/2022' looks like a US month-first date: use DD/MM/YYYY or YYYY-MM-DD", id="us-ordered-date",
        ),
        pytest.param(
            {"audit_start_date": "2022-06-01", "audit_completed_date": "2022-05-01"}, "audit_completed_date", "2022-05-01",
            "audit_completed_date (2022-05-01) is before audit_start_date", id="completed-before-started",
        ),
        pytest.param(
            {"audit_completed_date": "2099-01-01"}, "audit_completed_date", "2099-01-01",
            "audit_completed_date (2099-01-01) is in the future", id="completed-in-the-future",
        ),
        pytest.param({"la_code": "88"}, "la_code", "88", "'88' is not a 3-digit DfE local authority code", id="malformed-la-code"),
        pytest.param(
            {"audit_completed_date": ""}, "audit_completed_date", None,
            "audit_completed_date is required when status is completed", id="completed-without-date",
        ),
        pytest.param(
            {"audit_type": "targeted", "audit_theme": "Step-up"}, "targeted_audit_id", None,
            "targeted_audit_id is required when audit_type is targeted", id="targeted-without-group",
        ),
        pytest.param(
            {"targeted_audit_id": "TA-1"}, "targeted_audit_id", "TA-1",
            "targeted_audit_id must be empty unless audit_type is targeted", id="case-file-with-targeted-group",
        ),
        pytest.param(
            {"service_area": "Youth Justice"}, "service_area", "Youth Justice",
            "'Youth Justice' is not a service area: use Family Front Door, Assessment and Intervention, Family Support "
            "(Child in Need and Child Protection), Children in Care, Care Leavers, Supporting Families First, Disabled "
            "Children, Fostering or Adoption",
            id="unknown-service-area",
        ),
        pytest.param(
            {"status": "done"}, "status", "done",
            "'done' is not an audit status: use In progress, Completed or Cancelled", id="unknown-status",
        ),
    ],
)
def test_a_bad_audit_row_is_rejected_with_its_reason(workspace, ingest, overrides, field, value, reason):
    write_csv(workspace.landing_dir, "audits_bad.csv", AUDIT_HEADER, [audit_row("GOOD-1"), audit_row("BAD-1", **overrides)])

    ingested = ingest(today=dt.date(2022, 8, 5))

    assert _only_rejection(ingested, "audits_bad.csv") == ("audits_bad.csv", None, 3, field, value, reason)
    assert ingested.query("SELECT audit_id FROM raw.audits") == [("GOOD-1",)]
    _assert_counts_add_up(ingested)


@pytest.mark.parametrize(
    ("grade", "practice_area", "field", "reason"),
    [
        pytest.param("Excellent", "Voice of the Child", "grade", f"'Excellent' is not a grade: {GRADES_CHOICE}", id="unknown-grade"),
        pytest.param("3", "Voice of the Child", "grade", f"'3' is not a grade: {GRADES_CHOICE}", id="grade-as-a-number"),
        pytest.param("N/A", "Voice of the Child", "grade", f"'N/A' is not a grade: {GRADES_CHOICE}", id="grade-not-applicable"),
        pytest.param(
            "Good", "Child's Lived Experience", "practice_area",
            "'Child's Lived Experience' is not a practice area: use Voice of the Child, Assessment and Analysis, "
            "Quality of Plans, Management Oversight, Partnership Working, Strengths-Based Practice or Embracing Diversity",
            id="unknown-practice-area",
        ),
    ],
)
def test_a_bad_grade_row_is_rejected_with_its_reason(workspace, ingest, grade, practice_area, field, reason):
    write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"))
    write_csv(workspace.landing_dir, "audit_subsection_grades_late.csv", GRADE_HEADER, [["A1-MOD", practice_area, grade]])

    ingested = ingest()

    value = grade if field == "grade" else practice_area
    assert _only_rejection(ingested, "audit_subsection_grades_late.csv") == (
        "audit_subsection_grades_late.csv", None, 2, field, value, reason,
    )
    _assert_counts_add_up(ingested)


def test_an_activity_of_an_unknown_audit_is_rejected(workspace, ingest):
    write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"))
    write_csv(
        workspace.landing_dir, "audit_activities_orphans.csv", ACTIVITY_HEADER,
        [["X-AUD", "NO-SUCH-AUDIT", "audit", "", "", "2022-06-01", "Good"]],
    )

    ingested = ingest()

    assert _only_rejection(ingested, "audit_activities_orphans.csv") == (
        "audit_activities_orphans.csv", None, 2, "audit_id", "NO-SUCH-AUDIT",
        "audit_id 'NO-SUCH-AUDIT' does not exist in audits",
    )
    assert ingested.query("SELECT count(*) FROM raw.audit_activities WHERE audit_id = 'NO-SUCH-AUDIT'") == [(0,)]


def test_a_grade_of_an_unknown_activity_is_rejected(workspace, ingest):
    write_csv(workspace.landing_dir, "audit_subsection_grades_orphans.csv", GRADE_HEADER, [["NOPE", "Voice of the Child", "Good"]])

    ingested = ingest()

    assert _only_rejection(ingested, "audit_subsection_grades_orphans.csv")[3:] == (
        "activity_id", "NOPE", "activity_id 'NOPE' does not exist in audit_activities",
    )


def test_a_duplicate_key_within_a_file_rejects_every_row_sharing_it(workspace, ingest):
    write_csv(
        workspace.landing_dir, "audits_dup.csv", AUDIT_HEADER,
        [audit_row("A1"), audit_row("A2"), audit_row("A1", team="Another team")],
    )

    ingested = ingest()

    reason = "duplicate key (audit_id) = (A1) within the file"
    assert ingested.rejections() == [
        ("audits_dup.csv", None, 2, "audit_id", "A1", reason),
        ("audits_dup.csv", None, 4, "audit_id", "A1", reason),
    ]
    assert ingested.query("SELECT audit_id FROM raw.audits") == [("A2",)]
    [entry] = ingested.load_log()
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_rejected"]) == (3, 1, 2)


def test_every_problem_of_a_row_is_reported_and_the_row_counts_once(workspace, ingest):
    write_csv(
        workspace.landing_dir, "audits_messy.csv", AUDIT_HEADER,
        [audit_row("A1", la_code="9999", service_area="Nowhere", audit_start_date="yesterday")],
    )

    ingested = ingest()

    rejections = [(r[3], r[5]) for r in ingested.rejections()]
    assert rejections[:2] == [
        ("audit_start_date", "'yesterday' is not a date: use YYYY-MM-DD or DD/MM/YYYY"),
        ("la_code", "'9999' is not a 3-digit DfE local authority code"),
    ]
    assert rejections[2][0] == "service_area"
    assert rejections[2][1].startswith("'Nowhere' is not a service area: use Family Front Door, ")
    assert len(rejections) == 3
    [entry] = ingested.load_log()
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_rejected"]) == (1, 0, 1)


@pytest.mark.parametrize(
    ("file_name", "content", "reason"),
    [
        pytest.param(
            "referrals_2022-07.csv", b"id,name\n1,x\n",
            "no known entity in its name: a file name should start with one of audits_, audit_activities_, "
            "audit_subsection_grades_, audit_actions_, practice_developments_",
            id="unknown-entity",
        ),
        pytest.param("audits_empty.csv", b"", "the file is empty", id="empty-file"),
        pytest.param("audits_blank.csv", b"\r\n  \r\n", "the file is empty", id="blank-file"),
        pytest.param("audits_2022-07.txt", b"audit_id\nA1\n", "not a CSV or XLSX file (.txt)", id="not-csv-or-xlsx"),
        pytest.param("audits_2022-07.xls", b"\xd0\xcf\x11\xe0", "not a CSV or XLSX file (.xls)", id="old-excel-format"),
        pytest.param(
            "audits_noheader.csv", b"A1,885,C1,Children in Care,,case_file,,,2022-06-01,2022-06-20,completed\n",
            "the file: no header row: the first row names none of the audits fields (audit_id, la_code, child_id, "
            "service_area, team, audit_type, targeted_audit_id, audit_theme, audit_start_date, audit_completed_date, status, deleted)",
            id="no-header",
        ),
        pytest.param(
            "audits_short.csv", b"audit_id,la_code,status\nA1,885,completed\n",
            "the file: missing required columns: child_id, service_area, audit_type, audit_start_date",
            id="missing-required-columns",
        ),
        pytest.param("audits_broken.xlsx", b"this is not a zip file", None, id="corrupt-xlsx"),
        pytest.param(
            "audits_quote.csv", b'audit_id,la_code\nA1,"885\nA2,885\nA3,885\n',
            "not readable as CSV at line 4: unexpected end of data", id="unterminated-quote",
        ),
    ],
)
def test_an_unreadable_file_is_rejected_whole_and_archived(workspace, ingest, file_name, content, reason):
    (workspace.landing_dir / file_name).write_bytes(content)

    ingested = ingest()

    [entry] = ingested.load_log()
    assert entry["file_name"] == file_name
    assert entry["status"] == "rejected_file"
    if reason is None:
        assert entry["reason"].startswith("not a readable XLSX workbook")
    else:
        assert entry["reason"] == reason
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_rejected"]) == (0, 0, 0)
    archived = list(workspace.archive_dir.rglob(file_name))
    assert [path.read_bytes() for path in archived] == [content]
    assert not (workspace.landing_dir / file_name).exists()


def test_the_error_report_lists_rejected_rows_and_files_for_a_qa_officer(workspace, ingest):
    from orchestration.ingest.error_report import write_error_report

    write_csv(workspace.landing_dir, "audits_bad.csv", AUDIT_HEADER, [audit_row("A1", la_code="88")])
    (workspace.landing_dir / "notes.txt").write_text("hello")
    ingest(run_id="run-1")

    path, count = write_error_report(workspace, "run-1")

    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    # Every field quoted (OWASP's CSV injection guidance; see orchestration/safe_csv.py).
    assert lines[0] == '"file_name","sheet","row_number","field","value","reason","kind","loaded_at"'
    assert count == 2
    assert any(
        line.startswith('"audits_bad.csv",,"2","la_code","88","\'88\' is not a 3-digit DfE local authority code","rejected row",')
        for line in lines
    )
    assert any(line.startswith('"notes.txt",,,,,"not a CSV or XLSX file (.txt)","rejected file",') for line in lines)
    assert path == workspace.error_report
