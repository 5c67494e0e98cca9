"""The bundled sample through `cfa run` (the nightly Dagster job), and every figure of the seed
report read back from the published marts, as an analyst would query them."""

from __future__ import annotations

from fractions import Fraction

import duckdb
import pytest

from orchestration.contract import load_contract

SIX_AREAS = [
    "voice_of_child", "quality_of_plans", "management_oversight", "partnership_working",
    "strengths_based_practice", "embracing_diversity",
]


def test_the_run_succeeds_and_summarises_what_it_did(sample_run):
    assert sample_run.exit_code == 0, sample_run.output
    assert "files loaded:             5" in sample_run.output
    assert "files rejected:           0" in sample_run.output
    assert "rows rejected:            0" in sample_run.output
    assert f"error report:             {sample_run.paths.error_report}" in sample_run.output
    assert sample_run.paths.warehouse.exists()


def test_the_cli_run_is_recorded_in_the_project_instance_for_the_ui(sample_run, monkeypatch):
    import dagster as dg

    from tests.conftest import dagster_environment

    for name, value in dagster_environment(sample_run.dagster_storage).items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs()
        assert run.job_name == "nightly_warehouse"
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["cfa/trigger"] == "cli"
        assert run.run_id in sample_run.output


def test_the_sample_drop_is_deterministic(sample_run, tmp_path):
    from orchestration.sample.generator import write_sample

    again = write_sample(tmp_path)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in sample_run.sample_files]
    assert {p.suffix for p in again} == {".csv", ".xlsx"}


def test_every_sample_row_loads_and_nothing_completes_after_july_2022(sample_run):
    [(rows_read, rows_loaded, rows_rejected)] = sample_run.marts(
        "SELECT sum(rows_read), sum(rows_loaded), sum(rows_rejected) FROM ops.load_log"
    )
    assert rows_read == rows_loaded > 5000 and rows_rejected == 0
    assert sample_run.marts("SELECT max(audit_completed_date) FROM marts.fct_audit")[0][0].isoformat() <= "2022-07-31"
    assert sample_run.marts("SELECT count(*) FROM marts.mart_audits_held_back") == [(0,)]


def test_22_case_file_audits_in_june_and_july_2022_with_66_pieces_of_activity(sample_run):
    rows = sample_run.marts(
        "SELECT quarter_label, case_file_audits_completed, audit_activities FROM marts.mart_quarterly_summary"
        " WHERE fiscal_year = '2022-23' ORDER BY quarter_label"
    )
    assert sum(r[1] for r in rows) == 22
    assert sum(r[2] for r in rows) == 66
    months = sample_run.marts(
        "SELECT DISTINCT extract(month FROM audit_completed_date) FROM marts.fct_audit"
        " WHERE is_counted AND fiscal_year = '2022-23' ORDER BY 1"
    )
    assert months == [(6,), (7,)]  # none in April or May: targeted audits instead


def test_final_grades_9_good_12_requires_improvement_1_inadequate(sample_run):
    rows = dict(
        sample_run.marts(
            "SELECT grade_label, sum(audit_count) FROM marts.mart_audit_grades_by_quarter"
            " WHERE fiscal_year = '2022-23' GROUP BY grade_label"
        )
    )
    assert rows == {"Outstanding": 0, "Good": 9, "Requires Improvement": 12, "Inadequate": 1}


def test_good_share_is_9_of_22_and_good_or_ri_21_of_22_not_the_rounded_96_percent(sample_run):
    [(good, good_or_ri, audits)] = sample_run.marts(
        "SELECT year_to_date_share, "
        "       (SELECT sum(year_to_date_share) FROM marts.mart_overall_grades_year_to_date y"
        "        WHERE y.fiscal_year = '2022-23' AND y.grade_label IN ('Good', 'Requires Improvement')),"
        "       year_to_date_audits"
        " FROM marts.mart_overall_grades_year_to_date WHERE fiscal_year = '2022-23' AND grade_label = 'Good'"
    )
    assert audits == 22
    assert good == pytest.approx(9 / 22, abs=1e-12)
    assert good_or_ri == pytest.approx(21 / 22, abs=1e-12)
    assert round(good_or_ri * 100, 1) == 95.5
    assert round(good * 100) == 41


