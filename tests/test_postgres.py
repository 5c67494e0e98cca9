"""The same warehouse on PostgreSQL (CFA_TARGET=postgres), against a real, throwaway server
started from Debian's postgresql package (`make test` installs it when missing).

One nightly run of the sample through `cfa run`, with Dagster's own storage in PostgreSQL
(deploy/postgres/dagster.yaml) and the roles of deploy/postgres/roles.sql; the sample's figure
assertions read back as an analyst; then a second drop on a copy of that database and on a copy
of the DuckDB build, and every mart compared between the two targets.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.quality.mart_gates import gated_marts
from orchestration.quality.run_report import MART_GATE
from orchestration.settings import REPO_ROOT, WarehousePaths, warehouse_paths
from tests import test_sample_report_figures as figures
from tests.conftest import (
    ACTION_HEADER,
    ACTIVITY_HEADER,
    AUDIT_HEADER,
    GRADE_HEADER,
    PRACTICE_AREAS,
    audit_row,
    cli_environment_restored,
    run_cli,
    whole_audit,
    write_csv,
)

# One server and one PostgreSQL run for the whole module: under pytest-xdist with --dist
# loadgroup its tests stay on one worker rather than each worker starting its own.
pytestmark = pytest.mark.xdist_group("postgres")

BUILD_ROLE, ANALYST_GROUP, ANALYST = "cfa_build", "cfa_analyst", "analyst_jo"
DATABASE, SECOND_DATABASE = "cfa", "cfa_second"
DAGSTER_VARIANT = REPO_ROOT / "deploy" / "postgres"


@dataclass
class Postgres:
    server: object
    root: Path

    def connect(self, database: str, user: str = BUILD_ROLE):
        """A connection that takes the project's `?` placeholders, as the warehouse's own code does."""
        import psycopg

        from orchestration.warehouse_db import POSTGRES, WarehouseConnection

        raw = psycopg.connect(host=self.server.host, port=self.server.port, user=user, dbname=database, autocommit=True)
        return WarehouseConnection(raw, POSTGRES)

    @contextmanager
    def target(self, database: str, dagster_storage: Path) -> Iterator[None]:
        """What a regional deployment sets: CFA_TARGET, libpq's variables for the build's role,
        and the dagster-postgres instance. Put back afterwards: the rest of the suite is DuckDB's."""
        settings = {
            "CFA_TARGET": "postgres",
            **self.server.environment(BUILD_ROLE, database),
            "DAGSTER_HOME": str(DAGSTER_VARIANT),
            # SQLAlchemy 2.1 takes postgresql:// to mean psycopg 3, whose server-side binding
            # dagster-postgres's NOTIFY cannot use: name psycopg2.
            "CFA_DAGSTER_POSTGRES_URL": f"postgresql+psycopg2://{BUILD_ROLE}@{self.server.host}:{self.server.port}/cfa_dagster",
            "CFA_DAGSTER_STORAGE": str(dagster_storage / "storage"),
            "CFA_DAGSTER_COMPUTE_LOGS": str(dagster_storage / "compute_logs"),
        }
        saved = {name: os.environ.get(name) for name in [*settings, "CFA_LANDING_DIR", "CFA_WAREHOUSE"]}
        os.environ.update(settings)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def run(self, database: str, landing: Path, warehouse: Path) -> tuple[int, str]:
        """`cfa run` on PostgreSQL, in this process."""
        import contextlib
        import io

        from orchestration import cli

        output = io.StringIO()
        with self.target(database, self.root / "dagster"), contextlib.redirect_stdout(output):
            code = cli.main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--log-level", "WARNING"])
        return code, output.getvalue()


