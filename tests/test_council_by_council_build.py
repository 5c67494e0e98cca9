"""Building council by council (orchestration/council_build.py, dbt_project/macros/councils_to_build.sql).

Two nights of a hub, through `cfa run`: the first loads four councils (885 and 886 in their
folders, 330 and 331 delivered flat in v2); the second brings 885 a supersession, a cancellation
and a deletion, and 886 a full extract that no longer holds one of its audits. The second night's
dbt build rebuilds 885 and 886 only, and its models must be exactly what a full build of the same
raw rows gives. Each night is one `cfa run` (`built_once`), read by every test here.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.council_build import LEDGER_TABLE, plan_council_build, record_councils_built
from orchestration.sample.national import write_drop as write_national_drop
from orchestration.settings import DBT_MANIFEST as MANIFEST
from orchestration.settings import DBT_PROJECT_DIR, warehouse_paths
from tests.conftest import (
    ACTIVITY_HEADER,
    AUDIT_HEADER,
    GRADE_HEADER,
    audit_row,
    built_once,
    cli_environment_restored,
    run_cli,
    whole_audit,
    write_csv,
)

FLAT_COUNCILS = ("330", "331")
ON_THE_COUNCIL_NIGHTS = pytest.mark.xdist_group("council_nights")


def _with_council(header: list[str], rows: list[list[object]], la_code: str) -> tuple[list[str], list[list[object]]]:
    """A v1 activities or grades file's header and rows with la_code added: the v2 form."""
    return header + ["la_code"], [row + [la_code] for row in rows]


def _council_drop(folder: Path, la_code: str, stamp: str, audits: list[dict], audit_rows: list[list[object]] | None = None, full: bool = False) -> None:
    """A council's files, v2 where v1 and v2 differ: its audits (`audit_rows` if given; a row may
    end with its `deleted` value), activities and grades."""
    rows = audit_rows if audit_rows is not None else [row for audit in audits for row in audit["audits"]]
    write_csv(folder, f"audits_{'full_' if full else ''}{stamp}.csv", AUDIT_HEADER + ["deleted"], [
        [row[0], la_code, *row[2:len(AUDIT_HEADER)], *(row[len(AUDIT_HEADER):] or [""])] for row in rows
    ])
    for entity, header in (("audit_activities", ACTIVITY_HEADER), ("audit_subsection_grades", GRADE_HEADER)):
        entity_rows = [row for audit in audits for row in audit[entity]]
        if entity_rows:
            write_csv(folder, f"{entity}_{stamp}.csv", *_with_council(header, entity_rows, la_code))


def _night(root: Path, name: str, landing: Path) -> dict:
    warehouse = root / "warehouse" / "cfa.duckdb"
    with cli_environment_restored():
        code, output = run_cli(["run", "--landing", str(landing), "--warehouse", str(warehouse)], root / "dagster")
    assert code == 0, output
    with duckdb.connect(str(warehouse.parent / ".build" / warehouse.name), read_only=True) as connection:
        run_id = connection.execute(f"select distinct run_id from {LEDGER_TABLE}").fetchall()[0][0]
    # The night's built state, kept for the tests to compare and try plans on.
    shutil.copy(warehouse.parent / ".build" / warehouse.name, root / f"{name}.duckdb")
    return {"run_id": run_id, "output": output}


