"""Operations an operator can trust: killed runs, one writer, the production key, one key per
warehouse, history, backups, retention, and messages instead of tracebacks.

Runs are real: `cfa` in a subprocess or in-process, the nightly Dagster job, DuckDB files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration import cli
from orchestration.settings import REPO_ROOT, warehouse_paths
from tests.conftest import (
    DAGSTER_VARIABLES,
    built_once,
    cli_environment_restored,
    copy_warehouse_folders,
    dagster_environment,
    run_cli,
    whole_audit,
    write_drop,
)

POOL = "duckdb_warehouse"
# The tests on a copy of `published_once` go to one pytest-xdist worker, one after another: the
# other worker never waits for its run, and takes the rest of the suite meanwhile.
ON_THE_PUBLISHED_COPY = pytest.mark.xdist_group("published_once")


@pytest.fixture(autouse=True)
def own_dagster_storage(tmp_path) -> Path:
    """Each test's Dagster instance storage is its own, and the environment is put back after."""
    saved = {key: os.environ.get(key) for key in DAGSTER_VARIABLES}
    os.environ.update(dagster_environment(tmp_path / "dagster"))
    yield tmp_path / "dagster"
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def published_audits(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return [row[0] for row in connection.execute("SELECT audit_id FROM marts.fct_audit ORDER BY audit_id").fetchall()]


def start_cli(argv: list[str], dagster_storage: Path, log: Path, **env: str) -> subprocess.Popen:
    """`cfa` in a process of its own (and its own process group, with the dbt it starts)."""
    from dagster import DagsterInstance

    os.environ.update(dagster_environment(dagster_storage))
    with DagsterInstance.get():
        pass  # create the storage first: two processes creating it at once can corrupt it
    environment = {**os.environ, **env}
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", *argv],
        cwd=REPO_ROOT, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def wait_until_dbt_holds_the_pool(process: subprocess.Popen, dagster_storage: Path) -> None:
    """Block until the run is mid-way: its dbt step holds the warehouse pool's one slot."""
    from dagster import DagsterInstance

    os.environ.update(dagster_environment(dagster_storage))
    deadline = time.monotonic() + 300  # a guard against a hang, not a timing the test relies on
    with DagsterInstance.get() as instance:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the run ended before its dbt step started"
            slots = instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
            if any(slot.step_key == "warehouse_dbt_models" for slot in slots):
                return
            time.sleep(0.2)
    raise AssertionError("the run never reached its dbt step")


def run_status_and_slots(run_id: str, dagster_storage: Path):
    from dagster import DagsterInstance

    os.environ.update(dagster_environment(dagster_storage))
    with DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        return run.status.value, instance.event_log_storage.get_concurrency_info(POOL).claimed_slots


# 1. A killed run never stops the next -------------------------------------------------------


@pytest.mark.job_runs(2)
def test_a_run_after_a_killed_run_marks_it_failed_frees_its_pool_slot_and_publishes(workspace, tmp_path):
    from orchestration.ops.locking import lock_path, read_holder

    storage = tmp_path / "dagster"
    write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"))
    argv = ["run", "--landing", str(workspace.landing_dir), "--warehouse", str(workspace.warehouse)]
    killed = start_cli(argv, storage, tmp_path / "killed.log")
    wait_until_dbt_holds_the_pool(killed, storage)
    killed_run = read_holder(lock_path(workspace)).run_id
    os.killpg(killed.pid, signal.SIGKILL)  # as the OOM killer or a reboot would: no clean-up at all
    killed.wait()

    code, output = run_cli([*argv, "--wait", "0"], storage)

    assert code == 0, output
    assert f"run {killed_run} was still STARTED but its process (pid {killed.pid}) is gone: marked it failed" in output
    assert f"freed the pool slots still held by run {killed_run} (FAILURE)" in output
    status, slots = run_status_and_slots(killed_run, storage)
    assert status == "FAILURE" and slots == []
    assert published_audits(workspace.warehouse) == ["A1"]


def test_a_dbt_build_is_stopped_when_its_step_fails_and_leaves_the_build_database_free(workspace, ingest, monkeypatch):
    """dagster-dbt stops dbt only when the run is interrupted: an error while the step reads dbt's
    events (a stale manifest made Dagster refuse one) left dbt writing the build database after
    the step had failed, so the run summary, and the next run, found it held."""
    from orchestration.defs.assets.dbt import dbt_stopped_on_error
    from orchestration.defs.resources import resources

    write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"))
    ingest()
    monkeypatch.setenv("CFA_BUILD_DATABASE", str(workspace.build_database))
    invocation = resources["dbt"].cli(["build"], raise_on_error=False)

    with pytest.raises(RuntimeError, match="the step failed"), dbt_stopped_on_error(invocation.process):
        for _ in invocation.stream_raw_events():
            raise RuntimeError("the step failed")

    assert invocation.process.poll() is not None
    with duckdb.connect(str(workspace.build_database)) as connection:
        assert connection.execute("SELECT count(*) FROM raw.audits").fetchall() == [(1,)]


def test_cfa_recover_fails_a_run_whose_process_is_gone_and_frees_its_slot(workspace, own_dagster_storage, capsys):
    import socket

    from dagster import DagsterInstance, DagsterRunStatus
    from dagster._core.test_utils import create_run_for_test

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    gone_pid = str(ended.pid)  # the process of a run killed before it could report its end
    with DagsterInstance.get() as instance:
        run = create_run_for_test(
            instance, job_name="nightly_warehouse", status=DagsterRunStatus.STARTED,
            tags={"cfa/trigger": "cli", "cfa/pid": gone_pid, "cfa/host": socket.gethostname()},
        )
        instance.event_log_storage.initialize_concurrency_limit_to_default(POOL)
        instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "warehouse_dbt_models")

    code = cli.main(["recover", "--warehouse", str(workspace.warehouse), "--wait", "0"])

    output = capsys.readouterr().out
    assert code == 0
    assert f"cfa recover: run {run.run_id} was still STARTED but its process (pid {gone_pid}) is gone: marked it failed" in output
    assert f"cfa recover: freed the pool slots still held by run {run.run_id} (FAILURE)" in output
    status, slots = run_status_and_slots(run.run_id, own_dagster_storage)
    assert status == "FAILURE" and slots == []


