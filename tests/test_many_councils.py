"""Many councils in one warehouse (issue 11): contract v2, council landing folders, the LA seed,
regional benchmarking, and the child's characteristics degraded at the door.

One `cfa run` (once per session, `built_once`) loads a hub's landing folder: council 885's v1
files in `885/`, council 886's v2 files in `886/` with the same audit and activity ids, a folder
named by no council, and, flat, a v2 national drop of councils 330 and 331 (West Midlands, as
885 is).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.contract import load_contract
from orchestration.ingest.readers import read_file
from orchestration.sample.national import write_drop, write_national_sample
from orchestration.settings import WarehousePaths, warehouse_paths
from tests.conftest import (
    ACTION_HEADER, ACTIVITY_HEADER, AUDIT_HEADER, GRADE_HEADER, audit_row, built_once, cli_environment_restored, run_cli,
    whole_audit, write_csv, write_drop as write_v1_drop,
)

CHILD_HEADER = ["date_of_birth", "sex", "ethnicity", "disability", "child_status"]
# The 886 audits' children (audit_start_date 2022-06-01): date of birth, sex, ethnicity (a DfE
# code or its label), disability, status. Each date of birth is searched for everywhere after the run.
CHILDREN_886 = {
    "A-00123": ["17/03/2011", "F", "MWBC", "No", "CLA"],  # 11 at the audit: 10 to 15, Mixed
    "A-00124": ["2021-09-29", "Male", "WBRI", "Yes", "CP"],  # 0: under 1, White
    "A-00125": ["02/11/2005", "2", "Black African", "N", "Care leaver"],  # 16: 16 and over, Black
}
BAD_BIRTH_DATES = {"A-00126": "31/02/2010", "A-00127": "2023-01-15"}  # no such day; after the audit
BIRTH_DATES = ["2011-03-17", "17/03/2011", "2021-09-29", "29/09/2021", "2005-11-02", "02/11/2005", "31/02/2010", "2023-01-15", "15/01/2023"]
NATIONAL_COUNCILS = ("330", "331")
# The tests of the hub's run go to one pytest-xdist worker, one after another: the other worker
# never waits for the run, and takes the rest of the suite meanwhile.
ON_THE_HUB_RUN = pytest.mark.xdist_group("hub_run")


@dataclass
class HubRun:
    root: Path
    paths: WarehousePaths
    exit_code: int
    output: str
    national_birth_dates: list[str]

    def marts(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.paths.warehouse), read_only=True) as connection:
            return connection.execute(sql, params or []).fetchall()

    def build(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.paths.build_database), read_only=True) as connection:
            return connection.execute(sql, params or []).fetchall()


def _with_council(header: list[str], rows: list[list[object]], la_code: str, after: str) -> tuple[list[str], list[list[object]]]:
    """A v1 header and rows with a la_code column added after `after`: the v2 form."""
    at = header.index(after) + 1
    return header[:at] + ["la_code"] + header[at:], [row[:at] + [la_code] + row[at:] for row in rows]


def _council_886(folder: Path) -> None:
    """Council 886's v2 drop: the same audit and activity ids as 885's, the child's
    characteristics, and three audits the door rejects."""
    audits = [whole_audit("A-00123", "Requires Improvement"), whole_audit("A-00124", "Good"), whole_audit("A-00125", "Good")]
    audit_rows = [audit_row(audit_id, la_code="886") + child for audit_id, child in CHILDREN_886.items()]
    audit_rows += [audit_row(audit_id, la_code="886") + [born, "F", "WBRI", "No", "CIN"] for audit_id, born in BAD_BIRTH_DATES.items()]
    audit_rows.append(audit_row("A-00128", la_code="885") + ["01/01/2015", "M", "WBRI", "No", "CIN"])  # another council's row
    write_csv(folder, "audits_2022-06-30.csv", AUDIT_HEADER + CHILD_HEADER, audit_rows)
    header, rows = _with_council(ACTIVITY_HEADER, [row for audit in audits for row in audit["audit_activities"]], "886", "activity_id")
    write_csv(folder, "audit_activities_2022-06-30.csv", header, rows)
    header, rows = _with_council(GRADE_HEADER, [row for audit in audits for row in audit["audit_subsection_grades"]], "886", "activity_id")
    write_csv(folder, "audit_subsection_grades_2022-06-30.csv", header, rows)
    header, rows = _with_council(ACTION_HEADER, [["ACN-1", "A-00123", "Quality of Plans", "2022-06-20", "2022-07-20", "2022-06-28", "completed"]], "886", "action_id")
    write_csv(folder, "audit_actions_2022-06-30.csv", header, rows)


def _hub_landing_run(root: Path) -> dict:
    landing = root / "landing"
    (landing / "885").mkdir(parents=True)
    (landing / "886").mkdir()
    (landing / "Kent").mkdir()
    # Council 885: the contract's v1 files, as its case system has always sent them.
    write_v1_drop(landing / "885", "2022-06-30", whole_audit("A-00123", "Good"), whole_audit("A-00124", "Inadequate"))
    write_csv(landing / "885", "audit_actions_2022-06-30.csv", ACTION_HEADER, [
        ["ACN-1", "A-00123", "Quality of Plans", "2022-06-20", "2022-07-20", "2022-06-28", "completed"],
        ["ACN-2", "A-00124", "", "2022-06-20", "2022-09-20", "", "open"],
    ])
    _council_886(landing / "886")
    write_csv(landing / "Kent", "audits_2022-06-30.csv", AUDIT_HEADER, [audit_row("K-1", la_code="886")])
    # Councils 330 and 331: a flat v2 drop of April to June 2022, characteristics and all.
    drop = root / "drop"
    for path in write_drop(drop, NATIONAL_COUNCILS, [(2022, 4), (2022, 5), (2022, 6)], dt.date(2022, 7, 5), seed=330):
        shutil.copy(path, landing / path.name)
    with (drop / "audits_2022-07-05.csv").open(newline="") as handle:
        born = [dt.datetime.strptime(row["date_of_birth"], "%d/%m/%Y").date() for row in csv.DictReader(handle)]
    # Those the warehouse cannot hold for any other reason: before its data (from 2022), and not
    # the first or last day of a month (dim_quarter's calendar holds those).
    national = sorted({
        text for day in born if day < dt.date(2021, 1, 1) and 1 < day.day < 28
        for text in (day.strftime("%d/%m/%Y"), day.isoformat())
    })
    warehouse = root / "warehouse" / "cfa.duckdb"
    with cli_environment_restored():
        code, output = run_cli(["run", "--landing", str(landing), "--warehouse", str(warehouse)], root / "dagster")
    return {"exit_code": code, "output": output, "national_birth_dates": national}


@pytest.fixture(scope="session")
def hub_run(tmp_path_factory: pytest.TempPathFactory) -> HubRun:
    """One hub's run, read by every test here whichever pytest-xdist worker runs it."""
    root, built = built_once(tmp_path_factory, "hub_run", _hub_landing_run)
    paths = warehouse_paths(root / "landing", root / "warehouse" / "cfa.duckdb")
    return HubRun(root, paths, built["exit_code"], built["output"], built["national_birth_dates"])


