"""`cfa`: run the warehouse, write the sample drop, validate extracts, regenerate contract files."""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import os
import sys
from pathlib import Path

from orchestration.settings import configure_dagster_home, warehouse_paths

JOB_NAME = "nightly_warehouse"


SHOWN_PER_LIST = 10


def _print_run_summary(paths, run_id: str) -> None:
    import duckdb

    from orchestration.ingest.error_report import outstanding_rejections

    try:
        with duckdb.connect(str(paths.build_database), read_only=True) as connection:
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
                "SELECT test_name, coalesce(file_name, model), row_number, failing_row FROM ops.build_failures"
                " WHERE run_id = ? ORDER BY 1, 2, 3",
                [run_id],
            ).fetchall()
    except duckdb.Error as error:
        print(f"\nNo run summary: the build database could not be read ({error})")
        return
    print()
    print("Run summary")
    print(f"  files loaded:             {counts.get('loaded', 0)}")
    print(f"  files skipped (duplicate): {counts.get('skipped_duplicate', 0)}")
    print(f"  files rejected:           {counts.get('rejected_file', 0)}")
    print(f"  files with sheets not loaded: {counts.get('sheet_not_loaded', 0)} (hidden, blank or named after no entity)")
    print(f"  rows loaded:              {rows_loaded}")
    print(f"  rows rejected:            {rows_rejected}")
    print(f"  waiting rows now loaded:  {waiting_loaded}")
    print(f"  outstanding rejections:   {len(outstanding)} (every rejection not yet put right: {paths.outstanding_rejections})")
    for item in outstanding[:SHOWN_PER_LIST]:
        where = f"{item['file_name']}" + (f" row {item['row_number']}" if item["row_number"] is not None else "")
        key = f" [{item['entity']} {item['record_key']}]" if item["record_key"] else ""
        field = f", {item['field']}" if item["field"] else ""
        print(f"    {where}{field}{key}: {item['reason']}")
    if len(outstanding) > SHOWN_PER_LIST:
        print(f"    ... and {len(outstanding) - SHOWN_PER_LIST} more")
    print(f"  audits held back:         {len(held_back)} (completed but not counted until their record is whole)")
    for audit_id, quarter, reason in held_back[:SHOWN_PER_LIST]:
        print(f"    {audit_id} ({quarter}): {reason}")
    if len(held_back) > SHOWN_PER_LIST:
        print(f"    ... and {len(held_back) - SHOWN_PER_LIST} more")
    if build_failures:
        print(f"  failing build checks:     {len(build_failures)} row(s)")
        for test_name, where, row_number, failing_row in build_failures[:SHOWN_PER_LIST]:
            place = f"{where} row {row_number}" if row_number is not None else where
            print(f"    {test_name} ({place}): {failing_row or 'no rows kept'}")
    print(f"  error report:             {paths.error_report}")
    print(f"  warehouse:                {paths.warehouse}")
    print(f"  archived files:           {paths.archive_dir}")


def _held_back_audits(connection) -> list[tuple]:
    """Audits the grade marts hold back, from this build (none before its first dbt build)."""
    import duckdb

    try:
        return connection.execute(
            "SELECT audit_id, quarter_label, held_back_reason FROM marts.mart_audits_held_back ORDER BY audit_id"
        ).fetchall()
    except duckdb.CatalogException:
        return []


