"""`cfa`: run the warehouse, write the sample drop, validate extracts, regenerate contract files,
export disclosure-controlled figures."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import uuid
from pathlib import Path

from orchestration.settings import configure_dagster_home, warehouse_paths

JOB_NAME = "nightly_warehouse"


SHOWN_PER_LIST = 10


def _print_run_summary(paths, run_id: str) -> None:
    from orchestration.council_build import LEDGER_TABLE
    from orchestration.ingest.error_report import outstanding_rejections
    from orchestration.warehouse_db import build_connection, database_errors, describe_postgres, on_postgres

    try:
        with build_connection(paths, read_only=True) as connection:
            counts = dict(
                connection.execute(
                    "SELECT status, count(DISTINCT file_name) FROM ops.load_log WHERE run_id = ? GROUP BY status", [run_id]
                ).fetchall()
            )
            rows_loaded, rows_rejected = connection.execute(
                "SELECT coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0) FROM ops.load_log WHERE run_id = ?",
                [run_id],
            ).fetchall()[0]
            waiting_loaded = connection.execute(
                "SELECT count(*) FROM ops.rejected_rows WHERE resolved_in_run = ? AND resolved_by_load_id = load_id",
                [run_id],
            ).fetchall()[0][0]
            outstanding = outstanding_rejections(connection)
            held_back = _held_back_audits(connection)
            build_failures = connection.execute(
                "SELECT test_name, coalesce(file_name, model), row_number, column_name, message, failing_row FROM ops.build_failures"
                " WHERE run_id = ? ORDER BY 1, 2, 3",
                [run_id],
            ).fetchall()
            # Which councils' models this run's dbt build rebuilt (orchestration/council_build.py).
            councils_built = connection.execute(
                f"SELECT council, rebuilt FROM {LEDGER_TABLE} WHERE run_id = ? ORDER BY council", [run_id]
            ).fetchall() if connection.table_exists(*LEDGER_TABLE.split(".")) else []
    except database_errors() as error:
        print(f"\nNo run summary: the build database could not be read ({error})")
        return
    print()
    print("Run summary")
    print(f"  files loaded:             {counts.get('loaded', 0)}")
    print(f"  files skipped (duplicate): {counts.get('skipped_duplicate', 0)}")
    print(f"  files rejected:           {counts.get('rejected_file', 0)}")
    print(f"  sheets not loaded:        {counts.get('sheet_not_loaded', 0)} (hidden, blank or named after no entity)")
    print(f"  rows loaded:              {rows_loaded}")
    print(f"  rows rejected:            {rows_rejected}")
    print(f"  waiting rows now loaded:  {waiting_loaded}")
    if councils_built:
        rebuilt = [council for council, was_rebuilt in councils_built if was_rebuilt]
        shown = ", ".join(rebuilt[:SHOWN_PER_LIST]) + (", ..." if len(rebuilt) > SHOWN_PER_LIST else "")
        print(f"  councils rebuilt:         {len(rebuilt)} of {len(councils_built)}" + (f" ({shown})" if rebuilt and len(rebuilt) < len(councils_built) else ""))
    print(f"  outstanding rejections:   {len(outstanding)} (every rejection not yet put right: {paths.outstanding_rejections})")
    for item in outstanding[:SHOWN_PER_LIST]:
        where = f"{item['file_name']}" + (f" row {item['row_number']}" if item["row_number"] is not None else "")
        key = f" [{item['entity']} {item['record_key']}]" if item["record_key"] else ""
        field = f", {item['field']}" if item["field"] else ""
        waiting = f" ({item['kind']}: it loads when that arrives)" if item["kind"].startswith("waiting") else ""
        print(f"    {where}{field}{key}: {item['reason']}{waiting}")
    if len(outstanding) > SHOWN_PER_LIST:
        print(f"    ... and {len(outstanding) - SHOWN_PER_LIST} more")
    print(f"  audits held back:         {len(held_back)} (completed but not counted until their record is whole)")
    for audit_id, quarter, reason in held_back[:SHOWN_PER_LIST]:
        print(f"    {audit_id} ({quarter}): {reason}")
    if len(held_back) > SHOWN_PER_LIST:
        print(f"    ... and {len(held_back) - SHOWN_PER_LIST} more")
    if build_failures:
        print(f"  failing build checks:     {len(build_failures)} row(s)")
        for test_name, where, row_number, column, message, failing_row in build_failures[:SHOWN_PER_LIST]:
            place = f"{where} row {row_number}" if row_number is not None else where
            about = f"{column}: {message}; " if column and message else ""
            print(f"    {test_name} ({place}): {about}{failing_row or 'no rows kept'}")
    print(f"  error report:             {paths.error_report}")
    if on_postgres():
        print(f"  warehouse:                schema marts of {describe_postgres()}")
        print("  exports (Parquet, CSV):   none on PostgreSQL: analysts query the marts schema")
    else:
        print(f"  warehouse:                {paths.warehouse}")
        print(f"  exports (Parquet, CSV):   {paths.warehouse.parent / 'exports'}")
    print(f"  archived files:           {paths.archive_dir}")


def _held_back_audits(connection) -> list[tuple]:
    """Audits the grade marts hold back, from this build (none before its first dbt build)."""
    from orchestration.warehouse_db import missing_table_errors

    try:
        return connection.execute(
            "SELECT audit_id, quarter_label, held_back_reason FROM marts.mart_audits_held_back ORDER BY audit_id"
        ).fetchall()
    except missing_table_errors():
        return []


def _warehouse_from_args(args: argparse.Namespace):
    if getattr(args, "landing", None):
        os.environ["CFA_LANDING_DIR"] = str(Path(args.landing).resolve())
    if getattr(args, "warehouse", None):
        os.environ["CFA_WAREHOUSE"] = str(Path(args.warehouse).resolve())
    configure_dagster_home()
    return warehouse_paths()


@contextlib.contextmanager
def _holding_the_warehouse(paths, command: str, run_id: str | None, wait_seconds: float):
    """The one-writer guard for a whole command, with the Dagster instance; runs whose process
    is gone are marked failed and their pool slots freed first, and the command says so."""
    from dagster import DagsterInstance

    from orchestration.ops.locking import hold_warehouse, stop_cleanly_on_signals
    from orchestration.ops.recovery import recover_abandoned_runs, run_in_progress_checker

    with stop_cleanly_on_signals(), DagsterInstance.get() as instance:
        checker = run_in_progress_checker(instance)
        with hold_warehouse(paths, run_id, f"cfa {command}", wait_seconds, print, checker) as stale:
            for line in recover_abandoned_runs(instance, stale):
                print(f"cfa {command}: {line}")
            yield instance


def _execute_nightly_job(
    paths, instance, run_id: str, trigger: str, log_level: str, wait_seconds: float, tags: dict[str, str] | None = None
) -> int:
    """The nightly job in this process, under the guard the caller holds; exit status."""
    from orchestration.defs.resources import WAREHOUSE_POOL, prepare_if_changed
    from orchestration.ops.recovery import process_tags, wait_for_pool

    wait_for_pool(instance, WAREHOUSE_POOL, run_id, wait_seconds, print)
    prepare_if_changed()
    from orchestration.definitions import defs

    job = defs.resolve_job_def(JOB_NAME)
    print(f"Running {JOB_NAME}: landing {paths.landing_dir} -> warehouse {paths.warehouse}")
    try:
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            tags={"cfa/trigger": trigger, **process_tags(), **(tags or {})},
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
    except KeyboardInterrupt as interrupt:
        # Outside a step (before the first, between two): our own handler's KeyboardInterrupt.
        return _stopped(instance, run_id, str(interrupt) or "SIGINT")
    if _was_interrupted(result):
        # Inside a step Dagster's handler takes SIGTERM and SIGINT alike and fails the step.
        return _stopped(instance, run_id, "SIGTERM or SIGINT")
    _print_run_summary(paths, result.run_id)
    from orchestration.quality.run_report import quality_gate_lines

    print("\n".join(quality_gate_lines(result)) or "  quality gates:            not reached")
    if not result.success:
        failed = [event.step_key for event in result.all_events if event.is_step_failure]
        reasons = {
            event.step_failure_data.user_failure_data.description
            for event in result.all_events
            if event.is_step_failure and event.step_failure_data.user_failure_data is not None
        }
        reason = f": {'; '.join(sorted(r for r in reasons if r))}" if any(reasons) else ""
        print(f"\ncfa run: the run failed (run id {result.run_id}; failed steps: {', '.join(failed)}){reason}", file=sys.stderr)
        return 1
    print(f"\nRun {result.run_id} succeeded.")
    _print_reports(result)
    return 0


def _was_interrupted(result) -> bool:
    interrupts = {"DagsterExecutionInterruptedError", "KeyboardInterrupt"}
    return any(
        event.is_step_failure and event.step_failure_data.error is not None and event.step_failure_data.error.cls_name in interrupts
        for event in result.all_events
    )


def _stopped(instance, run_id: str, signal_name: str) -> int:
    import signal

    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        instance.report_run_failed(run, f"Stopped by {signal_name}.")
    instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    print(
        f"cfa run: stopped by {signal_name}: run {run_id} is marked failed and nothing was published; "
        "the warehouse is as the last good run left it.",
        file=sys.stderr,
    )
    return 128 + getattr(signal.Signals, signal_name, signal.SIGINT).value


@contextlib.contextmanager
def _history_loss_allowed(allowed: bool):
    """--allow-history-loss, for this run's steps (which run in this process) only."""
    from orchestration.ops.history import ALLOW_HISTORY_LOSS

    previous = os.environ.get(ALLOW_HISTORY_LOSS)
    if allowed:
        os.environ[ALLOW_HISTORY_LOSS] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ALLOW_HISTORY_LOSS, None)
        else:
            os.environ[ALLOW_HISTORY_LOSS] = previous


