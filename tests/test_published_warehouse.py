"""What leaves the build: the published warehouse (marts and the ops tables analysts need, every
table and column described), its Parquet and CSV exports, and the quality gates that must pass
before either is replaced."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.export.bi_files import MANIFEST
from orchestration.quality.mart_gates import gated_marts
from orchestration.quality.run_report import MART_GATE, quality_gate_lines
from orchestration.safe_csv import BOM

OPS_TABLES = {"build_info", "load_log", "rejected_rows", "warehouse_identity"}


def build_tables(paths, schema: str) -> set[str]:
    with duckdb.connect(str(paths.build_database), read_only=True) as connection:
        return {name for (name,) in connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = ?", [schema]).fetchall()}


def test_the_published_warehouse_holds_the_marts_and_the_ops_tables_analysts_need_every_one_described(sample_run):
    with duckdb.connect(str(sample_run.paths.warehouse), read_only=True) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables ORDER BY 1, 2").fetchall()
        undescribed_tables = connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal AND coalesce(comment, '') = ''").fetchall()
        undescribed_columns = connection.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE NOT internal AND coalesce(comment, '') = ''"
        ).fetchall()
        comments = dict(connection.execute(
            "SELECT table_name || '.' || column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts'").fetchall())
        rejected_columns = {name for (name,) in connection.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'ops' AND table_name = 'rejected_rows'").fetchall()}
        build_info = connection.execute(
            "SELECT la_code, figures_as_at, marts_figures_as_at, build_started_at <= published_at, run_id FROM ops.build_info"
        ).fetchall()

    # Only marts and ops, only tables: no raw history, no staging, no dbt test failures.
    assert {schema for schema, _, _ in tables} == {"marts", "ops"}
    assert {table for schema, table, _ in tables if schema == "ops"} == OPS_TABLES
    assert {table for schema, table, _ in tables if schema == "marts"} == build_tables(sample_run.paths, "marts")
    assert {kind for _, _, kind in tables} == {"BASE TABLE"}
    assert {"raw", "staging", "intermediate", "reference", "test_failures"} <= {
        schema for (schema,) in duckdb.connect(str(sample_run.paths.build_database), read_only=True).execute(
            "SELECT DISTINCT schema_name FROM duckdb_tables() UNION SELECT DISTINCT schema_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    }, "the build keeps everything"
    assert "waiting_row" not in rejected_columns and {"file_name", "row_number", "field", "value", "reason"} <= rejected_columns

    # Every table and column says what it means: dbt's descriptions for the marts.
    assert undescribed_tables == [] and undescribed_columns == []
    manifest = json.loads((Path(__file__).parents[1] / "dbt_project" / "target" / "manifest.json").read_text())
    summary = manifest["nodes"]["model.case_file_audits.mart_quarterly_summary"]["columns"]
    assert comments["mart_quarterly_summary.targeted_audit_children"] == summary["targeted_audit_children"]["description"]

    # When it was built, and what each council's figures are as at.
    [(la_code, as_at, marts_as_at, in_order, run_id)] = build_info
    assert (la_code, as_at, marts_as_at, in_order) == ("885", dt.date(2022, 8, 5), dt.date(2022, 8, 5), True)
    assert f"Run {run_id} succeeded." in sample_run.output

    # The build, with every child's row-level history, is readable by the job's user only.
    assert stat.S_IMODE(sample_run.paths.build_database.parent.stat().st_mode) == 0o700
    assert not (sample_run.paths.warehouse.parent / ".publishing").exists()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_exports_hold_every_published_mart_as_parquet_and_csv_with_a_manifest(sample_run):
    exports = sample_run.paths.warehouse.parent / "exports"
    assert exports.is_symlink() and exports.resolve().parent.name == ".exports"
    manifest = json.loads((exports / MANIFEST).read_text())
    marts = build_tables(sample_run.paths, "marts")
    assert {entry["file"] for entry in manifest["files"]} == {f"{kind}/{mart}.{kind}" for mart in marts for kind in ("parquet", "csv")}
    assert manifest["built_at"].endswith("Z") and manifest["run_id"] in sample_run.output
    with duckdb.connect(str(sample_run.paths.warehouse), read_only=True) as connection:
        for entry in manifest["files"]:
            path = exports / entry["file"]
            assert _digest(path) == entry["sha256"] and path.stat().st_size == entry["bytes"], entry["file"]
            rows = connection.execute(f"SELECT count(*) FROM {entry['table']}").fetchall()[0][0]
            assert entry["rows"] == rows, entry["file"]
            assert [c["name"] for c in entry["columns"]] == [
                name for (name,) in connection.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = ? ORDER BY column_index",
                    [entry["table"].split(".")[1]]).fetchall()
            ]
        parquet = exports / "parquet" / "mart_audit_grades_by_quarter.parquet"
        assert connection.execute(f"SELECT * FROM read_parquet('{parquet}') EXCEPT SELECT * FROM marts.mart_audit_grades_by_quarter").fetchall() == []
        assert connection.execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchall() == [(24,)]

    summary = exports / "csv" / "mart_quarterly_summary.csv"
    assert summary.read_bytes().startswith(BOM + b'"la_code","fiscal_year"')
    with summary.open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["quarter_label"]: row for row in csv.DictReader(handle)}
    assert (rows["2022-23 Q1"]["targeted_audit_children"], rows["2022-23 Q1"]["figures_as_at"]) == ("258", "2022-08-05")
    assert rows["2022-23 Q2"]["good_or_better_share"] == "0.3333333333333333"
    assert "Great Expectations Data Docs: " in sample_run.output
    docs = Path(sample_run.output.split("Great Expectations Data Docs: ")[1].split(")")[0])
    assert docs.name == "index.html" and docs.exists() and "marts__mart_quarterly_summary" in docs.read_text()
    assert f"exports (Parquet, CSV):   {exports}" in sample_run.output


def test_every_bi_mart_has_a_blocking_quality_gate_before_publishing():
    from orchestration.definitions import defs

    gates = {spec.asset_key: spec for checks in defs.asset_checks for spec in checks.check_specs if spec.name == MART_GATE}
    manifest = json.loads((Path(__file__).parents[1] / "dbt_project" / "target" / "manifest.json").read_text())
    bi_marts = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model" and node["name"].startswith("mart_")}
    assert set(gated_marts()) == bi_marts
    assert set(gates) == {dg.AssetKey(["marts", mart]) for mart in bi_marts}
    assert all(spec.blocking for spec in gates.values())
    graph = defs.resolve_asset_graph()
    published = dg.AssetKey(["published", "warehouse"])
    assert set(gates) <= graph.get(published).parent_keys
    assert graph.get(dg.AssetKey(["published", "exports"])).parent_keys == {published}


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): _digest(path) for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_broken_mart_fails_its_gate_names_the_expectation_and_leaves_warehouse_and_exports_byte_identical(
    sample_run, tmp_path, monkeypatch
):
    """The sample's published warehouse and exports, and its build with one mart broken after
    the dbt build (a share above 1, a council's count gone): the gates and publishing run, as
    the nightly job runs them, and nothing is replaced."""
    from orchestration.definitions import defs

    folder = tmp_path / "warehouse"
    shutil.copytree(sample_run.paths.warehouse.parent, folder, symlinks=True)
    warehouse = folder / sample_run.paths.warehouse.name
    monkeypatch.setenv("CFA_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("CFA_LANDING_DIR", str(tmp_path / "landing"))
    before = _digest(warehouse), _tree_digest(folder / "exports"), os.readlink(folder / "exports")
    with duckdb.connect(str(folder / ".build" / warehouse.name)) as build:
        build.execute(
            "UPDATE marts.mart_audit_grades_by_quarter SET audit_share = 1.5 WHERE quarter_label = '2022-23 Q2' AND grade_code = 2"
        )

    gates_then_publishing = dg.define_asset_job(
        "gates_then_publishing",
        selection=dg.AssetSelection.assets(["published", "warehouse"], ["published", "exports"])
        | dg.AssetSelection.checks(*[dg.AssetCheckKey(dg.AssetKey(["marts", mart]), MART_GATE) for mart in gated_marts()]),
        executor_def=dg.in_process_executor,
    )
    narrowed = dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, resources=defs.resources, jobs=[gates_then_publishing])
    with dg.instance_for_test() as instance:
        result = narrowed.resolve_job_def("gates_then_publishing").execute_in_process(instance=instance, raise_on_error=False)

    assert not result.success
    assert [event.step_key for event in result.all_events if event.is_step_failure] == ["mart_quality_gates"]
    assert result.get_asset_materialization_events() == []
    failed = {e.asset_key.path[-1] for e in result.get_asset_check_evaluations() if not e.passed}
    assert failed == {"mart_audit_grades_by_quarter"}
    lines = quality_gate_lines(result)
    assert lines[0].startswith(f"  quality gates:            FAILED: 1 of {len(gated_marts())} BI marts, so nothing was published")
    assert any("audit_share must be between 0 and 1 [expect_column_values_to_be_between on audit_share: 1 row(s), e.g. 1.5]" in line
               for line in lines)
    assert any("the shares must sum to 1 per council and quarter" in line for line in lines)
    assert (_digest(warehouse), _tree_digest(folder / "exports"), os.readlink(folder / "exports")) == before
    docs = Path(lines[0].split("Data Docs: ")[1].rstrip(")"))
    assert docs.exists() and docs.parent.parent == folder / "data_docs"


def test_switching_the_exports_folder_keeps_the_one_before_and_clears_the_rest(tmp_path):
    from orchestration.publish.atomic import switch_folder

    link = tmp_path / "exports"
    generations = [tmp_path / ".exports" / name for name in ("1", "2", "3")]
    for number, folder in enumerate(generations):
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(str(number))
        switch_folder(folder, link)
        assert (link / "manifest.json").read_text() == str(number)
    assert sorted(path.name for path in (tmp_path / ".exports").iterdir()) == ["2", "3"]


def test_validate_checks_references_against_the_builds_history_not_the_marts_only_warehouse(sample_run, tmp_path, capsys):
    from orchestration import cli
    from tests.conftest import ACTIVITY_HEADER, write_csv

    with duckdb.connect(str(sample_run.paths.build_database), read_only=True) as build:
        [(known_audit,)] = build.execute("SELECT min(audit_id) FROM raw.audits").fetchall()
    activities = write_csv(tmp_path, "audit_activities_2022-08-31.csv", ACTIVITY_HEADER, [
        ["NEW-1", known_audit, "audit", "Team Manager", "S1", "2022-08-01", "Good"],
        ["NEW-2", "NO-SUCH-AUDIT", "audit", "Team Manager", "S1", "2022-08-01", "Good"],
    ])

    code = cli.main(["validate", str(activities), "--warehouse", str(sample_run.paths.warehouse)])

    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    flagged = [line for line in lines if " row " in line]
    assert len(flagged) == 1 and flagged[0].startswith(f"{activities.name} row 3, audit_id:"), lines


def test_a_real_exports_folder_where_the_link_belongs_is_moved_aside_once(tmp_path):
    """As after copying the warehouse's folder without its links."""
    from orchestration.publish.atomic import switch_folder

    link = tmp_path / "exports"
    link.mkdir()
    (link / "manifest.json").write_text("copied")
    new = tmp_path / ".exports" / "2"
    new.mkdir(parents=True)
    (new / "manifest.json").write_text("new")

    switch_folder(new, link)

    assert link.is_symlink() and (link / "manifest.json").read_text() == "new"
    [aside] = [folder for folder in (tmp_path / ".exports").iterdir() if folder != new]
    assert (aside / "manifest.json").read_text() == "copied"
