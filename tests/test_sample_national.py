"""The national-scale sample (`cfa sample DIR --councils N --years Y`) and the benchmark's floor:
the sample is deterministic, has the stated shape, loads with no rejections, and the floor
script (bench/floor.sql) gives the warehouse's figures for the same drop."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.sample.national import LA_CODES, drop_shape, write_national_sample
from orchestration.settings import REPO_ROOT

FLOOR_SQL = REPO_ROOT / "bench" / "floor.sql"
FLOOR_MARTS = ["mart_quarterly_summary", "mart_audit_grades_by_quarter", "mart_subsection_grades_year_to_date"]


def _query(paths: list[Path], sql: str) -> list[tuple]:
    """Run sql over the drop's CSV files, each a view named after its entity."""
    with duckdb.connect() as connection:
        for path in paths:
            entity = path.stem.rsplit("_", 1)[0]
            connection.execute(f"CREATE VIEW {entity} AS SELECT * FROM read_csv('{path}', all_varchar = true, normalize_names = true)")
        return connection.execute(sql).fetchall()


def test_the_national_sample_is_deterministic_and_has_the_stated_shape(tmp_path):
    paths = write_national_sample(tmp_path / "first", councils=2, years=1)
    again = write_national_sample(tmp_path / "again", councils=2, years=1)
    assert [path.read_bytes() for path in paths] == [path.read_bytes() for path in again]

    shape = drop_shape(paths)
    assert (shape.councils, shape.months) == (2, 12)
    assert {"audits", "audit_activities", "audit_subsection_grades", "audit_actions", "practice_developments"} == set(shape.rows)
    assert _query(paths, "SELECT DISTINCT la_code FROM audits ORDER BY 1") == [(code,) for code in sorted(LA_CODES[:2])]
    # About 20 completed case file audits a council a month (15 to 25).
    [(fewest, most)] = _query(paths, """
        SELECT min(audits), max(audits) FROM (
            SELECT la_code, split_part(audit_id, '-', 3), count(*) AS audits FROM audits
            WHERE audit_type = 'case_file' AND status = 'completed' GROUP BY ALL)
    """)
    assert 15 <= fewest and most <= 25
    # Each completed case file audit is whole: 3 activities, 7 grades from the auditor and 7 from moderation.
    assert _query(paths, """
        SELECT DISTINCT count(DISTINCT activities.activity_id), count(grades.activity_id)
        FROM audits
        JOIN audit_activities AS activities ON activities.audit_id = audits.audit_id
        LEFT JOIN audit_subsection_grades AS grades ON grades.activity_id = activities.activity_id
        WHERE audits.audit_type = 'case_file' AND audits.status = 'completed'
        GROUP BY audits.audit_id
    """) == [(3, 14)]
    [(targeted_audits, children)] = _query(
        paths, "SELECT count(DISTINCT targeted_audit_id), count(*) FROM audits WHERE audit_type = 'targeted'"
    )
    assert targeted_audits > 0 and children >= 10 * targeted_audits
    assert shape.rows["audit_actions"] > 0 and shape.rows["practice_developments"] >= 24
    # Identifiers are unique across councils: v1 links records to their audit by audit_id alone.
    assert _query(paths, "SELECT count(*) = count(DISTINCT audit_id) FROM audits") == [(True,)]
    assert _query(paths, "SELECT count(*) = count(DISTINCT activity_id) FROM audit_activities") == [(True,)]


def test_the_national_sample_loads_with_no_rejections(workspace, ingest):
    for path in write_national_sample(workspace.landing_dir.parent / "drop", councils=2, years=1):
        shutil.copy(path, workspace.landing_dir)
    result = ingest()
    assert result.rejections() == []
    assert {entry["status"] for entry in result.load_log()} == {"loaded"}
    assert all(entry["rows_read"] == entry["rows_loaded"] > 0 for entry in result.load_log())


@pytest.mark.job_runs(1)
def test_the_floor_script_gives_the_warehouse_figures_for_the_same_drop(workspace, run_job, tmp_path):
    drop = tmp_path / "drop"
    for path in write_national_sample(drop, councils=1, years=2):
        shutil.copy(path, workspace.landing_dir)
    marts = run_job()

    with duckdb.connect() as floor:
        floor.execute("SET VARIABLE drop_dir = ?", [str(drop)])
        floor.execute(FLOOR_SQL.read_text())
        for mart in FLOOR_MARTS:
            columns = [row[0] for row in floor.execute(f"DESCRIBE {mart}").fetchall()]
            select = f"SELECT {', '.join(columns)} FROM {{}} ORDER BY ALL"
            expected = marts(select.format(f"marts.{mart}"))
            assert expected, mart
            assert floor.execute(select.format(mart)).fetchall() == expected, mart


def test_cfa_sample_writes_the_national_sample_given_councils_and_years(tmp_path, capsys):
    from orchestration import cli

    assert cli.main(["sample", str(tmp_path / "national"), "--councils", "1", "--years", "1"]) == 0
    written = [Path(line) for line in capsys.readouterr().out.split()]
    expected = write_national_sample(tmp_path / "direct", councils=1, years=1)
    assert [path.name for path in written] == [path.name for path in expected]
    assert [path.read_bytes() for path in written] == [path.read_bytes() for path in expected]
    assert cli.main(["sample", str(tmp_path / "too_many"), "--councils", str(len(LA_CODES) + 1)]) == 2
