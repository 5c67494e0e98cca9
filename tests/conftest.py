"""Shared fixtures. Everything runs for real: DuckDB files, dbt, Dagster executions.

The slow part, a full run of the nightly job, is shared wherever tests only read its results:
the bundled sample through `cfa run` happens once per session (`sample_run`), however many
pytest-xdist workers ask for it (`built_once`).
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.pseudonymise import DEVELOPMENT_KEY
from orchestration.settings import REPO_ROOT, WarehousePaths, warehouse_paths

os.environ["CFA_PSEUDONYMISATION_KEY"] = DEVELOPMENT_KEY  # the tests' data is synthetic
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.pop("CFA_ENV", None)
os.environ.pop("CFA_TARGET", None)  # DuckDB, unless a test sets PostgreSQL (tests/test_postgres.py)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that run the nightly job themselves (marked job_runs) start first, the most runs
    first: pytest-xdist's two workers then end the suite on short tests, rather than one
    finishing a long one while the other waits. (xdist groups go first in any case.)"""

    def job_runs(item: pytest.Item) -> int:
        marker = item.get_closest_marker("job_runs")
        return marker.args[0] if marker else 0

    items.sort(key=job_runs, reverse=True)  # stable: otherwise in the order collected


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dagster-dbt loads its assets from the manifest: parse the project before anything imports it."""
    from orchestration.defs.resources import dbt_project

    def prepare(root: Path) -> dict:
        # Another session (in this checkout) may be parsing too: one at a time, so none reads a
        # half-written manifest.
        target = dbt_project.manifest_path.parent
        target.mkdir(parents=True, exist_ok=True)
        with (target / ".prepare.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            dbt_project.preparer.prepare(dbt_project)
        return {}

    # pytest-xdist's workers each start here: the first parses (dbt deps and parse, seconds of
    # CPU), the other waits for it and uses the same manifest.
    built_once(tmp_path_factory, "dbt_manifest", prepare)
    return dbt_project.manifest_path


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WarehousePaths:
    """A landing folder and warehouse of the test's own, set in the environment as `cfa run` sets them."""
    landing = tmp_path / "landing"
    landing.mkdir()
    warehouse = tmp_path / "warehouse" / "cfa.duckdb"
    monkeypatch.setenv("CFA_LANDING_DIR", str(landing))
    monkeypatch.setenv("CFA_WAREHOUSE", str(warehouse))
    return warehouse_paths(landing, warehouse)


def write_csv(
    directory: Path, name: str, header: list[str], rows: list[list[object]], encoding: str = "utf-8"
) -> Path:
    path = directory / name
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


AUDIT_HEADER = [
    "audit_id", "la_code", "child_id", "service_area", "team", "audit_type", "targeted_audit_id",
    "audit_theme", "audit_start_date", "audit_completed_date", "status",
]
ACTIVITY_HEADER = ["activity_id", "audit_id", "activity_type", "completed_by_role", "completed_by_id", "activity_date", "overall_grade"]
GRADE_HEADER = ["activity_id", "practice_area", "grade"]
ACTION_HEADER = ["action_id", "audit_id", "practice_area", "raised_date", "due_date", "completed_date", "status"]
PRACTICE_AREAS = [
    "Voice of the Child", "Assessment and Analysis", "Quality of Plans", "Management Oversight",
    "Partnership Working", "Strengths-Based Practice", "Embracing Diversity",
]


def audit_row(audit_id: str, **overrides: object) -> list[object]:
    values = {
        "audit_id": audit_id, "la_code": "885", "child_id": f"CHILD-{audit_id}", "service_area": "Children in Care",
        "team": "CiC North", "audit_type": "case_file", "targeted_audit_id": "", "audit_theme": "",
        "audit_start_date": "2022-06-01", "audit_completed_date": "2022-06-20", "status": "completed",
    }
    values.update(overrides)
    return [values[column] for column in AUDIT_HEADER]