def test_quarterly_shares_are_exact_for_each_quarter(sample_run):
    for quarter, completed, good_or_better, good_or_ri, inadequate in sample_run.marts(
        "SELECT quarter_label, case_file_audits_completed, good_or_better_share, good_or_requires_improvement_share,"
        " inadequate_count FROM marts.mart_quarterly_summary WHERE case_file_audits_completed > 0"
    ):
        grades = dict(
            sample_run.marts(
                "SELECT grade_label, audit_count FROM marts.mart_audit_grades_by_quarter WHERE quarter_label = ?", [quarter]
            )
        )
        assert sum(grades.values()) == completed
        assert good_or_better == pytest.approx((grades["Outstanding"] + grades["Good"]) / completed)
        assert good_or_ri == pytest.approx((grades["Good"] + grades["Requires Improvement"]) / completed)
        assert inadequate == grades["Inadequate"]


def test_14_targeted_audits_covering_258_children_in_2022_23_q1(sample_run):
    assert sample_run.marts(
        "SELECT targeted_audits, targeted_audit_children FROM marts.mart_quarterly_summary WHERE quarter_label = '2022-23 Q1'"
    ) == [(14, 258)]
    assert sample_run.marts(
        "SELECT sum(targeted_audits) FROM marts.mart_quarterly_summary WHERE quarter_label <> '2022-23 Q1'"
    ) == [(0,)]


def test_against_2021_22_good_is_up_and_requires_improvement_down_by_a_small_margin(sample_run):
    rows = {
        label: (share, previous, change)
        for label, share, previous, change in sample_run.marts(
            "SELECT grade_label, year_to_date_share, previous_year_share, change_percentage_points"
            " FROM marts.mart_overall_grades_year_to_date WHERE fiscal_year = '2022-23'"
        )
    }
    good, ri = rows["Good"], rows["Requires Improvement"]
    assert 0 < good[2] < 5 and good[0] > good[1]
    assert -5 < ri[2] < 0 and ri[0] < ri[1]
    assert good[2] == pytest.approx(100 * (good[0] - good[1]))
    monthly = sample_run.marts(
        "SELECT count(*) FROM marts.fct_audit WHERE is_counted AND fiscal_year = '2021-22'"
        " GROUP BY extract(month FROM audit_completed_date)"
    )
    assert len(monthly) == 12 and all(15 <= n <= 25 for (n,) in monthly)


@pytest.mark.parametrize("good_or_better", [False, True], ids=["good-alone", "good-or-outstanding"])
def test_good_rises_in_six_practice_areas_and_not_in_assessment_and_analysis(sample_run, good_or_better):
    grade_filter = "grade_code <= 2" if good_or_better else "grade_code = 2"
    rows = dict(
        (area, (Fraction(ytd).limit_denominator(1000), Fraction(q4).limit_denominator(1000), label))
        for area, ytd, q4, label in sample_run.marts(
            f"SELECT practice_area_code, sum(year_to_date_share), sum(comparison_quarter_share), any_value(comparison_quarter_label)"
            f" FROM marts.mart_subsection_grades_year_to_date WHERE fiscal_year = '2022-23' AND {grade_filter}"
            f" GROUP BY practice_area_code"
        )
    )
    assert {label for _, _, label in rows.values()} == {"2021-22 Q4"}
    for area in SIX_AREAS:
        assert rows[area][0] > rows[area][1], area
    assert rows["assessment_analysis"][0] <= rows["assessment_analysis"][1]


def test_practice_area_grades_are_the_moderated_ones(sample_run):
    [(changed, total)] = sample_run.marts(
        "SELECT count(*) FILTER (WHERE grade_changed_at_moderation), count(*) FROM marts.fct_subsection_grade WHERE is_counted"
    )
    assert total == 22 * 7 + 236 * 7
    assert 0 < changed < total
    mismatched = sample_run.marts(
        "SELECT count(*) FROM marts.fct_subsection_grade g"
        " JOIN marts.fct_audit_activity a ON a.audit_id = g.audit_id AND a.is_final_grading"
        " WHERE a.activity_type <> 'moderation'"
    )
    assert mismatched == [(0,)]