def _two_nights(root: Path) -> dict:
    landing = root / "landing"
    for la_code in ("885", "886"):
        (landing / la_code).mkdir(parents=True)
    _council_drop(landing / "885", "885", "2022-06-30", [
        whole_audit("A-1", "Good"), whole_audit("A-2", "Requires Improvement"), whole_audit("A-3", "Good"), whole_audit("A-4", "Good"),
    ])
    # 886's A-4 (another audit than 885's A-4) is not moderated yet: held back, and not moderated.
    unmoderated = whole_audit("A-4", "Good")
    unmoderated["audit_activities"] = [row for row in unmoderated["audit_activities"] if row[2] != "moderation"]
    _council_drop(landing / "886", "886", "2022-06-30", [whole_audit("A-1", "Requires Improvement"), whole_audit("A-2", "Good"), unmoderated])
    for path in write_national_drop(root / "drop", FLAT_COUNCILS, [(2022, 4), (2022, 5), (2022, 6)], dt.date(2022, 7, 5), seed=331):
        shutil.copy(path, landing / path.name)
    first = _night(root, "first_night", landing)

    # 885: A-1 moderated again (Inadequate), A-2 cancelled, A-3 deleted by the case system.
    superseded = whole_audit("A-1", "Inadequate", completed="2022-06-25")
    _council_drop(landing / "885", "885", "2022-09-30", [superseded], audit_rows=[
        *superseded["audits"],
        audit_row("A-2", status="cancelled", audit_completed_date=""),
        audit_row("A-3") + ["Yes"],
    ])
    # 886: a full extract of its audits that no longer holds A-2.
    _council_drop(landing / "886", "886", "2022-09-30", [], audit_rows=[*whole_audit("A-1", "Requires Improvement")["audits"], *unmoderated["audits"]], full=True)
    second = _night(root, "second_night", landing)
    return {"first_run": first["run_id"], "second_run": second["run_id"], "first_output": first["output"], "second_output": second["output"]}


@pytest.fixture(scope="session")
def council_nights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    return built_once(tmp_path_factory, "council_nights", _two_nights)


def _tables(database: Path) -> dict[str, list[tuple]]:
    """Every intermediate and mart table's rows, sorted."""
    with duckdb.connect(str(database), read_only=True) as connection:
        names = connection.execute(
            "select schema_name || '.' || table_name from duckdb_tables() where schema_name in ('intermediate', 'marts') order by 1"
        ).fetchall()
        return {name: sorted(connection.execute(f"select * from {name}").fetchall(), key=repr) for (name,) in names}


def _rebuilt(database: Path) -> dict[str, bool]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return dict(connection.execute(f"select council, rebuilt from {LEDGER_TABLE}").fetchall())