@ON_THE_HUB_RUN
def test_two_councils_with_the_same_audit_ids_load_side_by_side_with_their_own_figures(hub_run):
    assert hub_run.exit_code == 0, hub_run.output
    assert hub_run.marts(
        "SELECT la_code, audit_id, final_overall_grade_code FROM marts.fct_audit WHERE la_code IN ('885', '886') ORDER BY 1, 2"
    ) == [("885", "A-00123", 2), ("885", "A-00124", 4), ("886", "A-00123", 3), ("886", "A-00124", 2), ("886", "A-00125", 2)]
    assert hub_run.marts(
        "SELECT la_code, count(*), count(DISTINCT activity_id) FROM marts.fct_audit_activity WHERE la_code IN ('885', '886') GROUP BY 1 ORDER BY 1"
    ) == [("885", 6, 6), ("886", 9, 9)]
    assert hub_run.marts(
        "SELECT la_code, case_file_audits_completed, audit_activities, good_or_better_share, inadequate_count, actions_raised, actions_completed"
        " FROM marts.mart_quarterly_summary WHERE quarter_label = '2022-23 Q1' AND la_code IN ('885', '886') ORDER BY 1"
    ) == [("885", 2, 6, 0.5, 1, 2, 1), ("886", 3, 9, 2 / 3, 0, 1, 1)]
    assert hub_run.marts("SELECT count(*) FROM marts.mart_audits_held_back") == [(0,)]
    # Each file's version and council are on record: 885's v1 files took their folder's la_code.
    versions = hub_run.build(
        "SELECT DISTINCT coalesce(council_folder, 'flat'), contract_version FROM ops.load_log WHERE status = 'loaded' ORDER BY 1"
    )
    # (The flat practice developments file is v1 and v2 alike: it has no field new in v2.)
    assert versions == [("885", 1), ("886", 2), ("flat", 1), ("flat", 2)]
    assert hub_run.build("SELECT DISTINCT la_code FROM raw.audit_activities WHERE file_name LIKE '885/%'") == [("885",)]


