"""After the build: the QA officers' error report, the archive's retention, then the warehouse
and its exports published for analysts."""

import datetime as dt
import time

import dagster as dg

from orchestration.defs.assets.dbt import warehouse_dbt_models
from orchestration.defs.assets.ingestion import LOAD_LOG, REJECTED_ROWS
from orchestration.defs.guard import is_rekey, warehouse_writer
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.export.bi_files import MANIFEST
from orchestration.ingest.error_report import write_error_report
from orchestration.ops.history import check_history
from orchestration.ops.keyring import fingerprint_of, mismatch_message
from orchestration.ops.refusals import Refusal
from orchestration.ops.retention import delete_expired_archive, retention_days
from orchestration.publish.postgres import publish_marts
from orchestration.publish.warehouse import publish
from orchestration.warehouse_db import analyst_role, build_connection, describe_postgres, on_postgres


@dg.asset(
    key=["reports", "error_report"],
    deps=[LOAD_LOG.key, REJECTED_ROWS.key],
    group_name="reports",
    kinds={"csv"},
    pool=WAREHOUSE_POOL,
)
def error_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every row and file this run rejected, with file, sheet, row, field, value and reason: a
    CSV a QA officer opens in Excel to fix the extract."""
    with warehouse_writer(context, warehouse.paths):
        path, rows = write_error_report(warehouse.paths, context.run.run_id)
    context.log.info(f"error report: {path} ({rows} rejection(s))")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "rejections": rows})


@dg.asset(
    key=["ops", "archive_deletions"],
    deps=[LOAD_LOG.key],
    group_name="ingestion",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
)
def archive_retention(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Archived extracts (raw child ids included) older than CFA_ARCHIVE_RETENTION_DAYS, deleted;
    every deletion recorded here with its path, archive date, size and SHA-256."""
    with warehouse_writer(context, warehouse.paths):
        deleted = delete_expired_archive(warehouse.paths, context.run.run_id, log=context.log.info)
    context.log.info(f"archive retention: {retention_days()} days; {len(deleted)} expired file(s) deleted")
    return dg.MaterializeResult(metadata={"files_deleted": len(deleted), "retention_days": retention_days()})


PUBLISHED_WAREHOUSE = dg.AssetSpec(
    key=["published", "warehouse"],
    deps=[*warehouse_dbt_models.keys, error_report.key, archive_retention.key],
    description=(
        "The DuckDB file analysts query: the marts, the load log and rejected rows, and when it was built. "
        "Replaced in one rename once the build has passed its tests and quality gates."
    ),
    group_name="published",
    kinds={"duckdb"},
)
PUBLISHED_EXPORTS = dg.AssetSpec(
    key=["published", "exports"],
    deps=[PUBLISHED_WAREHOUSE.key],
    description="Every published mart as Parquet and CSV with a manifest, in the exports folder beside the warehouse, switched in whole.",
    group_name="published",
    kinds={"parquet", "csv"},
    # Not written on PostgreSQL, where analysts query the server itself.
    skippable=True,
)
EXPORTS_NOT_ON_POSTGRES = (
    "exports: none on PostgreSQL (Parquet and CSV files are made from the published DuckDB file); "
    "analysts and BI tools connect to the server and read schema marts"
)


def _run_started_at(context: dg.AssetExecutionContext) -> dt.datetime:
    record = context.instance.get_run_record_by_id(context.run.run_id)
    started = record.start_time if record is not None and record.start_time else time.time()
    return dt.datetime.fromtimestamp(started, dt.timezone.utc).replace(tzinfo=None)


@dg.multi_asset(specs=[PUBLISHED_WAREHOUSE, PUBLISHED_EXPORTS], pool=WAREHOUSE_POOL, name="published__warehouse")
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """The warehouse analysts query and its exports, written beside the old ones from a build
    that passed its blocking tests and quality gates, then switched in (a failed build or gate
    stops before this, leaving the last good warehouse and exports as they were)."""
    paths = warehouse.paths
    if on_postgres():
        yield from _marts_published_on_postgres(context, warehouse)
        return
    with warehouse_writer(context, paths, last_step=True):
        allowed_loss = check_history(paths.warehouse, paths.build_database)
        if allowed_loss:
            context.log.warning(allowed_loss)
        published_key, build_key = fingerprint_of(paths.warehouse), fingerprint_of(paths.build_database)
        if published_key and build_key != published_key and not is_rekey(context.run):
            raise Refusal(mismatch_message("published warehouse", published_key, build_key or "none"))
        published = publish(paths, _run_started_at(context), context.run.run_id)
    replaced = published.councils_replaced
    how = "written whole" if replaced is None else f"the last one with the rows of {len(replaced)} council(s) replaced"
    context.log.info(f"published {published.warehouse} ({how}): {', '.join(sorted(published.tables))}")
    context.log.info(f"exports: {published.export_files} file(s) in {published.exports}")
    yield dg.MaterializeResult(
        asset_key=PUBLISHED_WAREHOUSE.key,
        metadata={
            "path": dg.MetadataValue.path(str(published.warehouse)),
            "tables": dg.MetadataValue.json(published.tables),
            "councils_replaced": "all (written whole)" if replaced is None else ", ".join(replaced) or "none",
        },
    )
    yield dg.MaterializeResult(
        asset_key=PUBLISHED_EXPORTS.key,
        metadata={
            "path": dg.MetadataValue.path(str(published.exports)),
            "files": published.export_files,
            "manifest": dg.MetadataValue.path(str(published.exports / MANIFEST)),
        },
    )


def _marts_published_on_postgres(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """On PostgreSQL the marts schema is what analysts read: the build's marts are swapped in for
    it in one transaction, which commits only if the analysts' role then reads every mart and
    nothing else. There are no export files: analysts and BI tools query the server (Power BI and
    Excel connect to PostgreSQL directly), so the exports asset is not materialized."""
    role = analyst_role()
    with warehouse_writer(context, warehouse.paths, last_step=True), build_connection(warehouse.paths) as connection:
        access = publish_marts(connection, role)
    where = describe_postgres()
    context.log.info(f"published: {len(access.readable_marts)} mart(s) in schema marts of {where}, readable by role {role} and nothing else")
    context.log.info(EXPORTS_NOT_ON_POSTGRES)
    yield dg.MaterializeResult(
        asset_key=PUBLISHED_WAREHOUSE.key,
        metadata={"database": where, "analyst_role": role, "marts_readable": len(access.readable_marts)},
    )