def _refuse_before_running(paths, key: bytes, allow_history_loss: bool) -> None:
    """The checks the job's steps make, made before it starts: a refusal then leaves the
    landing folder, the build and the warehouse exactly as they were."""
    from orchestration.ops.history import check_history
    from orchestration.ops.keyring import check_key
    from orchestration.warehouse_db import database_errors

    try:
        check_key(paths.warehouse, key, "published warehouse")
        check_key(paths.build_database, key, "build database")
        allowed_loss = check_history(paths.warehouse, paths.build_database, allowed=allow_history_loss or None)
    except database_errors():
        return  # an unreadable build: the run's first step fails and says so
    if allowed_loss:
        print(f"cfa run: {allowed_loss}")


def command_run(args: argparse.Namespace) -> int:
    from orchestration.ingest.pseudonymise import pseudonymisation_key
    from orchestration.ops.retention import retention_days

    from orchestration.warehouse_db import target

    paths = _warehouse_from_args(args)
    key = pseudonymisation_key()  # refuses in production without the council's key
    retention_days()  # refuses a setting that is not a number of days, before anything runs
    target()  # and a CFA_TARGET that is neither duckdb nor postgres
    run_id = str(uuid.uuid4())
    with _holding_the_warehouse(paths, "run", run_id, args.wait) as instance, _history_loss_allowed(args.allow_history_loss):
        _refuse_before_running(paths, key, args.allow_history_loss)
        return _execute_nightly_job(paths, instance, run_id, "cli", args.log_level, args.wait)