def whole_audit(audit_id: str, grade: str, area_grade: str | None = None, completed: str = "2022-06-20") -> dict[str, list[list[object]]]:
    """One completed case file audit with its three activities and both gradings' practice areas."""
    area_grade = area_grade or grade
    activities = [
        [f"{audit_id}-AUD", audit_id, "audit", "Team Manager", "S1", "2022-06-05", grade],
        [f"{audit_id}-PEER", audit_id, "peer_review", "Practice Lead", "S2", "2022-06-10", ""],
        [f"{audit_id}-MOD", audit_id, "moderation", "QA Officer", "S3", completed, grade],
    ]
    grades = [[f"{audit_id}-{kind}", area, area_grade] for kind in ("AUD", "MOD") for area in PRACTICE_AREAS]
    return {
        "audits": [audit_row(audit_id, audit_completed_date=completed)],
        "audit_activities": activities,
        "audit_subsection_grades": grades,
    }


def write_drop(directory: Path, stamp: str, *audits: dict[str, list[list[object]]]) -> list[Path]:
    headers = {"audits": AUDIT_HEADER, "audit_activities": ACTIVITY_HEADER, "audit_subsection_grades": GRADE_HEADER}
    written = []
    for entity, header in headers.items():
        rows = [row for audit in audits for row in audit.get(entity, [])]
        if rows:
            written.append(write_csv(directory, f"{entity}_{stamp}.csv", header, rows))
    return written


@dataclass
class Ingested:
    paths: WarehousePaths
    summary: object

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.paths.build_database), read_only=True) as connection:
            return connection.execute(sql, params or []).fetchall()

    def rejections(self) -> list[tuple]:
        return self.query(
            "SELECT file_name, sheet_name, row_number, field, value, reason FROM ops.rejected_rows ORDER BY file_name, row_number, field"
        )

    def load_log(self) -> list[dict]:
        with duckdb.connect(str(self.paths.build_database), read_only=True) as connection:
            relation = connection.sql("SELECT * FROM ops.load_log ORDER BY load_id")
            return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


@pytest.fixture()
def ingest(workspace: WarehousePaths) -> Callable[..., Ingested]:
    """Run ingestion (not dbt) over the workspace's landing folder."""
    from orchestration.ingest.landing import ingest_landing_folder

    def run(run_id: str = "test-run", today: dt.date | None = None) -> Ingested:
        summary = ingest_landing_folder(workspace, run_id=run_id, today=today, log=lambda message: None)
        return Ingested(paths=workspace, summary=summary)

    return run


@pytest.fixture()
def run_job(workspace: WarehousePaths):
    """Run the nightly job through Dagster, as the schedule does, and return a mart reader."""
    import dagster as dg

    from orchestration.definitions import defs

    job = defs.resolve_job_def("nightly_warehouse")

    def run():
        with dg.instance_for_test() as instance:
            result = job.execute_in_process(instance=instance, raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]

        def marts(sql: str) -> list[tuple]:
            with duckdb.connect(str(workspace.warehouse), read_only=True) as connection:
                return connection.execute(sql).fetchall()

        return marts

    return run


@dataclass
class SampleRun:
    paths: WarehousePaths
    exit_code: int
    output: str
    sample_files: list[Path]
    dagster_storage: Path

    def marts(self, sql: str, params: list | None = None) -> list[tuple]:
        """Query the published warehouse, as an analyst would."""
        with duckdb.connect(str(self.paths.warehouse), read_only=True) as connection:
            return connection.execute(sql, params or []).fetchall()


DAGSTER_VARIABLES = ("DAGSTER_HOME", "CFA_DAGSTER_STORAGE", "CFA_DAGSTER_COMPUTE_LOGS")


def dagster_environment(dagster_storage: Path) -> dict[str, str]:
    """The project's dagster.yaml, with its storage in a folder of the test's own."""
    return {
        "DAGSTER_HOME": str(REPO_ROOT),
        "CFA_DAGSTER_STORAGE": str(dagster_storage / "storage"),
        "CFA_DAGSTER_COMPUTE_LOGS": str(dagster_storage / "compute_logs"),
    }