@pytest.mark.job_runs(2)
@ON_THE_COUNCIL_NIGHTS
def test_a_night_rebuilds_only_the_councils_whose_rows_changed_and_equals_a_full_build(council_nights, tmp_path):
    root, nights = council_nights
    # The first night built every council; the second, only the two whose rows changed.
    assert _rebuilt(root / "first_night.duckdb") == {"885": True, "886": True, "330": True, "331": True}
    assert _rebuilt(root / "second_night.duckdb") == {"885": True, "886": True, "330": False, "331": False}
    assert "councils rebuilt:         4 of 4\n" in nights["first_output"]
    assert "councils rebuilt:         2 of 4 (885, 886)\n" in nights["second_output"]
    with duckdb.connect(str(root / "second_night.duckdb"), read_only=True) as connection:
        staging = dict(connection.execute("select view_name, sql from duckdb_views() where schema_name = 'staging'").fetchall())
    # The staging views were built for 885 and 886 alone.
    assert "COALESCE(la_code, council_folder) IN ('885', '886')" in staging["stg_audit_extract__audits"]

    # The figures moved as the drops say: a supersession, a cancellation, a deletion, a full extract.
    paths = warehouse_paths(root / "landing", root / "warehouse" / "cfa.duckdb")
    with duckdb.connect(str(paths.warehouse), read_only=True) as connection:
        audits = connection.execute(
            "select la_code, audit_id, audit_status, final_overall_grade_code, is_counted from marts.fct_audit"
            " where la_code in ('885', '886') order by 1, 2"
        ).fetchall()
        flat_councils = connection.execute("select la_code, count(*) from marts.fct_audit where la_code in ('330', '331') group by 1 order by 1").fetchall()
        moderated = connection.execute(
            "select la_code, case_file_audits_completed, audits_held_back, audits_moderated from marts.mart_summary_year_to_date_by_quarter"
            " where la_code in ('885', '886') and quarter_label = '2022-23 Q1' order by 1"
        ).fetchall()
    assert audits == [
        ("885", "A-1", "completed", 4, True), ("885", "A-2", "cancelled", 3, False), ("885", "A-4", "completed", 2, True),
        ("886", "A-1", "completed", 3, True), ("886", "A-4", "completed", None, False),
    ]
    # Each council's own moderations count: 886's A-4 is not moderated, whatever 885's A-4 is.
    assert moderated == [("885", 2, 0, 2), ("886", 1, 1, 1)]
    assert all(count > 20 for _, count in flat_councils) and len(flat_councils) == 2

    # The same raw rows built whole give exactly the same models.
    full = tmp_path / "cfa.duckdb"
    shutil.copy(root / "second_night.duckdb", full)
    environment = {**os.environ, "CFA_BUILD_DATABASE": str(full), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    environment.pop("CFA_TARGET", None)
    dbt = Path(sys.executable).parent / "dbt"
    built = subprocess.run(
        [str(dbt), "build", "--full-refresh", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env=environment, capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stdout[-3000:]
    with duckdb.connect(str(full), read_only=True) as connection:
        # A dbt build run by hand forgets the job's record: the next night builds every council.
        assert connection.execute(f"select count(*) from duckdb_tables() where schema_name || '.' || table_name = '{LEDGER_TABLE}'").fetchone()[0] == 0
    incremental, whole = _tables(root / "second_night.duckdb"), _tables(full)
    assert incremental.keys() == whole.keys() and "marts.fct_subsection_grade" in incremental
    assert {name: rows for name, rows in incremental.items() if rows != whole[name]} == {}


@ON_THE_COUNCIL_NIGHTS
def test_the_quality_gates_read_only_the_councils_the_build_rebuilt(council_nights, monkeypatch):
    import dagster as dg
    from dagster._core.events import DagsterEventType

    from tests.conftest import dagster_environment

    root, nights = council_nights
    for name, value in dagster_environment(root / "dagster").items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        evaluations = {
            record.dagster_event.event_specific_data.asset_key.path[-1]: record.dagster_event.event_specific_data.metadata
            for record in instance.all_logs(nights["second_run"], of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        }
    with duckdb.connect(str(root / "warehouse" / "cfa.duckdb"), read_only=True) as connection:
        rows_by_council = dict(connection.execute("select la_code, count(*) from marts.mart_quarterly_summary group by 1").fetchall())
    summary = evaluations["mart_quarterly_summary"]
    # 885's and 886's rows were read and validated; 330's and 331's passed last night, from the same raw rows.
    assert summary["rows_checked"].value == rows_by_council["885"] + rows_by_council["886"]
    assert summary["rows_validated"].value == summary["rows_checked"].value
    assert summary["councils_unchanged"].value == 2
    # The national benchmark reads every council's figures (a region's are its councils' sums).
    assert evaluations["mart_benchmark_by_quarter"]["rows_checked"].value > summary["rows_checked"].value


@ON_THE_COUNCIL_NIGHTS
def test_a_build_rebuilds_every_council_when_its_record_cannot_be_trusted(council_nights, tmp_path):
    root, nights = council_nights
    database = tmp_path / "cfa.duckdb"
    shutil.copy(root / "second_night.duckdb", database)

    def plan(whole_project: bool = True):
        return plan_council_build(database, MANIFEST, whole_project)

    assert plan().councils == ()  # nothing new since the second night
    with duckdb.connect(str(database)) as connection:
        # A row re-sent to 330, and a load in 886's folder that delivered no rows (an empty full extract).
        connection.execute("insert into raw.audits select * replace (load_id + 1000 as load_id) from raw.audits where la_code = '330' limit 1")
        connection.execute("insert into ops.load_log select * replace (load_id + 1000 as load_id) from ops.load_log where council_folder = '886' limit 1")
    assert plan().councils == ("330", "886")
    assert plan(whole_project=False).councils is None and plan(whole_project=False).fingerprints is None

    with duckdb.connect(str(database)) as connection:
        connection.execute("drop table marts.fct_audit")
    assert plan().councils is None and "marts.fct_audit" in plan().reason

    shutil.copy(root / "second_night.duckdb", database)
    with duckdb.connect(str(database)) as connection:
        # A flat v1 audit can move a record between councils; a flat v1 practice development cannot.
        assert connection.execute("select count(*) from raw.practice_developments where council_folder is null and contract_version = 1").fetchone()[0] > 0
        connection.execute(
            "insert into raw.audits select * replace (load_id + 1000 as load_id, null as council_folder, 1 as contract_version) from raw.audits where la_code = '885' limit 1"
        )
    flat = plan()
    assert flat.councils is None and "flat v1" in flat.reason
    assert flat.dbt_arguments == ["--vars", '{"councils_to_build": null}', "--full-refresh"]

    # A build of another version of the project (or contract, or dbt) is no record for this one.
    shutil.copy(root / "second_night.duckdb", database)
    stale = plan_council_build(database, MANIFEST)
    record_councils_built(database, type(stale)((), "", "another version", stale.fingerprints), "another run")
    assert plan().councils is None and "no earlier build" in plan().reason


@ON_THE_COUNCIL_NIGHTS
def test_publishing_replaces_the_rebuilt_councils_rows_and_equals_a_warehouse_written_whole(council_nights, tmp_path, monkeypatch):
    import dagster as dg
    from dagster._core.events import DagsterEventType

    from orchestration.publish.warehouse import write_published_warehouse
    from tests.conftest import dagster_environment

    root, nights = council_nights
    for name, value in dagster_environment(root / "dagster").items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        replaced = {
            run: next(
                record.dagster_event.event_specific_data.materialization.metadata["councils_replaced"].value
                for record in instance.all_logs(nights[run], of_type=DagsterEventType.ASSET_MATERIALIZATION)
                if record.dagster_event.event_specific_data.materialization.asset_key == dg.AssetKey(["published", "warehouse"])
            )
            for run in ("first_run", "second_run")
        }
    assert replaced == {"first_run": "all (written whole)", "second_run": "885, 886"}

    whole = tmp_path / "cfa.duckdb"
    write_published_warehouse(root / "second_night.duckdb", whole, dt.datetime(2022, 10, 1), "whole")

    def published(database: Path) -> dict[str, list[tuple]]:
        with duckdb.connect(str(database), read_only=True) as connection:
            names = connection.execute(
                "select schema_name || '.' || table_name from duckdb_tables() where table_name <> 'build_info' order by 1"
            ).fetchall()
            described = connection.execute(
                "select schema_name, table_name, column_name, data_type, is_nullable, comment from duckdb_columns() order by all"
            ).fetchall()
            return {
                "columns": described,
                **{name: sorted(connection.execute(f"select * from {name}").fetchall(), key=repr) for (name,) in names},
            }

    paths = warehouse_paths(root / "landing", root / "warehouse" / "cfa.duckdb")
    updated, written = published(paths.warehouse), published(whole)
    assert updated.keys() == written.keys() and "marts.fct_subsection_grade" in updated
    assert {name: rows for name, rows in updated.items() if rows != written[name]} == {}

    # The published warehouse is the one the state describes: the next publishing replaces the
    # councils this run rebuilt. A file written to since (an analyst's read-write connection, or a
    # copy put back from a backup) is not: it is written whole.
    from orchestration.publish.warehouse import _councils_to_republish
    from tests.conftest import copy_warehouse_folders

    assert _councils_to_republish(paths, nights["second_run"])[0] == ["885", "886"]
    copy_warehouse_folders(root, tmp_path / "copy")  # it rewrites the copies' load logs
    copied = warehouse_paths(tmp_path / "copy" / "landing", tmp_path / "copy" / "warehouse" / "cfa.duckdb")
    assert _councils_to_republish(copied, nights["second_run"])[0] is None