@ON_THE_HUB_RUN
def test_each_councils_figures_are_as_at_its_own_newest_extract(hub_run):
    """885 and 886 delivered extracts of 30 June, 330 and 331 one of 5 July: a council is dated
    by its own deliveries, in every mart and in ops.build_info, so a later month of one council
    moves no other council's figures (nor, with them, its executive summary: issue 8, point 5)."""
    own_dates = [("330", dt.date(2022, 7, 5)), ("331", dt.date(2022, 7, 5)), ("885", dt.date(2022, 6, 30)), ("886", dt.date(2022, 6, 30))]
    assert hub_run.marts("SELECT la_code, figures_as_at FROM ops.build_info ORDER BY 1") == own_dates
    marts = [name for (name,) in hub_run.marts(
        "SELECT table_name FROM duckdb_columns() WHERE schema_name = 'marts' AND column_name = 'figures_as_at' ORDER BY 1")]
    assert "mart_summary_year_to_date_by_quarter" in marts and "mart_benchmark_by_quarter" in marts
    for mart in marts:
        dates = hub_run.marts(f"SELECT DISTINCT la_code, figures_as_at FROM marts.{mart} ORDER BY 1")
        assert set(dates) <= set(own_dates) and len(dates) == len({code for code, _ in dates}), (mart, dates)
    # The quarter still running is counted at the council's own date: 885's actions as at 30 June.
    assert hub_run.marts(
        "SELECT la_code, actions_as_at FROM marts.mart_summary_year_to_date_by_quarter WHERE quarter_label = '2022-23 Q2' ORDER BY 1"
    ) == [("330", dt.date(2022, 7, 5)), ("331", dt.date(2022, 7, 5))]
    assert hub_run.marts(
        "SELECT DISTINCT la_code, actions_as_at FROM marts.mart_summary_year_to_date_by_quarter WHERE quarter_label = '2022-23 Q1' ORDER BY 1"
    ) == [(code, dt.date(2022, 6, 30)) for code in ("330", "331", "885", "886")]