def command_rekey(args: argparse.Namespace) -> int:
    """Rebuild every pseudonym under the key now set, from the archived extracts, and publish."""
    from orchestration.defs.guard import REKEY_TAG
    from orchestration.ingest.pseudonymise import pseudonymisation_key
    from orchestration.ops.keyring import fingerprint_of, key_fingerprint, short
    from orchestration.ops.rekey import refuse_unless_rekeyable, replay_archive, swap_back, swap_in
    from orchestration.ops.retention import retention_days

    paths = _warehouse_from_args(args)
    _refuse_on_postgres("rekey")
    key = pseudonymisation_key()
    retention_days()
    run_id = str(uuid.uuid4())
    with _holding_the_warehouse(paths, "rekey", run_id, args.wait) as instance, _history_loss_allowed(args.allow_history_loss):
        deliveries = refuse_unless_rekeyable(paths, key, args.allow_history_loss)
        old, new = short(fingerprint_of(paths.build_database) or "unrecorded"), short(key_fingerprint(key))
        print(f"cfa rekey: replaying {len(deliveries)} archived file(s) under key {new} (the warehouse's key was {old})")
        fresh = replay_archive(paths, deliveries, log=lambda line: print(f"cfa rekey: {line}"))
        kept = swap_in(paths, fresh)
        code = _execute_nightly_job(paths, instance, run_id, "cfa rekey", args.log_level, args.wait, tags={REKEY_TAG: "true"})
        if code != 0:
            swap_back(paths, kept)
            print(f"cfa rekey: nothing was published; the build under key {old} is back in place.", file=sys.stderr)
            return code
    print(f"cfa rekey: the warehouse is now under key {new}. The build under key {old} is kept at {kept}: delete it once the new warehouse is checked.")
    return 0