@pytest.mark.job_runs(1)
def test_sigterm_stops_a_run_cleanly_and_frees_the_warehouse(workspace, tmp_path):
    from orchestration.ops.locking import lock_path, read_holder

    storage = tmp_path / "dagster"
    write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"))
    log = tmp_path / "stopped.log"
    process = start_cli(["run", "--landing", str(workspace.landing_dir), "--warehouse", str(workspace.warehouse)], storage, log)
    wait_until_dbt_holds_the_pool(process, storage)
    run_id = read_holder(lock_path(workspace)).run_id

    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=300)

    output = log.read_text()
    assert code != 0
    assert f"cfa run: stopped by SIGTERM or SIGINT: run {run_id} is marked failed and nothing was published" in output
    status, slots = run_status_and_slots(run_id, storage)
    assert status == "FAILURE" and slots == []
    assert read_holder(lock_path(workspace)) is None
    assert not workspace.warehouse.exists()


def test_a_run_that_must_wait_names_what_it_waits_for_and_gives_up_after_its_limit(workspace, tmp_path, capsys):
    from orchestration.ops.locking import hold_warehouse

    # Another live process's run holds the warehouse (this test's process stands in for it).
    with hold_warehouse(workspace, "run-in-progress", "schedule nightly_warehouse_schedule", wait_seconds=0):
        code = cli.main(["run", "--landing", str(workspace.landing_dir), "--warehouse", str(workspace.warehouse), "--wait", "1"])

    captured = capsys.readouterr()
    holder = f"run run-in-progress (schedule nightly_warehouse_schedule, pid {os.getpid()}"
    assert code == 3
    assert f"Waiting for the warehouse {workspace.warehouse}: {holder}" in captured.out
    assert "giving up after 1 s" in captured.out
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1
    assert errors[0].startswith(f"cfa run: another warehouse run is in progress for {workspace.warehouse}: {holder}")
    assert "gave up after 1 s" in errors[0] and "--wait SECONDS" in errors[0]