@ON_THE_HUB_RUN
def test_a_quality_gate_reads_its_batch_in_frames_of_whole_councils(hub_run):
    """A national batch is validated a slice of councils at a time (the build's peak of memory
    was the equality mart's batch held whole): every row once, no council split across frames,
    and the same rows as the batch read whole."""
    from orchestration.quality.mart_gates import EXPECTATIONS_DIR, batch_frame, batch_frames
    from orchestration.warehouse_db import connect_build_database

    batch_sql = (EXPECTATIONS_DIR / "marts__mart_equality_grades_year_to_date.sql").read_text(encoding="utf-8")
    with connect_build_database(hub_run.paths.build_database, read_only=True) as connection:
        whole = batch_frame(connection, batch_sql)
        one_frame = list(batch_frames(connection, batch_sql, most_rows=len(whole)))
        frames = list(batch_frames(connection, batch_sql, most_rows=1))
    assert len(one_frame) == 1 and len(one_frame[0]) == len(whole) > 0
    councils = [sorted(set(frame["la_code"].dropna())) for frame in frames]
    assert councils == [["330"], ["331"], ["885"], ["886"]]
    assert sum(len(frame) for frame in frames) == len(whole)
    key = ["la_code", "fiscal_year", "characteristic", "value_code", "grading_code", "grade_code", "audit_count"]
    rows = sorted(map(tuple, pd.concat(frames)[key].astype(str).to_numpy().tolist()))
    assert rows == sorted(map(tuple, whole[key].astype(str).to_numpy().tolist()))


@ON_THE_HUB_RUN
def test_a_quality_gate_validates_again_only_the_councils_whose_rows_changed(hub_run, tmp_path):
    """A council's rows identical to rows that passed the same suite are not validated again (a
    night that brings one council's month validates that council's): the hub's run passed all
    four councils, one council's altered row is validated and fails, and a failure records no pass."""
    from orchestration.quality.mart_gates import EXPECTATIONS_DIR, PASSED_LEDGER, batch_frame, run_mart_gates
    from orchestration.warehouse_db import connect_build_database

    folder = tmp_path / "warehouse"
    shutil.copytree(hub_run.paths.warehouse.parent, folder, symlinks=True)
    warehouse = folder / hub_run.paths.warehouse.name
    build = folder / ".build" / warehouse.name
    mart = "mart_equality_grades_year_to_date"

    def equality_gate(run_id: str):
        results, _ = run_mart_gates(build, warehouse, run_id, marts=[mart, "mart_quarterly_summary"])
        return {result.mart: result for result in results}[mart], results

    gate, results = equality_gate("unchanged")
    assert [result.mart for result in results] == [mart, "mart_quarterly_summary"]
    assert all(result.passed for result in results)
    assert all(result.rows_validated == 0 for result in results)
    assert gate.rows > 0 and gate.councils_unchanged == 4

    with duckdb.connect(str(build)) as connection:
        connection.execute(
            f"UPDATE marts.{mart} SET audit_count = audit_count + 1"
            f" WHERE rowid = (SELECT min(rowid) FROM marts.{mart} WHERE la_code = '886' AND audit_count > 0)"
        )
    with connect_build_database(build, read_only=True) as connection:
        batch = batch_frame(connection, (EXPECTATIONS_DIR / f"marts__{mart}.sql").read_text(encoding="utf-8"))
    rows_886 = int((batch["la_code"] == "886").sum())
    for run_id in ("altered", "altered again"):
        gate, results = equality_gate(run_id)
        assert not gate.passed and "audit_count" in str(gate.failures[0])
        assert (gate.rows_validated, gate.councils_unchanged) == (rows_886, 3)
        assert all(result.passed and result.rows_validated == 0 for result in results if result.mart != mart)

    # An unreadable record of passes: every council's rows are validated.
    (build.parent / PASSED_LEDGER).write_text("{not json", encoding="utf-8")
    gate, _ = equality_gate("no record")
    assert not gate.passed and (gate.rows_validated, gate.councils_unchanged) == (gate.rows, 0)