@dataclass
class PostgresRun:
    postgres: Postgres
    database: str
    paths: WarehousePaths
    exit_code: int
    output: str

    def marts(self, sql: str, params: list | None = None) -> list[tuple]:
        """Query as an analyst does: a login role in the analysts' group."""
        # PostgreSQL 15 has no any_value (16 has): min is as good for one value per group.
        with self.postgres.connect(self.database, ANALYST) as connection:
            return connection.execute(sql.replace("any_value(", "min("), params).fetchall()


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A throwaway server with the roles and databases docs/deployment.md asks a DBA for."""
    from orchestration.ops.throwaway_postgres import ROLES_SQL, throwaway_server

    with throwaway_server() as server:
        server.psql(ROLES_SQL.read_text())
        server.psql(f"CREATE ROLE {ANALYST} LOGIN IN ROLE {ANALYST_GROUP};")
        yield Postgres(server=server, root=tmp_path_factory.mktemp("postgres"))


def _landing_with_sample(root: Path) -> tuple[Path, Path]:
    from orchestration.sample.generator import write_sample

    landing = root / "landing"
    landing.mkdir(parents=True)
    for path in write_sample(root / "sample"):
        shutil.copyfile(path, landing / path.name)
    return landing, root / "warehouse" / "cfa.duckdb"


@pytest.fixture(scope="module")
def postgres_sample_run(postgres: Postgres) -> PostgresRun:
    """The bundled sample through `cfa run` on PostgreSQL: the nightly job, ingestion to publishing."""
    landing, warehouse = _landing_with_sample(postgres.root / "sample_run")
    with cli_environment_restored():
        code, output = postgres.run(DATABASE, landing, warehouse)
    return PostgresRun(postgres, DATABASE, warehouse_paths(landing, warehouse), code, output)


# ---------------------------------------------------------------------------------- the run

def test_the_nightly_job_runs_on_postgres_with_dagster_history_in_postgres(postgres_sample_run, postgres):
    import dagster as dg
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    run = postgres_sample_run
    assert run.exit_code == 0, run.output
    assert "files loaded:             5" in run.output
    assert "rows rejected:            0" in run.output
    assert "warehouse:                schema marts of PostgreSQL database cfa on 127.0.0.1:" in run.output
    assert "Executive summary: not written on PostgreSQL (it reads the published DuckDB file)" in run.output
    # Nothing was built or published as a DuckDB file: the warehouse is the server's.
    assert not run.paths.build_database.exists() and not run.paths.warehouse.exists()
    assert run.paths.error_report.exists()
    with postgres.target(DATABASE, postgres.root / "dagster"), dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        [dagster_run] = instance.get_runs()
        assert dagster_run.status == dg.DagsterRunStatus.SUCCESS and dagster_run.run_id in run.output
        # The Great Expectations gates ran on what ingestion loaded into PostgreSQL, and passed.
        evaluations = [
            event.dagster_event.event_specific_data
            for event in instance.all_logs(dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        ]
        gates = [e for e in evaluations if e.check_name == "rows_meet_the_extract_contract"]
        assert len(gates) == 5 and all(e.passed for e in gates)
        # So did every mart's quality gate, its batch read from the build's marts in PostgreSQL.
        mart_gates = {e.asset_key.path[-1]: e for e in evaluations if e.check_name == MART_GATE}
        assert sorted(mart_gates) == gated_marts() and all(e.passed for e in mart_gates.values())
        # A passing batch is the mart's rows, nothing missing on either side of its full join.
        checked = {mart: e.metadata["rows_checked"].value for mart, e in mart_gates.items()}
        assert checked == {mart: run.marts(f"SELECT count(*) FROM marts.{mart}")[0][0] for mart in checked}
        assert checked["mart_summary_year_to_date_by_quarter"] > 0
        assert sum(1 for e in evaluations if e.check_name not in ("rows_meet_the_extract_contract", MART_GATE)) >= 60  # dbt's tests
        # No Parquet or CSV exports and no executive summary: both are made from a published
        # DuckDB file, which PostgreSQL has none of; the run says so rather than fail.
        materialized = {
            tuple(event.dagster_event.asset_key.path): event.dagster_event.event_specific_data.materialization
            for event in instance.all_logs(dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        }
        assert ("published", "warehouse") in materialized and ("published", "exports") not in materialized
        summary = materialized[("reports", "executive_summary")].metadata
        assert summary["reports"].value == 0 and "not written on PostgreSQL" in summary["reason"].value
        assert not (run.paths.warehouse.parent / "exports").exists() and not (run.paths.warehouse.parent / "reports").exists()
        # The shared instance keeps the run queue and the one-writer pool of dagster.yaml.
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 1
        assert concurrency.pool_config.default_pool_limit == 1
    project, variant = (yaml.safe_load(p.read_text()) for p in (REPO_ROOT / "dagster.yaml", DAGSTER_VARIANT / "dagster.yaml"))
    for section in ("concurrency", "run_coordinator", "run_monitoring", "telemetry"):
        assert variant[section] == project[section], section
    # The build wrote with its own role: it owns every table it made.
    with postgres.connect(DATABASE) as connection:
        owners = connection.execute(
            "SELECT DISTINCT schemaname, tableowner FROM pg_tables WHERE schemaname IN ('raw', 'ops', 'marts') ORDER BY 1"
        ).fetchall()
    assert owners == [("marts", BUILD_ROLE), ("ops", BUILD_ROLE), ("raw", BUILD_ROLE)]


FIGURES = [
    figures.test_22_case_file_audits_in_june_and_july_2022_with_66_pieces_of_activity,
    figures.test_final_grades_9_good_12_requires_improvement_1_inadequate,
    figures.test_good_share_is_9_of_22_and_good_or_ri_21_of_22_not_the_rounded_96_percent,
    figures.test_quarterly_shares_are_exact_for_each_quarter,
    figures.test_14_targeted_audits_covering_258_children_in_2022_23_q1,
    figures.test_against_2021_22_good_is_up_and_requires_improvement_down_by_a_small_margin,
    lambda run: figures.test_good_rises_in_six_practice_areas_and_not_in_assessment_and_analysis(run, False),
    lambda run: figures.test_good_rises_in_six_practice_areas_and_not_in_assessment_and_analysis(run, True),
    figures.test_practice_area_grades_are_the_moderated_ones,
    figures.test_actions_and_practice_developments_are_in_the_marts,
    figures.test_in_progress_and_cancelled_audits_never_count,
    figures.test_the_reference_data_is_the_contracts,
    figures.test_quarters_run_april_to_june_through_january_to_march,
    figures.test_actions_raised_and_completed_match_the_drop_quarter_by_quarter,
]
FIGURE_NAMES = [
    "22_audits_66_activities", "final_grades", "good_shares", "quarterly_shares", "targeted_audits", "against_2021_22",
    "good_rises_good_alone", "good_rises_good_or_outstanding", "moderated_area_grades", "actions_and_developments",
    "in_progress_and_cancelled", "reference_data", "quarters", "actions_by_quarter",
]


@pytest.mark.parametrize("figure", FIGURES, ids=FIGURE_NAMES)
def test_the_sample_figures_on_postgres_as_an_analyst_reads_them(postgres_sample_run, figure):
    assert postgres_sample_run.exit_code == 0, postgres_sample_run.output
    figure(postgres_sample_run)


# ---------------------------------------------------------------------------------- roles

def test_the_analyst_role_reads_marts_and_nothing_else(postgres_sample_run, postgres):
    import psycopg

    from orchestration.publish.postgres import confirm_analyst_access

    assert postgres_sample_run.exit_code == 0, postgres_sample_run.output
    with postgres.connect(DATABASE) as build:
        tables = build.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema IN ('marts', 'raw', 'ops', 'staging', 'intermediate', 'reference', 'test_failures')"
        ).fetchall()
        access = confirm_analyst_access(build, ANALYST_GROUP)
    marts = sorted(name for schema, name in tables if schema == "marts")
    assert len(marts) >= 15 and access.readable_marts == marts and access.readable_elsewhere == []
    elsewhere = [(schema, name) for schema, name in tables if schema != "marts"]
    assert {schema for schema, _ in elsewhere} == {"raw", "ops", "staging", "intermediate", "reference", "test_failures"}
    with postgres.connect(DATABASE, ANALYST) as analyst:
        for name in marts:
            analyst.execute(f"SELECT count(*) FROM marts.{name}").fetchone()
        for schema, name in elsewhere:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                analyst.execute(f"SELECT count(*) FROM {schema}.{name}")
        # Nor can an analyst write to the marts.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("DELETE FROM marts.fct_audit")


def test_no_raw_child_id_anywhere_in_the_postgres_warehouse(postgres_sample_run, postgres):
    from orchestration.sample.generator import build_sample

    raw_ids = {audit["child_id"] for audit in build_sample().audits}
    with postgres.connect(DATABASE) as connection:
        columns = connection.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns"
            " WHERE data_type IN ('text', 'character varying')"
            " AND table_schema IN ('marts', 'raw', 'ops', 'staging', 'intermediate', 'reference')"
        ).fetchall()
        assert len(columns) > 100
        for schema, table, column in columns:
            values = {v for (v,) in connection.execute(f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}"').fetchall()}
            assert not values & raw_ids, f"{schema}.{table}.{column} holds a child id"


# ---------------------------------------------------------------------------------- the same marts

def _family(data_type: str) -> str:
    """A column type's kind, whatever each database calls it."""
    kind = data_type.lower()
    for family, names in {
        "text": ("varchar", "text", "character varying"),
        "integer": ("integer", "int4", "int", "int32"),
        "bigint": ("bigint", "int8", "int64", "hugeint"),
        "float": ("double", "double precision", "float8"),
        "date": ("date",),
        "boolean": ("boolean", "bool"),
        "timestamp": ("timestamp", "timestamp without time zone"),
    }.items():
        if kind in names:
            return family
    return kind


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float):
        return round(value, 9)  # sums of doubles may differ in their last bits with the order added
    return value