def test_actions_and_practice_developments_are_in_the_marts(sample_run):
    [(open_overdue, completed, cancelled)] = sample_run.marts(
        "SELECT count(*) FILTER (WHERE is_overdue), count(*) FILTER (WHERE action_status = 'completed'),"
        " count(*) FILTER (WHERE action_status = 'cancelled') FROM marts.fct_audit_action"
    )
    assert open_overdue > 0 and completed > 0 and cancelled > 0
    developments = dict(
        sample_run.marts("SELECT development_category, count(*) FROM marts.fct_practice_development GROUP BY 1")
    )
    assert developments == {"newsletter": 3, "briefing": 5, "presentation": 1, "practice_guidance": 6, "system_change": 5}
    assert sample_run.marts(
        "SELECT published_date::VARCHAR FROM marts.fct_practice_development WHERE development_category = 'presentation'"
    ) == [("2022-07-14",)]


def test_in_progress_and_cancelled_audits_never_count(sample_run):
    rows = dict(
        sample_run.marts("SELECT audit_status, count(*) FILTER (WHERE is_counted) FROM marts.fct_audit GROUP BY 1")
    )
    assert rows["in_progress"] == 0 and rows["cancelled"] == 0 and rows["completed"] == 236 + 22


def test_no_raw_child_id_anywhere_in_the_published_warehouse(sample_run):
    from orchestration.sample.generator import build_sample

    raw_ids = {audit["child_id"] for audit in build_sample().audits}
    with duckdb.connect(str(sample_run.paths.warehouse), read_only=True) as connection:
        columns = connection.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
        ).fetchall()
        for schema, table, column in columns:
            values = {v for (v,) in connection.execute(f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}"').fetchall()}
            assert not values & raw_ids, f"{schema}.{table}.{column} holds a child id"


def test_marts_have_every_column_documented_and_contracts_enforced():
    import json

    from orchestration.defs.resources import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text())
    marts = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"]
    assert len(marts) >= 15
    for node in marts:
        assert node["description"], node["name"]
        assert node["columns"] and all(c["description"] for c in node["columns"].values()), node["name"]
        if node["name"].startswith("mart_") and node["name"] != "mart_audits_held_back":
            assert node["config"]["contract"]["enforced"], node["name"]


def test_the_reference_data_is_the_contracts(sample_run):
    contract = load_contract()
    assert sample_run.marts("SELECT grade_code, grade_label FROM marts.dim_grade ORDER BY 1") == [
        (int(v.code), v.label) for v in contract.categories["grade"].values
    ]
    assert [r[0] for r in sample_run.marts("SELECT practice_area_code FROM marts.dim_practice_area ORDER BY sort_order")] == [
        v.code for v in contract.categories["practice_area"].values
    ]


def test_quarters_run_april_to_june_through_january_to_march(sample_run):
    rows = sample_run.marts(
        "SELECT quarter_label, fiscal_year, fiscal_quarter, quarter_start_date::VARCHAR, quarter_end_date::VARCHAR"
        " FROM marts.dim_quarter WHERE fiscal_year = '2022-23' ORDER BY fiscal_quarter"
    )
    assert rows == [
        ("2022-23 Q1", "2022-23", 1, "2022-04-01", "2022-06-30"),
        ("2022-23 Q2", "2022-23", 2, "2022-07-01", "2022-09-30"),
        ("2022-23 Q3", "2022-23", 3, "2022-10-01", "2022-12-31"),
        ("2022-23 Q4", "2022-23", 4, "2023-01-01", "2023-03-31"),
    ]
    assert sample_run.marts("SELECT count(*), count(DISTINCT quarter_label) FROM marts.dim_quarter") == [(200, 200)]


def test_actions_raised_and_completed_match_the_drop_quarter_by_quarter(sample_run):
    from collections import Counter

    from orchestration.sample.generator import build_sample

    def quarter(day) -> str:
        start = day.year if day.month >= 4 else day.year - 1
        return f"{start}-{(start + 1) % 100:02d} Q{((day.month - 4) % 12) // 3 + 1}"

    actions = build_sample().actions
    raised = Counter(quarter(a["raised_date"]) for a in actions if a["status"] != "cancelled")
    completed = Counter(quarter(a["completed_date"]) for a in actions if a["status"] == "completed")
    rows = sample_run.marts("SELECT quarter_label, actions_raised, actions_completed FROM marts.mart_quarterly_summary")
    assert {q: r for q, r, _ in rows if r} == dict(raised)
    assert {q: c for q, _, c in rows if c} == dict(completed)