def test_councils_are_left_out_of_a_gate_only_where_each_is_decided_by_its_own_rows():
    """Skipping a council whose rows passed before is sound only for expectations decided row by
    row or by a key with la_code, and only while what decides them is the same: a suite with any
    other expectation validates every council, and a renamed or retyped column is a new version."""
    import copy
    import json

    from orchestration.quality.mart_gates import decided_council_by_council, suite_paths, suite_version

    documents = {path: json.loads(path.read_text(encoding="utf-8")) for path in suite_paths()}
    assert all(decided_council_by_council(document) for document in documents.values())

    path, document = next((path, document) for path, document in documents.items() if "equality" in path.name)
    unique = next(e for e in document["expectations"] if e["type"] == "expect_compound_columns_to_be_unique")
    for change in (
        lambda suite: suite["expectations"][0]["kwargs"].update(mostly=0.95),
        lambda suite: suite["expectations"].append({"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}),
        lambda suite: next(e for e in suite["expectations"] if e == unique)["kwargs"].update(
            column_list=[column for column in unique["kwargs"]["column_list"] if column != "la_code"]),
    ):
        changed = copy.deepcopy(document)
        change(changed)
        assert not decided_council_by_council(changed)

    columns = [("la_code", "VARCHAR"), ("audit_count", "BIGINT")]
    versions = {
        suite_version(path, "select 1", described, {"grades": ["1 Outstanding"]})
        for described in (columns, [("la_code", "VARCHAR"), ("audits", "BIGINT")], [("la_code", "VARCHAR"), ("audit_count", "DOUBLE")])
    }
    assert len(versions) == 3


@ON_THE_HUB_RUN
def test_the_door_rejects_another_councils_row_and_names_every_file_it_will_not_read(hub_run):
    rejections = hub_run.build(
        "SELECT file_name, row_number, field, value, reason FROM ops.rejected_rows ORDER BY file_name, row_number"
    )
    assert rejections == [
        ("886/audits_2022-06-30.csv", 5, "date_of_birth", None, "date_of_birth is not a date: there is no such day (the value is not kept)"),
        ("886/audits_2022-06-30.csv", 6, "date_of_birth", None,
         "date_of_birth is after audit_start_date: the child has no age at the audit (the value is not kept)"),
        ("886/audits_2022-06-30.csv", 7, "la_code", "885",
         "'885' is not this folder's council: a file in the landing folder's 886/ subfolder holds council 886's records only"),
    ]
    [(status, reason)] = hub_run.build("SELECT status, reason FROM ops.load_log WHERE file_name = 'Kent/audits_2022-06-30.csv'")
    assert status == "rejected_file" and "subfolder 'Kent' is not named by a council's code" in reason
    assert "Kent/audits_2022-06-30.csv" in hub_run.output
    assert (hub_run.paths.archive_dir / dt.date.today().isoformat() / "886" / "audits_2022-06-30.csv").is_file()


@ON_THE_HUB_RUN
def test_the_date_of_birth_is_nowhere_in_any_table_or_any_file_the_warehouse_wrote(hub_run):
    dates = BIRTH_DATES + hub_run.national_birth_dates
    assert len(hub_run.national_birth_dates) > 100
    # Degraded at the door: raw holds the age band and the ethnic group, not the date or the code.
    raw_columns = {row[0] for row in hub_run.build("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = 'audits'")}
    assert {"child_age_band", "ethnic_group"} <= raw_columns and not {"date_of_birth", "ethnicity"} & raw_columns
    pattern = "|".join(re.escape(day) for day in dates)
    for database in (hub_run.paths.build_database, hub_run.paths.warehouse):
        with duckdb.connect(str(database), read_only=True) as connection:
            # Every table (a view holds nothing of its own: it reads these).
            relations = connection.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
            ).fetchall()
            assert len(relations) > 20
            for schema, table in relations:
                found = connection.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" AS r WHERE regexp_matches(CAST(r AS VARCHAR), ?)', [pattern]
                ).fetchone()[0]
                assert found == 0, f"a date of birth in {database.name} {schema}.{table}"
    # Every file the run wrote (the warehouse, build, reports, Dagster's logs), and what it printed;
    # not the archive, which keeps the extracts as delivered.
    written = [path for folder in ("warehouse", "dagster") for path in (hub_run.root / folder).rglob("*") if path.is_file()]
    assert any(path.name == "error_report.csv" for path in written) and any(path.suffix == ".duckdb" for path in written)
    needles = [day.encode() for day in dates]
    for path in written:
        content = path.read_bytes()
        assert not any(needle in content for needle in needles), f"a date of birth in {path}"
    assert not any(day in hub_run.output for day in dates)