def _marts(query, tables: list[str] | None = None) -> dict[str, tuple[list[tuple[str, str]], list[tuple]]]:
    """Every mart: its columns (name, kind) and its rows, sorted."""
    listed = tables or [name for (name,) in query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1"
    )]
    result = {}
    for table in listed:
        columns = [(name, _family(kind)) for name, kind in query(
            "SELECT column_name, data_type FROM information_schema.columns"
            f" WHERE table_schema = 'marts' AND table_name = '{table}' ORDER BY ordinal_position"
        )]
        rows = [tuple(_plain(value) for value in row) for row in query(f"SELECT * FROM marts.{table}")]
        result[table] = (columns, sorted(rows, key=repr))
    return result


def _duckdb_marts(database: Path) -> dict:
    with duckdb.connect(str(database), read_only=True) as connection:
        return _marts(lambda sql: connection.execute(sql).fetchall())


def _postgres_marts(postgres: Postgres, database: str) -> dict:
    with postgres.connect(database, ANALYST) as connection:
        return _marts(lambda sql: connection.execute(sql).fetchall())


def _load_log_totals(query) -> list[tuple]:
    return [tuple(_plain(v) for v in row) for row in query(
        "SELECT entity, status, count(*), sum(rows_read), sum(rows_loaded), sum(rows_rejected)"
        " FROM ops.load_log GROUP BY entity, status ORDER BY entity, status"
    )]


