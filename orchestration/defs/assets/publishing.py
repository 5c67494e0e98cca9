"""After the build: the QA officers' error report, the archive's retention, then the warehouse
published for analysts."""

import dagster as dg

from orchestration.defs.assets.dbt import warehouse_dbt_models
from orchestration.defs.assets.ingestion import LOAD_LOG, REJECTED_ROWS
from orchestration.defs.guard import is_rekey, warehouse_writer
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.ingest.error_report import write_error_report
from orchestration.ops.history import check_history
from orchestration.ops.keyring import fingerprint_of, mismatch_message
from orchestration.ops.refusals import Refusal
from orchestration.ops.retention import delete_expired_archive, retention_days
from orchestration.publish.atomic import publish_warehouse
from orchestration.publish.postgres import publish_marts
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


@dg.asset(
    key=["published", "warehouse"],
    deps=[warehouse_dbt_models, error_report, archive_retention],
    group_name="published",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The warehouse file analysts query, replaced in one atomic rename once the build has passed
    its blocking tests (a failed build stops before this, leaving the last good warehouse)."""
    paths = warehouse.paths
    if on_postgres():
        return _marts_published_on_postgres(context, warehouse)
    with warehouse_writer(context, paths, last_step=True):
        allowed_loss = check_history(paths.warehouse, paths.build_database)
        if allowed_loss:
            context.log.warning(allowed_loss)
        published_key, build_key = fingerprint_of(paths.warehouse), fingerprint_of(paths.build_database)
        if published_key and build_key != published_key and not is_rekey(context.run):
            raise Refusal(mismatch_message("published warehouse", published_key, build_key or "none"))
        published = publish_warehouse(paths.build_database, paths.warehouse)
    context.log.info(f"published {published}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(published))})


def _marts_published_on_postgres(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """On PostgreSQL the marts schema is what analysts read: the build's marts are swapped in for
    it in one transaction, which commits only if the analysts' role then reads every mart and
    nothing else."""
    role = analyst_role()
    with warehouse_writer(context, warehouse.paths, last_step=True), build_connection(warehouse.paths) as connection:
        access = publish_marts(connection, role)
    where = describe_postgres()
    context.log.info(f"published: {len(access.readable_marts)} mart(s) in schema marts of {where}, readable by role {role} and nothing else")
    return dg.MaterializeResult(
        metadata={"database": where, "analyst_role": role, "marts_readable": len(access.readable_marts)}
    )