@ON_THE_HUB_RUN
def test_every_regional_figure_is_the_sum_of_its_councils(hub_run):
    for mart, period in (("mart_benchmark_by_quarter", "quarter_label"), ("mart_benchmark_year_to_date", "fiscal_year")):
        rows = hub_run.marts(
            f"SELECT la_code, region_name, {period}, measure_code, coalesce(practice_area_code, ''), council_count, council_base,"
            f" region_count, region_base, region_councils, england_count, england_base, england_councils FROM marts.{mart}"
        )
        regions, england = defaultdict(lambda: [0, 0, 0]), defaultdict(lambda: [0, 0, 0])
        for _, region, *key, count, base, _, _, _, _, _, _ in rows:
            for totals in (regions[(region, *key)], england[tuple(key)]):
                totals[0] += count
                totals[1] += base
                totals[2] += base > 0
        for _, region, *key, _, _, region_count, region_base, region_councils, england_count, england_base, england_councils in rows:
            assert [region_count, region_base, region_councils] == regions[(region, *key)], (mart, region, key)
            assert [england_count, england_base, england_councils] == england[tuple(key)], (mart, key)
    # Worcestershire beside the West Midlands (885, 330 and 331) and England (those and Kent).
    [(name, region, share, region_share, councils, england_councils, difference)] = hub_run.marts(
        "SELECT la_name, region_name, council_share, region_share, region_councils, england_councils,"
        " difference_from_region_percentage_points FROM marts.mart_benchmark_by_quarter"
        " WHERE la_code = '885' AND quarter_label = '2022-23 Q1' AND measure_code = 'good_or_better'"
    )
    assert (name, region, share, councils, england_councils) == ("Worcestershire", "West Midlands", 0.5, 3, 4)
    assert difference == pytest.approx(100 * (0.5 - region_share))
    assert hub_run.marts(
        "SELECT region_name, region_councils, region_share, difference_from_region_percentage_points FROM marts.mart_benchmark_year_to_date"
        " WHERE la_code = '886' AND fiscal_year = '2022-23' AND measure_code = 'action_completion'"
    ) == [("South East", 1, 1.0, 0.0)]
    assert hub_run.marts(
        "SELECT count(*), count(DISTINCT region_code) FROM marts.dim_local_authority"
    ) == [(153, 9)]


