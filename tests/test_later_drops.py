"""Several nightly runs, each with a later drop that completes, corrects or cancels earlier
audits: the marts follow the latest word on every audit, and hold back incomplete records."""

from __future__ import annotations

import pytest

from tests.conftest import (
    ACTIVITY_HEADER,
    AUDIT_HEADER,
    GRADE_HEADER,
    ON_THE_SMALL_COUNCILS_NIGHTS,
    PRACTICE_AREAS,
    audit_row,
    whole_audit,
    write_csv,
    write_drop,
)


def _grades_by_quarter(marts) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for quarter, grade, count in marts(
        "SELECT quarter_label, grade_label, audit_count FROM marts.mart_audit_grades_by_quarter WHERE audit_count > 0"
    ):
        result.setdefault(quarter, {})[grade] = count
    return result


@pytest.mark.job_runs(3)
def test_later_drops_complete_correct_and_cancel_earlier_audits(workspace, run_job):
    landing = workspace.landing_dir
    # Drop 1 (end of June): two whole audits, one marked completed without its moderation yet,
    # and one still in progress.
    incomplete = whole_audit("A3", "Inadequate", completed="2022-06-25")
    incomplete["audit_activities"] = incomplete["audit_activities"][:2]
    incomplete["audit_subsection_grades"] = incomplete["audit_subsection_grades"][:7]
    overdone = whole_audit("A5", "Good")
    overdone["audit_activities"].append(["A5-PEER2", "A5", "peer_review", "Practice Lead", "S4", "2022-06-12", ""])
    write_drop(
        landing, "2022-06-30",
        whole_audit("A1", "Good"),
        whole_audit("A2", "Requires Improvement"),
        incomplete,
        overdone,
        {
            "audits": [audit_row("A4", status="in_progress", audit_completed_date="")],
            "audit_activities": [["A4-AUD", "A4", "audit", "", "", "2022-06-20", "Good"]],
        },
    )

    marts = run_job()

    assert _grades_by_quarter(marts) == {"2022-23 Q1": {"Good": 1, "Requires Improvement": 1}}
    assert marts("SELECT audit_id, held_back_reason FROM marts.mart_audits_held_back ORDER BY 1") == [
        ("A3", "expected 3 activities (1 audit, 1 peer review, 1 moderation), found 1 audit, 1 peer review, 0 moderation; "
               "expected 7 moderated practice-area grades, found 0"),
        ("A5", "expected 3 activities (1 audit, 1 peer review, 1 moderation), found 1 audit, 2 peer review, 1 moderation"),
    ]
    assert marts("SELECT case_file_audits_completed, audit_activities FROM marts.mart_quarterly_summary") == [(2, 6)]

    # Drop 2 (end of July): A3's moderation arrives; A1's moderation is corrected to Outstanding;
    # A2 is cancelled; A4 is completed in July.
    write_csv(landing, "audits_2022-07-31.csv", AUDIT_HEADER, [
        audit_row("A2", status="cancelled", audit_completed_date=""),
        audit_row("A4", audit_completed_date="2022-07-10"),
    ])
    write_csv(landing, "audit_activities_2022-07-31.csv", ACTIVITY_HEADER, [
        ["A3-MOD", "A3", "moderation", "QA Officer", "S3", "2022-06-25", "Inadequate"],
        ["A1-MOD", "A1", "moderation", "QA Officer", "S3", "2022-06-20", "Outstanding"],
        ["A4-PEER", "A4", "peer_review", "", "", "2022-07-01", ""],
        ["A4-MOD", "A4", "moderation", "", "", "2022-07-10", "Good"],
    ])
    write_csv(landing, "audit_subsection_grades_2022-07-31.csv", GRADE_HEADER, [
        *[["A3-MOD", area, "Inadequate"] for area in PRACTICE_AREAS],
        ["A1-MOD", "Voice of the Child", "Outstanding"],
        *[["A4-MOD", area, "RI"] for area in PRACTICE_AREAS],
    ])

    marts = run_job()

    assert _grades_by_quarter(marts) == {
        "2022-23 Q1": {"Outstanding": 1, "Inadequate": 1},
        "2022-23 Q2": {"Good": 1},
    }
    assert marts("SELECT audit_id FROM marts.mart_audits_held_back") == [("A5",)]  # still an extra activity
    assert marts(
        "SELECT practice_area_code, grade_code FROM marts.fct_subsection_grade WHERE audit_id = 'A1' ORDER BY 1"
    ) == sorted(
        [("voice_of_child", 1)] + [(code, 2) for code in (
            "assessment_analysis", "quality_of_plans", "management_oversight", "partnership_working",
            "strengths_based_practice", "embracing_diversity",
        )]
    )
    assert marts(
        "SELECT quarter_label, case_file_audits_completed, audit_activities, good_or_better_share, inadequate_count"
        " FROM marts.mart_quarterly_summary ORDER BY 1"
    ) == [("2022-23 Q1", 2, 6, 0.5, 1), ("2022-23 Q2", 1, 3, 1.0, 0)]
    assert marts("SELECT audit_status FROM marts.fct_audit WHERE audit_id = 'A2'") == [("cancelled",)]

    # Drop 2 delivered again: nothing changes.
    for path in sorted(workspace.archive_dir.rglob("*_2022-07-31.csv")):
        (landing / path.name).write_bytes(path.read_bytes())
    before = _grades_by_quarter(marts)

    marts = run_job()

    assert _grades_by_quarter(marts) == before
    statuses = marts("SELECT status, count(*) FROM ops.load_log GROUP BY 1 ORDER BY 1")
    assert statuses == [("loaded", 6), ("skipped_duplicate", 3)]
    assert marts("SELECT count(*) FROM marts.fct_audit WHERE audit_id = 'A5' AND NOT is_counted") == [(1,)]


@ON_THE_SMALL_COUNCILS_NIGHTS
def test_a_reader_holding_the_warehouse_does_not_stop_the_nightly_build(first_night, second_night):
    # The first night published A1; an analyst opened its warehouse and held it open while the
    # second night's job loaded B1 and published (see `second_night`).
    assert first_night.exit_code == 0, first_night.output

    assert second_night.exit_code == 0, second_night.output
    assert second_night.analyst_sees == (1,)
    assert second_night.marts("SELECT count(*) FROM marts.fct_audit") == [(2,)]


@ON_THE_SMALL_COUNCILS_NIGHTS
def test_a_failing_blocking_test_stops_publishing_and_keeps_the_last_good_warehouse(first_night, hand_edited_night, monkeypatch):
    import hashlib

    import dagster as dg

    from tests.conftest import dagster_environment

    # `first_night` published A1; then a row was written into raw behind ingestion's back, with a
    # grade the contract does not know, and the nightly job ran again (see `hand_edited_night`).
    assert first_night.exit_code == 0, first_night.output
    for name, value in dagster_environment(hand_edited_night.dagster_storage).items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        run, _first_nights_run = instance.get_runs()  # newest first
        events = [record.dagster_event for record in instance.all_logs(run.run_id) if record.dagster_event is not None]

    assert hand_edited_night.exit_code == 1 and run.status == dg.DagsterRunStatus.FAILURE
    assert {event.step_key for event in events if event.is_step_failure} == {"warehouse_dbt_models"}
    failed_checks = {
        event.asset_check_evaluation_data.check_name
        for event in events
        if event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.asset_check_evaluation_data.passed
    }
    assert "stg_audit_extract__audit_subsection_grades_rows_are_sound" in failed_checks
    assert hashlib.sha256(hand_edited_night.paths.warehouse.read_bytes()).hexdigest() == hand_edited_night.published_before