@contextmanager
def cli_environment_restored() -> Iterator[None]:
    """`cfa` sets the landing, warehouse and Dagster variables for its process: put them back
    for the tests that follow."""
    saved = {key: os.environ.get(key) for key in ("CFA_LANDING_DIR", "CFA_WAREHOUSE", *DAGSTER_VARIABLES)}
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_cli(argv: list[str], dagster_storage: Path) -> tuple[int, str]:
    """`cfa` in-process, against the project's dagster.yaml with storage in a temporary folder."""
    import contextlib
    import io

    from orchestration import cli

    os.environ.update(dagster_environment(dagster_storage))
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = cli.main(argv)
    return code, output.getvalue()


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], dict]) -> tuple[Path, dict]:
    """A folder built once per session and read by every pytest-xdist worker: a session fixture
    alone is built once per worker, and a full nightly run is the suite's dearest step. The first
    worker to ask builds it (`build` fills the folder and returns what the tests need to know,
    as JSON) while the others wait on a lock. Tests read it and never write it: one that needs
    to change a warehouse works on its own copy (`copy_warehouse_folders`)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this session's folder, shared by its workers
    root, record = base / name, base / f"{name}.json"
    with (base / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            if root.exists():
                shutil.rmtree(root)  # a worker's build that failed: this one tries again
            root.mkdir()
            record.write_text(json.dumps(build(root)))
        return root, json.loads(record.read_text())


def copy_warehouse_folders(source: Path, target: Path) -> None:
    """A copy of a run's folders (landing, its archive, warehouse with its build, Dagster
    storage) from one root to another, the load log pointing at the copy's archive."""
    for name in ("landing", "landing_archive", "warehouse", "dagster"):
        if (source / name).exists():
            shutil.copytree(source / name, target / name, symlinks=True, dirs_exist_ok=True)
    for database in (target / "warehouse" / "cfa.duckdb", target / "warehouse" / ".build" / "cfa.duckdb"):
        with duckdb.connect(str(database)) as connection:
            connection.execute("UPDATE ops.load_log SET archived_to = replace(archived_to, ?, ?)", [str(source), str(target)])


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    """The bundled sample through `cfa run`: the nightly Dagster job, ingestion to publishing."""
    from orchestration.sample.generator import write_sample

    def build(root: Path) -> dict:
        landing = root / "landing"
        sample_files = write_sample(root / "sample")
        landing.mkdir()
        for path in sample_files:
            (landing / path.name).write_bytes(path.read_bytes())
        warehouse = root / "warehouse" / "cfa.duckdb"
        with cli_environment_restored():
            code, output = run_cli(["run", "--landing", str(landing), "--warehouse", str(warehouse)], root / "dagster")
        return {"exit_code": code, "output": output, "sample_files": [str(path) for path in sample_files]}

    root, built = built_once(tmp_path_factory, "sample_run", build)
    return SampleRun(
        paths=warehouse_paths(root / "landing", root / "warehouse" / "cfa.duckdb"), exit_code=built["exit_code"],
        output=built["output"], sample_files=[Path(path) for path in built["sample_files"]], dagster_storage=root / "dagster",
    )


# ---------------------------------------------------------------------------------------------
# Two nights of one small council, read (or copied) by tests in test_fixes_land.py and
# test_later_drops.py: each of those once ran its own first night on the same drop.
# ---------------------------------------------------------------------------------------------

# The tests reading or copying the nights go to one pytest-xdist worker, one after another: the
# other worker never waits for a night, and takes the rest of the suite meanwhile.
ON_THE_SMALL_COUNCILS_NIGHTS = pytest.mark.xdist_group("small_council_nights")


@dataclass
class Night:
    root: Path
    exit_code: int  # as `cfa run` gives it: 0 when the job succeeded
    output: str  # what `cfa run` printed, or the job's failure messages
    analyst_sees: tuple | None = None  # `second_night`: what a reader holding the warehouse saw
    published_before: str | None = None  # `hand_edited_night`: the published warehouse's digest before it

    @property
    def dagster_storage(self) -> Path:
        return self.root / "dagster"

    @property
    def paths(self) -> WarehousePaths:
        return warehouse_paths(self.root / "landing", self.root / "warehouse" / "cfa.duckdb")

    def marts(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.paths.warehouse), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def copy_to(self, root: Path) -> WarehousePaths:
        """The night's folders under `root`, a test's own to change: as `workspace` lays them out."""
        copy_warehouse_folders(self.root, root)
        return warehouse_paths(root / "landing", root / "warehouse" / "cfa.duckdb")