# 2. One writer, however a run starts ---------------------------------------------------------


def test_a_sensor_run_is_refused_while_cfa_run_holds_the_warehouse_and_takes_no_files(workspace, tmp_path):
    import dagster as dg

    from orchestration.definitions import defs

    files = write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"))
    holder_script = (
        "import sys\n"
        "from orchestration.ops.locking import hold_warehouse\n"
        "from orchestration.settings import warehouse_paths\n"
        "with hold_warehouse(warehouse_paths(), 'cli-run', 'cfa run', wait_seconds=0):\n"
        "    print('holding', flush=True)\n"
        "    sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_script], cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with dg.instance_for_test() as instance:
            result = defs.resolve_job_def("nightly_warehouse").execute_in_process(
                instance=instance, raise_on_error=False, tags={"dagster/sensor_name": "landing_folder_sensor"}
            )
    finally:
        holder.stdin.close()
        holder.wait()

    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    assert [event.step_key for event in failures] == ["ingest_audit_extracts"]
    description = failures[0].step_failure_data.user_failure_data.description
    assert description.startswith(f"the warehouse {workspace.warehouse} is in use by run cli-run (cfa run, pid {holder.pid}")
    assert "this run stops without writing" in description
    assert all(path.exists() for path in files), "the refused run took the landing files"
    assert not workspace.build_database.exists()


def test_cfa_run_waits_for_a_scheduled_run_between_its_steps_then_refuses(workspace, capsys):
    from orchestration.ops.locking import lock_path, read_holder, writer_step

    # A scheduled run's first writer step has finished: the lock is free, the lease names it.
    with writer_step(workspace, "scheduled-run", "schedule nightly_warehouse_schedule"):
        pass
    assert read_holder(lock_path(workspace)).run_id == "scheduled-run"

    code = cli.main(["run", "--landing", str(workspace.landing_dir), "--warehouse", str(workspace.warehouse), "--wait", "0"])

    errors = capsys.readouterr().err
    assert code == 3
    assert "another warehouse run is in progress" in errors and "run scheduled-run (schedule nightly_warehouse_schedule" in errors
    assert read_holder(lock_path(workspace)).run_id == "scheduled-run"


# 3. The production guard holds ---------------------------------------------------------------


@ON_THE_PUBLISHED_COPY
@pytest.mark.parametrize("key", [None, "cfa-development-key-synthetic-data-only"])
@pytest.mark.parametrize("command", ["run", "validate"])
def test_production_refuses_every_command_without_the_councils_key_in_one_line(published, monkeypatch, capsys, key, command):
    monkeypatch.setenv("CFA_ENV", "production")
    if key is None:
        monkeypatch.delenv("CFA_PSEUDONYMISATION_KEY", raising=False)
    else:
        monkeypatch.setenv("CFA_PSEUDONYMISATION_KEY", key)
    files = write_drop(published.landing_dir, "2022-07-31", whole_audit("A3", "Good"))
    before = file_digest(published.warehouse), file_digest(published.build_database)
    argv = {
        "run": ["run", "--landing", str(published.landing_dir), "--warehouse", str(published.warehouse)],
        "validate": ["validate", *map(str, files), "--warehouse", str(published.warehouse)],
    }[command]

    code = cli.main(argv)

    errors = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(errors) == 1 and errors[0].startswith(f"cfa {command}: CFA_ENV=production but CFA_PSEUDONYMISATION_KEY")
    assert "refusing to load children's data" in errors[0]
    assert (file_digest(published.warehouse), file_digest(published.build_database)) == before
    assert all(path.exists() for path in files)


def test_the_makefile_passes_no_default_key_in_production():
    environment = {key: value for key, value in os.environ.items() if key != "CFA_PSEUDONYMISATION_KEY"}

    def key_line(**env: str) -> str:
        printed = subprocess.run(
            ["make", "-s", "--no-print-directory", "settings"], cwd=REPO_ROOT, capture_output=True, text=True,
            env={**environment, **env},
        )
        assert printed.returncode == 0, printed.stderr
        return next(line for line in printed.stdout.splitlines() if line.startswith("CFA_PSEUDONYMISATION_KEY="))

    assert key_line() == "CFA_PSEUDONYMISATION_KEY=(the development key)"
    assert key_line(CFA_ENV="production") == "CFA_PSEUDONYMISATION_KEY=(not set)"
    assert key_line(CFA_ENV="production", CFA_PSEUDONYMISATION_KEY="council-secret") == "CFA_PSEUDONYMISATION_KEY=(set)"


# 7. Messages, not tracebacks -----------------------------------------------------------------


def test_the_development_key_note_is_one_line_once_and_no_python_warning(tmp_path):
    files = write_drop(tmp_path, "2022-06-30", whole_audit("A1", "Good"))
    environment = {key: value for key, value in os.environ.items() if key not in ("CFA_PSEUDONYMISATION_KEY", "CFA_ENV")}

    finished = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "validate", *map(str, files), "--warehouse", str(tmp_path / "none.duckdb")],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True,
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stderr.splitlines() == [
        "note: CFA_PSEUDONYMISATION_KEY is not set: using the development key, fit for synthetic data only."
    ]