def _refuse_on_postgres(command: str) -> None:
    """rekey, backup and restore work on the DuckDB files; PostgreSQL has its own tools."""
    from orchestration.ops.refusals import Refusal
    from orchestration.warehouse_db import on_postgres

    if on_postgres():
        raise Refusal(f"cfa {command} works on the DuckDB warehouse files; on PostgreSQL (CFA_TARGET=postgres) see docs/deployment.md.")


def command_recover(args: argparse.Namespace) -> int:
    """Mark failed the runs whose process is gone and free their pool slots, without running."""
    paths = _warehouse_from_args(args)
    with _holding_the_warehouse(paths, "recover", None, args.wait) as instance:
        from orchestration.ops.recovery import recover_abandoned_runs

        if not recover_abandoned_runs(instance):
            print(f"cfa recover: no abandoned run holds {paths.warehouse} or the warehouse pool.")
    return 0


def command_backup(args: argparse.Namespace) -> int:
    from orchestration.ops.backup import backup

    paths = _warehouse_from_args(args)
    _refuse_on_postgres("backup")
    with _holding_the_warehouse(paths, "backup", None, args.wait):
        folder = backup(paths, Path(args.destination).resolve())
    held = {"the published warehouse": folder / "warehouse", "the build database": folder / "build", "the archive": folder / "archive"}
    print(f"cfa backup: {folder}: {', '.join(name for name, part in held.items() if part.exists()) or 'nothing to back up'}")
    for name, part in held.items():
        if not part.exists():
            print(f"cfa backup: note: {name} does not exist, so it is not in the backup")
    print("cfa backup: the archive holds raw child ids: protect the backup as you protect the archive")
    return 0


def command_restore(args: argparse.Namespace) -> int:
    from orchestration.ingest.pseudonymise import DEVELOPMENT_KEY
    from orchestration.ops.backup import restore, verify
    from orchestration.ops.keyring import key_fingerprint, short

    paths = _warehouse_from_args(args)
    _refuse_on_postgres("restore")
    verify(Path(args.backup))  # a damaged backup is refused before the lock is even taken
    with _holding_the_warehouse(paths, "restore", None, args.wait):
        restored = restore(paths, Path(args.backup))
    what = [name for name, done in (("the build database", restored.build), ("the published warehouse", restored.warehouse)) if done]
    print(f"cfa restore: restored {' and '.join(what)} from {args.backup}; {restored.archive_files} archived file(s) put back")
    key_now = (os.environ.get("CFA_PSEUDONYMISATION_KEY") or DEVELOPMENT_KEY).encode("utf-8")
    if restored.key_fingerprint and restored.key_fingerprint != key_fingerprint(key_now):
        print(
            f"cfa restore: note: the backup was made under key {short(restored.key_fingerprint)}, not the key now set: "
            "runs are refused until CFA_PSEUDONYMISATION_KEY is that key again."
        )
    return 0


def command_sample(args: argparse.Namespace) -> int:
    if args.councils is None and args.years is None:
        from orchestration.sample.generator import write_sample

        paths = write_sample(Path(args.directory))
    else:
        from orchestration.sample.national import LA_CODES, write_national_sample

        try:
            paths = write_national_sample(
                Path(args.directory),
                councils=len(LA_CODES) if args.councils is None else args.councils,
                years=5 if args.years is None else args.years,
            )
        except ValueError as error:
            print(f"cfa sample: {error}", file=sys.stderr)
            return 2
    for path in paths:
        print(path)
    return 0