def _first_night(root: Path) -> dict:
    landing = root / "landing"
    landing.mkdir()
    write_drop(landing, "2022-06-30", whole_audit("A1", "Good"))
    write_csv(landing, "audits_2022-06-30_old.csv", AUDIT_HEADER, [
        audit_row("OLD-1", audit_start_date="1999-03-01", audit_completed_date="1999-03-20"),
    ])
    with cli_environment_restored():
        code, output = run_cli(
            ["run", "--landing", str(landing), "--warehouse", str(root / "warehouse" / "cfa.duckdb")], root / "dagster"
        )
    return {"exit_code": code, "output": output}


@pytest.fixture(scope="session")
def first_night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    """A council's first night through `cfa run`: one whole audit (A1, Good) and, in a file of
    its own, an audit dated before the warehouse begins (OLD-1), rejected at the door."""
    root, built = built_once(tmp_path_factory, "first_night", _first_night)
    return Night(root, built["exit_code"], built["output"])


@pytest.fixture(scope="session")
def second_night(tmp_path_factory: pytest.TempPathFactory, first_night: Night) -> Night:
    """The night after `first_night`, on a copy of it: the end-of-July drop brings a second audit
    (B1, Inadequate) and A1's actions, one overdue and one not yet due. The nightly job runs in
    process, as the schedule runs it, while an analyst holds the published warehouse open; what
    the analyst still sees afterwards is recorded."""

    def build(root: Path) -> dict:
        import dagster as dg

        from orchestration.definitions import defs

        paths = first_night.copy_to(root)
        write_drop(paths.landing_dir, "2022-07-31", whole_audit("B1", "Inadequate", completed="2022-07-15"))
        write_csv(paths.landing_dir, "audit_actions_2022-07-31.csv", ACTION_HEADER, [
            ["ACT-LATE", "A1", "", "2022-06-20", "2022-07-15", "", "open"],
            ["ACT-DUE", "A1", "", "2022-06-20", "2022-08-15", "", "open"],
        ])
        with cli_environment_restored():
            os.environ.update(CFA_LANDING_DIR=str(paths.landing_dir), CFA_WAREHOUSE=str(paths.warehouse))
            analyst = duckdb.connect(str(paths.warehouse), read_only=True)
            try:
                with dg.instance_for_test() as instance:
                    result = defs.resolve_job_def("nightly_warehouse").execute_in_process(instance=instance, raise_on_error=False)
                analyst_sees = analyst.execute("SELECT count(*) FROM marts.fct_audit").fetchone()
            finally:
                analyst.close()
        return {
            "exit_code": 0 if result.success else 1,
            "output": "\n".join(str(event.message) for event in result.all_events if event.is_failure),
            "analyst_sees": list(analyst_sees),
        }

    root, built = built_once(tmp_path_factory, "second_night", build)
    return Night(root, built["exit_code"], built["output"], tuple(built["analyst_sees"]))


@pytest.fixture(scope="session")
def hand_edited_night(tmp_path_factory: pytest.TempPathFactory, first_night: Night) -> Night:
    """The night after `first_night`, on a copy of it, through `cfa run`: a row written into raw
    behind ingestion's back (hand-edit.csv row 7: A1-MOD's Voice of the Child graded 'Excellent',
    a grade the contract does not know) fails a blocking dbt test. The digest of the warehouse
    the first night published is recorded before the run."""

    def build(root: Path) -> dict:
        paths = first_night.copy_to(root)
        published_before = hashlib.sha256(paths.warehouse.read_bytes()).hexdigest()
        with duckdb.connect(str(paths.build_database)) as connection:
            connection.execute(
                "INSERT INTO raw.audit_subsection_grades (load_id, file_name, source_row, loaded_at, activity_id, practice_area, grade)"
                " VALUES (99, 'hand-edit.csv', 7, now(), 'A1-MOD', 'Voice of the Child', 'Excellent')"
            )
        with cli_environment_restored():
            code, output = run_cli(["run", "--landing", str(paths.landing_dir), "--warehouse", str(paths.warehouse)], root / "dagster")
        return {"exit_code": code, "output": output, "published_before": published_before}

    root, built = built_once(tmp_path_factory, "hand_edited_night", build)
    return Night(root, built["exit_code"], built["output"], published_before=built["published_before"])