def test_the_daemon_monitors_runs_and_frees_the_slots_of_finished_ones(tmp_path, monkeypatch):
    import dagster as dg

    monkeypatch.setenv("DAGSTER_HOME", str(REPO_ROOT))
    monkeypatch.setenv("CFA_DAGSTER_STORAGE", str(tmp_path / "storage"))
    monkeypatch.setenv("CFA_DAGSTER_COMPUTE_LOGS", str(tmp_path / "logs"))
    with dg.DagsterInstance.get() as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["max_runtime_seconds"] > 0
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0


# 4. One key per warehouse and 5. never publish less: a published warehouse to refuse over ----


def _publish_a_small_drop(root: Path) -> dict:
    landing = root / "landing"
    landing.mkdir()
    write_drop(landing, "2022-06-30", whole_audit("A1", "Good"), whole_audit("A2", "Outstanding"))
    with cli_environment_restored():
        code, output = run_cli(
            ["run", "--landing", str(landing), "--warehouse", str(root / "warehouse" / "cfa.duckdb")], root / "dagster"
        )
    return {"exit_code": code, "output": output}


@pytest.fixture(scope="session")
def published_once(tmp_path_factory) -> Path:
    """One small drop through `cfa run`, published (once, whichever pytest-xdist worker asks
    first): copied by each test that needs a warehouse."""
    root, built = built_once(tmp_path_factory, "published_once", _publish_a_small_drop)
    assert built["exit_code"] == 0, built["output"]
    return root


@pytest.fixture()
def published(published_once, tmp_path, monkeypatch):
    """A copy of the published warehouse, its build, archive and Dagster storage, the test's own."""
    root = tmp_path / "copy"
    copy_warehouse_folders(published_once, root)
    monkeypatch.setenv("CFA_LANDING_DIR", str(root / "landing"))
    monkeypatch.setenv("CFA_WAREHOUSE", str(root / "warehouse" / "cfa.duckdb"))
    return warehouse_paths(root / "landing", root / "warehouse" / "cfa.duckdb")


def file_digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli_run(paths, *extra: str) -> tuple[int, str]:
    return run_cli(
        ["run", "--landing", str(paths.landing_dir), "--warehouse", str(paths.warehouse), "--wait", "0", *extra],
        paths.warehouse.parent.parent / "dagster",
    )