def command_validate(args: argparse.Namespace) -> int:
    """Check files against the contract without loading anything; references are checked
    against the files given together (and the warehouse, when it exists)."""
    import duckdb

    from orchestration.contract import load_contract
    from orchestration.ingest.landing import LandingFile, in_load_order, known_councils, prepared_cells, read_files, reference_pairs
    from orchestration.ingest.pseudonymise import pseudonymisation_key
    from orchestration.ingest.rules import reference_key, release_engine
    from orchestration.ingest.store import WarehouseStore
    from orchestration.ingest.validation import validate_sheet
    from orchestration.warehouse_db import connect_duckdb, connect_postgres, on_postgres

    contract = load_contract()
    key = pseudonymisation_key()
    referenced_fields = {(ref.entity, ref.field) for entity in contract.entities.values() for ref in entity.references}
    # Values accepted from the files given so far; the warehouse is asked about the rest.
    known: dict[tuple[str, str], set[str]] = {}
    paths = warehouse_paths(warehouse=args.warehouse)
    # Raw lives in the build database: the published warehouse holds what analysts use.
    connection = None
    if on_postgres():
        connection = connect_postgres(read_only=True)
    elif paths.build_database.exists():
        try:
            connection = connect_duckdb(paths.build_database, read_only=True)
        except duckdb.IOException:
            print(f"note: {paths.build_database} is in use by a run: references are checked against the files given only")
    store = WarehouseStore(connection, contract) if connection else None

    def known_references(entity, cells) -> dict[str, set[str]]:
        references = {}
        for ref in entity.references:
            pairs = reference_pairs(cells, contract.council_field, ref.field)
            in_files = known.get((ref.entity, ref.field), set())
            in_warehouse = store.known_references(ref.entity, ref.field, pairs) if store else set()
            references[ref.field] = in_files | in_warehouse
        return references

    files = [Path(name) for name in args.files]
    problems = 0
    for path in files:
        if not path.is_file():
            print(f"{path.name}: rejected file: no such file")
            problems += 1
    # A file in a council's folder (885/audits.csv) is checked as that council's, as a run would.
    councils = known_councils()
    readable, unreadable, unloaded = read_files(
        [
            LandingFile(path, path.name, council=path.resolve().parent.name if path.resolve().parent.name in councils else None)
            for path in files if path.is_file()
        ],
        contract,
    )
    for file in unreadable:
        print(f"{file.path.name}: rejected file: {file.reason}")
        problems += 1
    # A sheet or column not loaded is worth knowing, not an error: the file still loads.
    for skipped in unloaded:
        print(f"{skipped.label}: sheet not loaded: {skipped.sheet.reason}")
    for item in in_load_order(readable, contract):
        entity = item.sheet.entity
        cells = prepared_cells(item.sheet, contract, key, item.council)
        result = validate_sheet(
            item.sheet, contract, known_references(entity, cells), dt.date.today(), cells=cells, council=item.council
        )
        for rejection in result.rejections:
            print(f"{item.label} row {rejection.row_number}, {rejection.field}: {rejection.reason}")
        problems += len(result.rejections)
        print(f"{item.label}: {entity.name}: {result.rows_read} row(s), {len(result.accepted)} valid, {result.rows_rejected} rejected")
        for column_note in item.sheet.columns_not_loaded:
            print(f"{item.label}: {column_note}")
        for referenced_entity, field in referenced_fields:
            if referenced_entity == entity.name:
                pairs = zip(*(result.accepted[name].to_pylist() for name in (contract.council_field, field)))
                known.setdefault((referenced_entity, field), set()).update(
                    key for la_code, value in pairs if value is not None
                    for key in (reference_key(la_code, value), str(value))
                )
    release_engine()
    if connection:
        connection.close()
    return 1 if problems else 0


def command_report(args: argparse.Namespace) -> int:
    """The quarterly executive summary for a council and quarter, from the published marts."""
    from orchestration.report import write_report

    paths = warehouse_paths(warehouse=args.warehouse)
    print(write_report(paths.warehouse, args.la, args.period, args.out, args.format, args.council_name))
    return 0