def command_run(args: argparse.Namespace) -> int:
    if args.landing:
        os.environ["CFA_LANDING_DIR"] = str(Path(args.landing).resolve())
    if args.warehouse:
        os.environ["CFA_WAREHOUSE"] = str(Path(args.warehouse).resolve())
    paths = warehouse_paths()
    configure_dagster_home()

    from orchestration.ingest.pseudonymise import PseudonymisationKeyMissing, pseudonymisation_key, uses_development_key

    try:
        pseudonymisation_key()
    except PseudonymisationKeyMissing as error:
        print(f"cfa run: {error}", file=sys.stderr)
        return 2
    if uses_development_key():
        print("Note: pseudonymising with the development key (CFA_PSEUDONYMISATION_KEY unset): synthetic data only.")

    # Runs from the CLI do not pass through the daemon's run queue: a lock beside the build
    # database keeps two of them from writing the warehouse at once.
    paths.build_database.parent.mkdir(parents=True, exist_ok=True)
    with open(paths.build_database.parent / "run.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"cfa run: another warehouse run is in progress for {paths.warehouse}", file=sys.stderr)
            return 3
        from dagster import DagsterInstance

        from orchestration.definitions import defs

        job = defs.resolve_job_def(JOB_NAME)
        print(f"Running {JOB_NAME}: landing {paths.landing_dir} -> warehouse {paths.warehouse}")
        with DagsterInstance.get() as instance:
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                tags={"cfa/trigger": "cli"},
                run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
            )
    _print_run_summary(paths, result.run_id)
    if not result.success:
        failed = [event.step_key for event in result.all_events if event.is_step_failure]
        print(f"\ncfa run: the run failed (run id {result.run_id}; failed steps: {', '.join(failed)})", file=sys.stderr)
        return 1
    print(f"\nRun {result.run_id} succeeded.")
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
    from orchestration.ingest.landing import in_load_order, pseudonymise_cells, read_files
    from orchestration.ingest.pseudonymise import pseudonymisation_key
    from orchestration.ingest.store import WarehouseStore
    from orchestration.ingest.validation import sheet_cells, validate_sheet

    contract = load_contract()
    key = pseudonymisation_key()
    referenced_fields = {(ref.entity, ref.field) for entity in contract.entities.values() for ref in entity.references}
    known: dict[tuple[str, str], set[str]] = {}
    paths = warehouse_paths(warehouse=args.warehouse)
    if paths.warehouse.exists():
        with duckdb.connect(str(paths.warehouse), read_only=True) as connection:
            store = WarehouseStore(connection, contract)
            known = {(entity, field): store.known_values(entity, field) for entity, field in referenced_fields}

    files = [Path(name) for name in args.files]
    problems = 0
    for path in files:
        if not path.is_file():
            print(f"{path.name}: rejected file: no such file")
            problems += 1
    readable, unreadable, unloaded = read_files([path for path in files if path.is_file()], contract)
    for file in unreadable:
        print(f"{file.path.name}: rejected file: {file.reason}")
        problems += 1
    # A sheet or column not loaded is worth knowing, not an error: the file still loads.
    for skipped in unloaded:
        print(f"{skipped.label}: sheet not loaded: {skipped.sheet.reason}")
    for item in in_load_order(readable, contract):
        entity = item.sheet.entity
        cells = sheet_cells(item.sheet)
        pseudonymise_cells(cells, entity, key)
        references = {ref.field: known.get((ref.entity, ref.field), set()) for ref in entity.references}
        result = validate_sheet(item.sheet, contract, references, dt.date.today(), cells=cells)
        for rejection in result.rejections:
            print(f"{item.label} row {rejection.row_number}, {rejection.field}: {rejection.reason}")
        problems += len(result.rejections)
        print(f"{item.label}: {entity.name}: {result.rows_read} row(s), {len(result.accepted)} valid, {result.rows_rejected} rejected")
        for column_note in item.sheet.columns_not_loaded:
            print(f"{item.label}: {column_note}")
        for referenced_entity, field in referenced_fields:
            if referenced_entity == entity.name:
                known.setdefault((referenced_entity, field), set()).update(result.accepted[field].dropna())
    return 1 if problems else 0


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


def command_prepare(args: argparse.Namespace) -> int:
    """Parse the dbt project into the manifest dagster-dbt loads its assets from."""
    from orchestration.defs.resources import dbt_project

    dbt_project.preparer.prepare(dbt_project)
    print(f"dbt manifest: {dbt_project.manifest_path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cfa", description="Case File Audit Warehouse")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the nightly job through Dagster on a landing folder")
    run.add_argument("--landing", help="landing folder (default: $CFA_LANDING_DIR or data/landing)")
    run.add_argument("--warehouse", help="the DuckDB file analysts query (default: $CFA_WAREHOUSE or data/warehouse/cfa.duckdb)")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(handler=command_run)

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

    contract = commands.add_parser("contract", help="regenerate docs, suites, seeds and dbt sources from the contract")
    contract.add_argument("--check", action="store_true", help="only report files that are out of date")
    contract.set_defaults(handler=command_contract)

    prepare = commands.add_parser("prepare", help="parse the dbt project (the manifest Dagster loads)")
    prepare.set_defaults(handler=command_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