@ON_THE_PUBLISHED_COPY
def test_a_run_with_another_key_is_refused_and_changes_nothing(published, monkeypatch, capsys):
    from orchestration.ops.keyring import key_fingerprint, short

    before = file_digest(published.warehouse), file_digest(published.build_database)
    files = write_drop(published.landing_dir, "2022-07-31", whole_audit("A3", "Good"))
    monkeypatch.setenv("CFA_PSEUDONYMISATION_KEY", "a-different-key")

    code, output = cli_run(published)

    errors = capsys.readouterr().err.strip().splitlines()
    assert code == 4, output
    assert len(errors) == 1
    assert errors[0].startswith("cfa run: the published warehouse was built with another pseudonymisation key")
    assert f"CFA_PSEUDONYMISATION_KEY has {short(key_fingerprint(b'a-different-key'))}" in errors[0]
    assert "a-different-key" not in errors[0] and "cfa rekey" in errors[0]
    assert (file_digest(published.warehouse), file_digest(published.build_database)) == before
    assert all(path.exists() for path in files)


@ON_THE_PUBLISHED_COPY
def test_the_build_records_its_keys_fingerprint_never_the_key(published):
    from orchestration.ingest.pseudonymise import DEVELOPMENT_KEY
    from orchestration.ops.keyring import key_fingerprint

    with duckdb.connect(str(published.warehouse), read_only=True) as connection:
        recorded = connection.execute("SELECT key_fingerprint FROM ops.warehouse_identity").fetchall()
    assert recorded == [(key_fingerprint(DEVELOPMENT_KEY.encode()),)]
    assert DEVELOPMENT_KEY.encode() not in published.warehouse.read_bytes()


@ON_THE_PUBLISHED_COPY
@pytest.mark.parametrize("loss", ["deleted", "replaced"])
def test_a_run_whose_build_lost_its_history_is_refused_and_changes_nothing(published, capsys, loss):
    import shutil

    before = file_digest(published.warehouse)
    files = write_drop(published.landing_dir, "2022-07-31", whole_audit("A3", "Good"))
    shutil.rmtree(published.build_database.parent)
    if loss == "replaced":  # e.g. an old or empty build copied back by hand
        published.build_database.parent.mkdir()
        duckdb.connect(str(published.build_database)).close()

    code, output = cli_run(published)

    errors = capsys.readouterr().err.strip().splitlines()
    assert code == 5, output
    assert len(errors) == 1 and "the build lost its history" in errors[0] and "--allow-history-loss" in errors[0]
    assert file_digest(published.warehouse) == before
    assert all(path.exists() for path in files)
    assert published_audits(published.warehouse) == ["A1", "A2"]


@ON_THE_PUBLISHED_COPY
def test_a_scheduled_run_whose_build_lost_its_history_is_refused_at_ingestion(published):
    import shutil

    import dagster as dg

    from orchestration.definitions import defs

    before = file_digest(published.warehouse)
    files = write_drop(published.landing_dir, "2022-07-31", whole_audit("A3", "Good"))
    shutil.rmtree(published.build_database.parent)

    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("nightly_warehouse").execute_in_process(
            instance=instance, raise_on_error=False, tags={"dagster/schedule_name": "nightly_warehouse_schedule"}
        )

    failures = [event for event in result.all_events if event.is_step_failure]
    assert [event.step_key for event in failures] == ["ingest_audit_extracts"]
    assert "the build lost its history" in failures[0].step_failure_data.user_failure_data.description
    assert file_digest(published.warehouse) == before
    assert all(path.exists() for path in files)


@ON_THE_PUBLISHED_COPY
def test_the_operator_can_publish_a_smaller_warehouse_on_purpose(published, capsys):
    import shutil

    shutil.rmtree(published.build_database.parent)
    write_drop(published.landing_dir, "2022-07-31", whole_audit("A3", "Good"))

    code, output = cli_run(published, "--allow-history-loss")

    assert code == 0, output
    assert "the build lost its history" in output and "the loss is allowed" in output
    assert published_audits(published.warehouse) == ["A3"]


# 5. Backup and restore -----------------------------------------------------------------------