def _print_reports(result) -> None:
    """Where the run wrote the executive summaries (make run prints the sample's)."""
    from orchestration.defs.assets.report import REPORT_KEY

    for event in result.get_asset_materialization_events():
        if event.asset_key == REPORT_KEY:
            metadata = event.materialization.metadata
            if "reason" in metadata:  # none written, and why (on PostgreSQL)
                print(f"Executive summary: {metadata['reason'].value.removeprefix('executive summary: ')}")
            for path in str(metadata["paths"].value).splitlines():
                print(f"Executive summary: {path}")


def command_contract(args: argparse.Namespace) -> int:
    from orchestration.contract_outputs import stale_generated_files, write_generated_files

    if args.check:
        stale = stale_generated_files()
        for path in stale:
            print(f"out of date with orchestration/contract.yml: {path}")
        return 1 if stale else 0
    for path in write_generated_files():
        print(f"wrote {path}")
    return 0


def command_export(args: argparse.Namespace) -> int:
    """The disclosure-controlled figures a performance team sends beyond the council."""
    from orchestration.export.disclosure import DisclosureError
    from orchestration.export.feed import FeedError, write_feed

    warehouse = warehouse_paths(warehouse=args.warehouse).warehouse
    try:
        feed = write_feed(warehouse, args.la, args.period, Path(args.out).resolve())
    except (FeedError, DisclosureError) as error:
        print(f"cfa export: {error}; nothing was written.", file=sys.stderr)
        return 2
    for path in feed.files:
        print(path)
    hidden = sum(feed.suppressed.values())
    print(f"cfa export: {feed.period} for {', '.join(feed.councils)}: {hidden} cell(s) suppressed (see {feed.folder / 'README.md'})")
    return 0


def command_prepare(args: argparse.Namespace) -> int:
    """Parse the dbt project into the manifest dagster-dbt loads its assets from."""
    from orchestration.defs.resources import dbt_project

    dbt_project.preparer.prepare(dbt_project)
    print(f"dbt manifest: {dbt_project.manifest_path}")
    return 0


def _add_wait_argument(parser: argparse.ArgumentParser) -> None:
    from orchestration.ops.locking import DEFAULT_WAIT_SECONDS

    parser.add_argument(
        "--wait", type=float, default=None, metavar="SECONDS",
        help=f"how long to wait for another run to finish with the warehouse before giving up (default: $CFA_RUN_WAIT_SECONDS or {DEFAULT_WAIT_SECONDS})",
    )


def _add_history_loss_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-history-loss", action="store_true",
        help="publish even if the build lacks files the published warehouse had loaded (after losing the build folder on purpose)",
    )


def _wait_seconds_from_environment() -> float:
    from orchestration.ops.locking import DEFAULT_WAIT_SECONDS
    from orchestration.ops.refusals import Refusal

    value = os.environ.get("CFA_RUN_WAIT_SECONDS", "").strip()
    if not value:
        return DEFAULT_WAIT_SECONDS
    try:
        return float(value)
    except ValueError:
        raise Refusal(f"CFA_RUN_WAIT_SECONDS={value!r} is not a number of seconds: set it, or unset it for {DEFAULT_WAIT_SECONDS}.") from None


def _add_warehouse_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", help="the DuckDB file analysts query (default: $CFA_WAREHOUSE or data/warehouse/cfa.duckdb)")