def _records(marts: dict, table: str) -> list[dict]:
    columns, rows = marts[table]
    return [dict(zip((name for name, _ in columns), row)) for row in rows]


def assert_same_marts(duckdb_marts: dict, postgres_marts: dict) -> None:
    assert sorted(duckdb_marts) == sorted(postgres_marts)
    for table, (columns, rows) in duckdb_marts.items():
        pg_columns, pg_rows = postgres_marts[table]
        assert columns == pg_columns, table
        assert len(rows) == len(pg_rows), table
        assert rows == pg_rows, table


def test_duckdb_and_postgres_give_the_same_marts_for_the_sample(sample_run, postgres_sample_run, postgres):
    assert sample_run.exit_code == 0 and postgres_sample_run.exit_code == 0
    duck, pg = _duckdb_marts(sample_run.paths.warehouse), _postgres_marts(postgres, DATABASE)
    assert len(duck) >= 15 and sum(len(rows) for _, rows in duck.values()) > 3000
    assert_same_marts(duck, pg)
    with duckdb.connect(str(sample_run.paths.build_database), read_only=True) as connection:
        duck_log = _load_log_totals(lambda sql: connection.execute(sql).fetchall())
    with postgres.connect(DATABASE) as connection:
        assert _load_log_totals(lambda sql: connection.execute(sql).fetchall()) == duck_log