@ON_THE_HUB_RUN
def test_grades_by_the_childs_characteristics_year_to_date(hub_run):
    # "Good share by ethnic group, year to date", overall grade, for council 886.
    good_by_group = hub_run.marts(
        "SELECT value_name, audit_count, group_audits, audit_share FROM marts.mart_equality_grades_year_to_date"
        " WHERE la_code = '886' AND fiscal_year = '2022-23' AND characteristic = 'ethnic_group' AND grading_code = 'overall'"
        " AND grade_label = 'Good' ORDER BY value_order"
    )
    assert good_by_group == [
        ("White", 1, 1, 1.0), ("Mixed or Multiple ethnic groups", 0, 1, 0.0), ("Asian or Asian British", 0, 0, None),
        ("Black, African, Caribbean or Black British", 1, 1, 1.0), ("Other ethnic group", 0, 0, None),
        ("Refused or not yet obtained", 0, 0, None), ("Not recorded", 0, 0, None),
    ]
    groups = dict(hub_run.marts(
        "SELECT characteristic || ':' || value_code, group_audits FROM marts.mart_equality_grades_year_to_date"
        " WHERE la_code = '886' AND fiscal_year = '2022-23' AND grading_code = 'overall' AND grade_code = 1 AND group_audits > 0"
    ))
    assert groups == {
        "age_band:10_to_15": 1, "age_band:under_1": 1, "age_band:16_and_over": 1,
        "sex:female": 2, "sex:male": 1, "ethnic_group:mixed": 1, "ethnic_group:white": 1, "ethnic_group:black": 1,
        "disability:disabled": 1, "disability:not_disabled": 2,
        "child_status:child_looked_after": 1, "child_status:child_protection_plan": 1, "child_status:care_leaver": 1,
    }
    # Embracing Diversity first; 885's v1 audits carry no characteristics: Not recorded.
    assert hub_run.marts(
        "SELECT DISTINCT grading_order, grading_code FROM marts.mart_equality_grades_year_to_date ORDER BY 1 LIMIT 2"
    ) == [(1, "embracing_diversity"), (2, "overall")]
    assert hub_run.marts(
        "SELECT value_code, audit_count, group_audits FROM marts.mart_equality_grades_year_to_date WHERE la_code = '885'"
        " AND characteristic = 'sex' AND grading_code = 'embracing_diversity' AND grade_code = 2 AND group_audits > 0"
    ) == [("not_recorded", 1, 2)]
    # The national councils' children are in every age band.
    assert hub_run.marts(
        "SELECT count(DISTINCT value_code) FROM marts.mart_equality_grades_year_to_date"
        " WHERE la_code IN ('330', '331') AND characteristic = 'age_band' AND group_audits > 0"
    ) == [(5,)]


def test_cfa_sample_councils_writes_v2_extracts_with_the_childs_characteristics(tmp_path, capsys):
    from orchestration import cli

    assert cli.main(["sample", str(tmp_path), "--councils", "3", "--years", "1"]) == 0
    written = [Path(line) for line in capsys.readouterr().out.split()]
    assert [path.name for path in written] == [path.name for path in write_national_sample(tmp_path / "again", councils=3, years=1)]
    assert len(written) == 5
    contract = load_contract()
    for path in written:
        [sheet] = read_file(path, path.read_bytes(), contract).sheets
        assert "la_code" in sheet.present_fields, path.name
        # Practice developments carried la_code in v1 already: their file is v1 and v2 alike.
        assert sheet.contract_version == (1 if sheet.entity.name == "practice_developments" else 2), path.name
        assert sheet.cells["la_code"].nunique() == 3, path.name
    audits = next(path for path in written if path.name.startswith("audits_"))
    with audits.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row[field] for row in rows for field in CHILD_HEADER)
    assert {row["child_status"] for row in rows} == {"CIN", "CP", "CLA", "Care leaver"}
    assert len({row["ethnicity"] for row in rows}) > 10


def test_the_bundled_v1_sample_is_one_council_beside_its_region(sample_run):
    with duckdb.connect(str(sample_run.paths.build_database), read_only=True) as connection:
        assert connection.execute(
            "SELECT DISTINCT council_folder, contract_version FROM ops.load_log WHERE status = 'loaded'"
        ).fetchall() == [(None, 1)]
    assert sample_run.marts(
        "SELECT la_name, region_name, council_count, council_base, region_councils, difference_from_region_percentage_points"
        " FROM marts.mart_benchmark_by_quarter WHERE quarter_label = '2022-23 Q2' AND measure_code = 'good_or_better'"
    ) == [("Worcestershire", "West Midlands", 4, 12, 1, 0.0)]
    assert sample_run.marts(
        "SELECT DISTINCT value_code, group_audits FROM marts.mart_equality_grades_year_to_date"
        " WHERE fiscal_year = '2022-23' AND group_audits > 0"
    ) == [("not_recorded", 22)]