@ON_THE_PUBLISHED_COPY
def test_restore_puts_back_what_backup_took_after_the_build_folder_and_archive_are_lost(published, tmp_path, capsys):
    import shutil

    from orchestration.ops.history import check_history

    argv = ["--landing", str(published.landing_dir), "--warehouse", str(published.warehouse), "--wait", "0"]
    build_before = file_digest(published.build_database)
    archived_before = sorted(path.relative_to(published.archive_dir) for path in published.archive_dir.rglob("*.csv"))
    assert run_cli(["backup", str(tmp_path / "backups"), *argv], tmp_path / "dagster")[0] == 0
    (folder,) = (tmp_path / "backups").iterdir()

    shutil.rmtree(published.build_database.parent)
    shutil.rmtree(published.archive_dir)
    duckdb.connect(str(published.warehouse)).execute("DROP SCHEMA marts CASCADE").close()  # a bad hand edit

    code, output = run_cli(["restore", str(folder), *argv], tmp_path / "dagster")

    assert code == 0, output
    assert f"restored the build database and the published warehouse from {folder}; {len(archived_before)} archived file(s) put back" in output
    assert file_digest(published.build_database) == build_before
    assert published_audits(published.warehouse) == ["A1", "A2"]
    assert sorted(path.relative_to(published.archive_dir) for path in published.archive_dir.rglob("*.csv")) == archived_before
    assert check_history(published.warehouse, published.build_database) is None  # the next run may publish


@ON_THE_PUBLISHED_COPY
def test_restore_refuses_a_damaged_backup_and_changes_nothing(published, tmp_path, capsys):
    argv = ["--landing", str(published.landing_dir), "--warehouse", str(published.warehouse), "--wait", "0"]
    run_cli(["backup", str(tmp_path / "backups"), *argv], tmp_path / "dagster")
    (folder,) = (tmp_path / "backups").iterdir()
    with open(folder / "build" / "cfa.duckdb", "r+b") as handle:
        handle.seek(5000)
        handle.write(b"damage")
    before = file_digest(published.warehouse), file_digest(published.build_database)

    code, _ = run_cli(["restore", str(folder), *argv], tmp_path / "dagster")

    errors = capsys.readouterr().err.strip().splitlines()
    assert code == 6
    assert errors == [f"cfa restore: the backup {folder} is damaged: build/cfa.duckdb is missing or changed since it was made; nothing was restored."]
    assert (file_digest(published.warehouse), file_digest(published.build_database)) == before


# 6. Retention --------------------------------------------------------------------------------


@ON_THE_PUBLISHED_COPY
def test_the_nightly_job_deletes_archived_extracts_past_retention_and_logs_each(published, monkeypatch):
    import datetime as dt

    import dagster as dg

    from orchestration.definitions import defs

    today = dt.date.today()
    expired = published.archive_dir / (today - dt.timedelta(days=31)).isoformat() / "audits_2022-01-31.csv"
    kept = published.archive_dir / (today - dt.timedelta(days=29)).isoformat() / "audits_2022-02-28.csv"
    delivered = "audit_id,child_id\nA0,CHILD-RAW-ID\n"
    for path in (expired, kept):
        path.parent.mkdir(parents=True)
        path.write_text(delivered)
    recent = sorted(published.archive_dir.glob("*/*.csv"))
    monkeypatch.setenv("CFA_ARCHIVE_RETENTION_DAYS", "30")
    reason = f"archived more than 30 days before {today.isoformat()} (CFA_ARCHIVE_RETENTION_DAYS)"

    # The nightly job's retention step, as the schedule runs it (dbt and publishing left out for speed).
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("nightly_warehouse").execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey(["ops", "archive_deletions"])],
            tags={"dagster/schedule_name": "nightly_warehouse_schedule"},
        )
        run_log = [entry.user_message for entry in instance.all_logs(result.run_id)]

    assert not expired.exists() and not expired.parent.exists()
    assert all(path.exists() for path in recent if path != expired)
    assert f"deleted archived extract {expired}: {reason}" in run_log
    with duckdb.connect(str(published.build_database), read_only=True) as connection:
        logged = connection.execute("SELECT run_id, path, archived_on, bytes, reason FROM ops.archive_deletions").fetchall()
    assert logged == [(result.run_id, str(expired), today - dt.timedelta(days=31), len(delivered), reason)]