def write_second_drop(landing: Path) -> None:
    """The next month's drop: a correction, a cancellation, new and incomplete audits, actions,
    and a second council's audits, as a regional hub pools them."""
    from orchestration.sample.generator import build_sample

    sample = build_sample()
    this_year = [
        a for a in sample.audits
        if a["audit_type"] == "case_file" and a["status"] == "completed" and a["audit_completed_date"] >= dt.date(2022, 4, 1)
    ]
    corrected, cancelled = this_year[0], this_year[1]
    moderation = next(
        a for a in sample.activities if a["audit_id"] == corrected["audit_id"] and a["activity_type"] == "moderation"
    )
    regraded = "Outstanding" if moderation["overall_grade"] != "Outstanding" else "Inadequate"

    def second_council(audit_id: str, grade: str, completed: str) -> dict:
        audit = whole_audit(audit_id, grade, completed=completed)
        audit["audits"] = [audit_row(audit_id, la_code="886", child_id=f"KENT-{audit_id}", audit_completed_date=completed)]
        return audit

    held_back = whole_audit("CFA-20003", "Good", completed="2022-09-21")
    held_back["audit_activities"] = held_back["audit_activities"][:2]
    held_back["audit_subsection_grades"] = held_back["audit_subsection_grades"][:7]
    audits = [
        whole_audit("CFA-20001", "Good", completed="2022-09-12"),
        whole_audit("CFA-20002", "Inadequate", area_grade="RI", completed="2022-09-20"),
        held_back,
        second_council("K-0001", "Outstanding", "2022-06-15"),
        second_council("K-0002", "Requires Improvement", "2022-07-20"),
        second_council("K-0003", "Good", "2022-08-10"),
    ]
    stamp = "2022-09-30"
    write_csv(landing, f"audits_{stamp}.csv", AUDIT_HEADER, [
        *[row for audit in audits for row in audit["audits"]],
        audit_row(cancelled["audit_id"], child_id=cancelled["child_id"], status="cancelled", audit_completed_date=""),
    ])
    write_csv(landing, f"audit_activities_{stamp}.csv", ACTIVITY_HEADER, [
        *[row for audit in audits for row in audit["audit_activities"]],
        [moderation["activity_id"], corrected["audit_id"], "moderation", moderation["completed_by_role"],
         moderation["completed_by_id"], moderation["activity_date"].isoformat(), regraded],
    ])
    write_csv(landing, f"audit_subsection_grades_{stamp}.csv", GRADE_HEADER, [
        *[row for audit in audits for row in audit["audit_subsection_grades"]],
        [moderation["activity_id"], PRACTICE_AREAS[0], regraded],
    ])
    write_csv(landing, f"audit_actions_{stamp}.csv", ACTION_HEADER, [
        ["ACT-20001-1", "CFA-20001", "Voice of the Child", "2022-09-13", "2022-09-20", "", "open"],
        ["ACT-20001-2", "CFA-20001", "Quality of Plans", "2022-09-13", "2022-10-01", "2022-09-25", "completed"],
        ["ACT-K-0001-1", "K-0001", "", "2022-06-16", "2022-07-16", "", "cancelled"],
    ])


