"""The Dagster code location loads, and its graph is the one the warehouse needs."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml

from orchestration.contract import load_contract
from orchestration.settings import REPO_ROOT


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def asset_graph(defs):
    return defs.resolve_asset_graph()


def test_definitions_load(defs):
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("nightly_warehouse") is not None


def test_each_entity_has_a_raw_asset_that_its_dbt_staging_model_reads(asset_graph):
    for entity in load_contract().entities:
        raw = dg.AssetKey(["raw", entity])
        staging = dg.AssetKey(["staging", f"stg_audit_extract__{entity}"])
        assert raw in asset_graph.get_all_asset_keys()
        assert raw in asset_graph.get(staging).parent_keys, f"{staging} is not fed by {raw}"


def test_lineage_runs_from_raw_through_marts_to_the_published_warehouse(asset_graph):
    published = dg.AssetKey(["published", "warehouse"])
    upstream = asset_graph.upstream_key_iterator(published)
    ancestors = set(upstream)
    for key in [
        ["raw", "audits"], ["ops", "load_log"], ["reports", "error_report"],
        ["staging", "stg_audit_extract__audits"], ["intermediate", "int_audits_completeness_checked"],
        ["marts", "fct_audit"], ["marts", "mart_quarterly_summary"], ["marts", "mart_subsection_grades_year_to_date"],
    ]:
        assert dg.AssetKey(key) in ancestors, key
    # no stray sources: every dbt source is an ingestion asset, so nothing is left external
    unmaterialisable = [key for key in asset_graph.get_all_asset_keys() if not asset_graph.get(key).is_materializable]
    assert unmaterialisable == []


def test_every_writer_of_the_warehouse_is_in_the_single_writer_pool(defs):
    assets_defs = set(defs.get_repository_def().assets_defs_by_key.values())
    ops = {assets_def.op.name: assets_def.op.pool for assets_def in assets_defs}
    assert ops == {
        "ingest_audit_extracts": "duckdb_warehouse",
        "warehouse_dbt_models": "duckdb_warehouse",
        "reports__error_report": "duckdb_warehouse",
        "published__warehouse": "duckdb_warehouse",
        "ops__archive_deletions": "duckdb_warehouse",
        "reports__executive_summary": None,  # reads the published warehouse; writes no database
    }


def test_dbt_tests_are_asset_checks_including_the_totals(asset_graph):
    check_names = {check.name for check in asset_graph.asset_check_keys}
    assert "grade_shares_sum_to_one" in check_names
    assert "quarter_grade_counts_sum_to_completed_audits" in check_names
    assert "completed_audits_held_back" in check_names
    assert any(name.startswith("relationships_fct_audit_final_overall_grade_code") for name in check_names)


def test_the_nightly_job_covers_every_asset(defs, asset_graph):
    job = defs.resolve_job_def("nightly_warehouse")
    assert job.tags["cfa/writes-warehouse"] == "true"
    assert set(job.asset_layer.selected_asset_keys) == set(asset_graph.get_all_asset_keys())


def test_the_schedule_runs_the_job_at_two_in_london_by_default(defs):
    schedule = defs.resolve_schedule_def("nightly_warehouse_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/London"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "nightly_warehouse"


def test_the_sensor_requests_a_run_when_new_files_land_and_not_again(defs, workspace):
    sensor = defs.resolve_sensor_def("landing_folder_sensor")
    assert sensor.job_name == "nightly_warehouse"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with dg.instance_for_test() as instance:
        empty = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert empty.run_requests == [] and "empty" in empty.skip_message

        (workspace.landing_dir / "audits_2022-08.csv").write_text("audit_id\n")
        first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert len(first.run_requests) == 1

        again = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert again.run_requests == [] and "no new files" in again.skip_message

        (workspace.landing_dir / "audit_activities_2022-08.csv").write_text("activity_id\n")
        more = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert len(more.run_requests) == 1


def test_the_instance_never_runs_two_warehouse_runs_and_limits_every_pool_to_one():
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    assert config["telemetry"]["enabled"] is False
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 1
    assert {"key": "cfa/writes-warehouse", "limit": 1} in config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["storage"]["sqlite"]["base_dir"] == {"env": "CFA_DAGSTER_STORAGE"}


def test_the_instance_configuration_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(REPO_ROOT))
    monkeypatch.setenv("CFA_DAGSTER_STORAGE", str(tmp_path / "storage"))
    monkeypatch.setenv("CFA_DAGSTER_COMPUTE_LOGS", str(tmp_path / "logs"))
    with dg.DagsterInstance.get() as instance:
        assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"
        assert (tmp_path / "storage").exists()


def test_each_raw_asset_has_a_blocking_great_expectations_check(defs):
    checks = {
        spec.asset_key: spec
        for checks_def in defs.asset_checks
        for spec in checks_def.check_specs
        if spec.name == "rows_meet_the_extract_contract"
    }
    assert set(checks) == {dg.AssetKey(["raw", entity]) for entity in load_contract().entities}
    assert all(spec.blocking for spec in checks.values())


def test_the_nightly_job_runs_its_steps_in_one_process_however_it_is_launched(defs):
    job = defs.resolve_job_def("nightly_warehouse")
    assert job.executor_def.name == dg.in_process_executor.name


def test_a_dbt_project_changed_since_it_was_parsed_is_found_before_its_manifest_is_loaded(tmp_path):
    """Dagster builds the dbt assets from the manifest, and a build with one older than the
    models fails: `cfa run` parses the project again when any of its files is newer (a `git
    pull` without `make prepare`), and not otherwise."""
    import os

    from orchestration.defs.resources import changed_since_parsed

    project, seeds = tmp_path.resolve() / "dbt_project", tmp_path.resolve() / "seeds"
    (project / "models" / "marts").mkdir(parents=True)
    (project / "macros").mkdir()
    seeds.mkdir()
    model, macro, seed = project / "models" / "marts" / "fct_x.sql", project / "macros" / "m.sql", seeds / "grades.csv"
    settings = project / "dbt_project.yml"
    for path in (model, macro, seed, settings):
        path.write_text("x")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("not a source")
    manifest = project / "target" / "manifest.json"
    assert sorted(changed_since_parsed(project, manifest)) == sorted([model, macro, seed, settings])  # never parsed

    manifest.parent.mkdir()
    manifest.write_text("{}")
    parsed_at = manifest.stat().st_mtime
    for path in (model, macro, seed, settings, project / "logs" / "dbt.log"):
        os.utime(path, (parsed_at - 60, parsed_at - 60))
    assert changed_since_parsed(project, manifest) == []
    os.utime(seed, (parsed_at + 60, parsed_at + 60))
    os.utime(model, (parsed_at + 30, parsed_at + 30))
    assert sorted(changed_since_parsed(project, manifest)) == sorted([model, seed])