def test_a_retention_setting_that_is_not_a_number_of_days_is_refused(workspace, monkeypatch, capsys):
    monkeypatch.setenv("CFA_ARCHIVE_RETENTION_DAYS", "two years")
    code = cli.main(["run", "--landing", str(workspace.landing_dir), "--warehouse", str(workspace.warehouse)])
    errors = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(errors) == 1
    assert errors[0].startswith("cfa run: CFA_ARCHIVE_RETENTION_DAYS='two years' is not a whole number of days")


# 4. Rotation: cfa rekey ---------------------------------------------------------------------


def child_pseudonyms(database: Path) -> dict[str, str]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return dict(connection.execute("SELECT audit_id, child_pseudonym FROM marts.fct_audit").fetchall())


@ON_THE_PUBLISHED_COPY
def test_rekey_rebuilds_every_pseudonym_from_the_archive_under_the_new_key(published, monkeypatch, capsys):
    from orchestration.ingest.pseudonymise import DEVELOPMENT_KEY, pseudonymise
    from orchestration.ops.keyring import fingerprint_of, key_fingerprint

    old_key, new_key = DEVELOPMENT_KEY.encode(), b"the-councils-new-key"
    assert child_pseudonyms(published.warehouse) == {a: pseudonymise(f"CHILD-{a}", old_key) for a in ("A1", "A2")}
    loads_before = published_load_log(published.warehouse)
    monkeypatch.setenv("CFA_PSEUDONYMISATION_KEY", new_key.decode())
    argv = ["--landing", str(published.landing_dir), "--warehouse", str(published.warehouse), "--wait", "0"]

    code, output = run_cli(["rekey", *argv], published.warehouse.parent.parent / "dagster")

    assert code == 0, output + capsys.readouterr().err
    assert "cfa rekey: replaying 3 archived file(s) under key" in output
    assert child_pseudonyms(published.warehouse) == {a: pseudonymise(f"CHILD-{a}", new_key) for a in ("A1", "A2")}
    assert fingerprint_of(published.warehouse) == fingerprint_of(published.build_database) == key_fingerprint(new_key)
    assert published_load_log(published.warehouse) == loads_before  # same files, order, runs and archive paths

    monkeypatch.setenv("CFA_PSEUDONYMISATION_KEY", old_key.decode())  # the old key is now the wrong one
    code, _ = cli_run(published)
    assert code == 4 and "built with another pseudonymisation key" in capsys.readouterr().err


def published_load_log(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(
            "SELECT load_id, run_id, file_name, entity, content_sha256, status, rows_loaded, archived_to FROM ops.load_log ORDER BY load_id"
        ).fetchall()


@ON_THE_PUBLISHED_COPY
def test_rekey_refuses_when_the_archive_no_longer_holds_what_the_warehouse_loaded(published, monkeypatch, capsys):
    (gone, *_) = sorted(published.archive_dir.rglob("audits_*.csv"))
    gone.unlink()  # past retention
    before = file_digest(published.warehouse), file_digest(published.build_database)
    monkeypatch.setenv("CFA_PSEUDONYMISATION_KEY", "the-councils-new-key")

    code, _ = run_cli(
        ["rekey", "--landing", str(published.landing_dir), "--warehouse", str(published.warehouse), "--wait", "0"],
        published.warehouse.parent.parent / "dagster",
    )

    errors = capsys.readouterr().err.strip().splitlines()
    assert code == 7 and len(errors) == 1
    assert errors[0].startswith("cfa rekey: 1 of the 3 archived extract(s) the warehouse loaded are no longer in the archive")
    assert (file_digest(published.warehouse), file_digest(published.build_database)) == before