def test_duckdb_and_postgres_give_the_same_marts_for_a_second_drop(sample_run, postgres_sample_run, postgres, tmp_path):
    import psycopg

    from orchestration.publish.postgres import AnalystAccessWrong, confirm_analyst_access

    assert sample_run.exit_code == 0 and postgres_sample_run.exit_code == 0
    # PostgreSQL: the sample's warehouse copied whole, so the sample's figures above stay as they are.
    postgres.server.psql(f"CREATE DATABASE {SECOND_DATABASE} TEMPLATE {DATABASE} OWNER {BUILD_ROLE};")
    postgres.server.psql(f"GRANT CONNECT ON DATABASE {SECOND_DATABASE} TO {ANALYST_GROUP};")
    # A grant made by hand outside marts: publishing refuses it, and the next build takes it back.
    postgres.server.psql(
        f"GRANT USAGE ON SCHEMA raw TO {ANALYST_GROUP}; GRANT SELECT ON raw.audits TO {ANALYST_GROUP};", database=SECOND_DATABASE
    )
    with postgres.connect(SECOND_DATABASE) as build, pytest.raises(AnalystAccessWrong, match="can read 1 table.* outside marts: raw.audits"):
        confirm_analyst_access(build, ANALYST_GROUP)
    pg_landing = tmp_path / "postgres" / "landing"
    pg_landing.mkdir(parents=True)
    write_second_drop(pg_landing)
    with cli_environment_restored():
        code, output = postgres.run(SECOND_DATABASE, pg_landing, tmp_path / "postgres" / "warehouse" / "cfa.duckdb")
    assert code == 0, output
    # Published by swapping schemas: tonight's marts in, last night's kept aside, unreadable.
    with postgres.connect(SECOND_DATABASE) as build:
        schemas = {name for (name,) in build.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'marts%'").fetchall()}
    assert schemas == {"marts", "marts_previous"}
    for hidden in ("raw.audits", "marts_previous.fct_audit"):
        with postgres.connect(SECOND_DATABASE, ANALYST) as analyst, pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute(f"SELECT count(*) FROM {hidden}")

    # DuckDB: a copy of the sample run's build, with the same drop on top.
    duck_landing = tmp_path / "duckdb" / "landing"
    duck_landing.mkdir(parents=True)
    write_second_drop(duck_landing)
    duck_warehouse = tmp_path / "duckdb" / "warehouse" / "cfa.duckdb"
    duck_paths = warehouse_paths(duck_landing, duck_warehouse)
    duck_paths.build_database.parent.mkdir(parents=True)
    shutil.copyfile(sample_run.paths.build_database, duck_paths.build_database)
    with cli_environment_restored():
        code, output = run_cli(["run", "--landing", str(duck_landing), "--warehouse", str(duck_warehouse)], tmp_path / "dagster")
    assert code == 0, output
    assert "files loaded:             4" in output and "rows rejected:            0" in output

    duck, pg = _duckdb_marts(duck_warehouse), _postgres_marts(postgres, SECOND_DATABASE)
    assert_same_marts(duck, pg)
    # The drop changed what it should, on both: a second council, a cancellation, a held-back audit.
    summary = {
        (row["la_code"], row["quarter_label"]): (row["case_file_audits_completed"], row["audit_activities"])
        for row in _records(duck, "mart_quarterly_summary")
    }
    assert summary[("886", "2022-23 Q1")] == (1, 3) and summary[("886", "2022-23 Q2")] == (2, 6)
    counted_this_year = sum(audits for (la, quarter), (audits, _) in summary.items() if la == "885" and quarter.startswith("2022-23"))
    assert counted_this_year == 22 - 1 + 2
    assert [(row["la_code"], row["audit_id"]) for row in _records(duck, "mart_audits_held_back")] == [("885", "CFA-20003")]


def test_every_relation_name_fits_postgres(dbt_manifest):
    """PostgreSQL cuts names at 63 characters: a longer model, seed or stored test would fail there."""
    import json

    manifest = json.loads(Path(dbt_manifest).read_text())
    too_long = [
        node.get("alias") or node["name"]
        for node in manifest["nodes"].values()
        if len(node.get("alias") or node["name"]) > 63 and (node["resource_type"] != "test" or node["config"].get("store_failures"))
    ]
    assert too_long == []


def test_the_loader_speaks_both_placeholder_styles():
    from orchestration.warehouse_db import _to_psycopg

    assert _to_psycopg("SELECT * FROM t WHERE a = ? AND b LIKE 'x%?' AND c = $run_id AND d = ?") == (
        "SELECT * FROM t WHERE a = %s AND b LIKE 'x%%?' AND c = %(run_id)s AND d = %s"
    )


def test_an_unknown_target_is_refused_and_file_commands_refuse_on_postgres(workspace, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CFA_TARGET", "oracle")
    with cli_environment_restored():
        code, _ = run_cli(["run", "--landing", str(workspace.landing_dir), "--warehouse", str(workspace.warehouse)], tmp_path)
    assert code == 2 and "CFA_TARGET='oracle' is not one of duckdb, postgres" in capsys.readouterr().err
    assert not workspace.build_database.exists()
    # backup, restore and rekey copy DuckDB files: on PostgreSQL they say what to do instead.
    monkeypatch.setenv("CFA_TARGET", "postgres")
    for command in (["backup", str(tmp_path / "backups")], ["rekey"], ["restore", str(tmp_path / "cfa-backup-x")]):
        with cli_environment_restored():
            code, _ = run_cli([*command, "--warehouse", str(workspace.warehouse)], tmp_path)
        assert code == 2 and "see docs/deployment.md" in capsys.readouterr().err, command
    assert not (tmp_path / "backups").exists()


DUCKDB_ONLY = [
    r"\blist_\w+\s*\(", r"\bregexp_matches\s*\(", r"\bstrftime\s*\(", r"\bstrptime\s*\(", r"\bany_value\s*\(",
    r"\barg_(max|min)\s*\(", r"\bgroup\s+by\s+all\b", r"\border\s+by\s+all\b", r"::", r"\bmedian\s*\(",
    r"\bepoch(_ms)?\s*\(", r"\bstruct_\w+\s*\(", r"\bdate_diff\s*\(", r"\bdatediff\s*\(", r"\bifnull\s*\(",
    r"\bcount_if\s*\(", r"\bbool_(and|or)\s*\(", r"\bstring_split\s*\(", r"\bcontains\s*\(", r"\bhugeint\b",
    r"\bqualify\b", r"\bexclude\s*\(", r"\bstrlen\s*\(",
]


def test_models_use_no_duckdb_only_sql_outside_dispatched_macros():
    """Every model, test and macro runs on PostgreSQL too: SQL only DuckDB knows belongs in an
    adapter-dispatched macro (duckdb__name), never in the project's shared SQL."""
    import re

    project = REPO_ROOT / "dbt_project"
    found = []
    for path in sorted([*project.glob("models/**/*.sql"), *project.glob("tests/**/*.sql"), *project.glob("macros/**/*.sql")]):
        text = path.read_text()
        # Adapter-specific macros are where dialects may differ.
        text = re.sub(r"{%-?\s*macro\s+(duckdb|postgres)__.*?{%-?\s*endmacro\s*-?%}", "", text, flags=re.S)
        # Jinja (dbt's own cross-database macros, dollar-quoted PostgreSQL blocks aside) and comments are not SQL here.
        text = re.sub(r"{#.*?#}|{{.*?}}|{%.*?%}|--[^\n]*", "", text, flags=re.S)
        for pattern in DUCKDB_ONLY:
            for match in re.finditer(pattern, text, flags=re.I):
                found.append(f"{path.relative_to(project)}: {match.group(0)}")
    assert found == []