def _add_landing_argument(parser: argparse.ArgumentParser, role: str | None = None) -> None:
    described = f"landing folder, {role}" if role else "landing folder"
    parser.add_argument("--landing", help=f"{described} (default: $CFA_LANDING_DIR or data/landing)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cfa", description="Case File Audit Warehouse")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the nightly job through Dagster on a landing folder")
    _add_landing_argument(run)
    _add_warehouse_argument(run)
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    _add_wait_argument(run)
    _add_history_loss_argument(run)
    run.set_defaults(handler=command_run)

    rekey = commands.add_parser(
        "rekey", help="change the pseudonymisation key: rebuild every pseudonym from the archive under the key now set, then publish"
    )
    _add_landing_argument(rekey, "whose archive is replayed")
    _add_warehouse_argument(rekey)
    rekey.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    _add_wait_argument(rekey)
    _add_history_loss_argument(rekey)
    rekey.set_defaults(handler=command_rekey)

    recover = commands.add_parser(
        "recover", help="mark failed the runs whose process is gone and free the warehouse pool (see docs/operations.md)"
    )
    _add_warehouse_argument(recover)
    _add_wait_argument(recover)
    recover.set_defaults(handler=command_recover)

    backup = commands.add_parser("backup", help="copy the warehouse, the build database and the archive into a new dated folder")
    backup.add_argument("destination", help="folder to make the cfa-backup-<time> folder in")
    _add_landing_argument(backup, "whose archive is backed up")
    _add_warehouse_argument(backup)
    _add_wait_argument(backup)
    backup.set_defaults(handler=command_backup)

    restore = commands.add_parser("restore", help="put a backup's warehouse, build database and archived files back")
    restore.add_argument("backup", help="the cfa-backup-<time> folder")
    _add_landing_argument(restore, "whose archive is restored")
    _add_warehouse_argument(restore)
    _add_wait_argument(restore)
    restore.set_defaults(handler=command_restore)

    sample = commands.add_parser("sample", help="write the deterministic synthetic sample drop")
    sample.add_argument("directory")
    sample.add_argument(
        "--councils", type=int, help="national-scale sample instead: this many councils (1-153, default 153 with --years)"
    )
    sample.add_argument(
        "--years", type=int, help="national-scale sample instead: financial years ending 2022-23 (default 5 with --councils)"
    )
    sample.set_defaults(handler=command_sample)

    validate = commands.add_parser("validate", help="check extract files against the contract without loading them")
    validate.add_argument("files", nargs="+")
    validate.add_argument("--warehouse", help="warehouse whose audits and activities references may point to")
    validate.set_defaults(handler=command_validate)

    report = commands.add_parser(
        "report", help="write the quarterly executive summary of a council's financial year to date, from the published marts"
    )
    report.add_argument("--la", required=True, metavar="CODE", help="the council's 3-digit DfE local authority code, like 885")
    report.add_argument(
        "--period", required=True, metavar="LABEL", help="the quarter the year to date runs to, like '2022-23 Q2' (April to September 2022)"
    )
    _add_warehouse_argument(report)
    report.add_argument("--out", metavar="FILE", help="where to write it (default: reports/ beside the warehouse)")
    report.add_argument("--format", choices=["html", "pdf"], default="html", help="html (default; self-contained) or pdf (A4)")
    report.add_argument("--council-name", help="the council's name for the heading, instead of the warehouse's (dim_local_authority), e.g. 'Worcestershire Children First'")
    report.set_defaults(handler=command_report)

    contract = commands.add_parser("contract", help="regenerate docs, suites, seeds and dbt sources from the contract")
    contract.add_argument("--check", action="store_true", help="only report files that are out of date")
    contract.set_defaults(handler=command_contract)

    export = commands.add_parser(
        "export", help="write a council's disclosure-controlled figures for a quarter (DfE convention: 1-5 suppressed)"
    )
    export.add_argument("--la", required=True, help="3-digit DfE local authority code; several joined by commas, or 'all', are summed and rounded to 10")
    export.add_argument("--period", required=True, help="the quarter, like '2022-23 Q2'")
    export.add_argument("--out", required=True, help="folder to write the CSV files and README into")
    _add_warehouse_argument(export)
    export.set_defaults(handler=command_export)

    prepare = commands.add_parser("prepare", help="parse the dbt project (the manifest Dagster loads)")
    prepare.set_defaults(handler=command_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    from orchestration.ops.refusals import Refusal

    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "wait") and args.wait is None:
            args.wait = _wait_seconds_from_environment()
        return args.handler(args)
    except Refusal as refusal:
        print(f"cfa {args.command}: {refusal}", file=sys.stderr)
        return refusal.exit_code
    except KeyboardInterrupt as interrupt:
        # SIGTERM or SIGINT while waiting for the warehouse or preparing: nothing was running.
        import signal

        name = str(interrupt) or "SIGINT"
        print(f"cfa {args.command}: stopped by {name} before anything ran; nothing changed.", file=sys.stderr)
        return 128 + getattr(signal.Signals, name, signal.SIGINT).value


if __name__ == "__main__":
    sys.exit(main())
