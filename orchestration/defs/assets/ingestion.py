"""Ingestion: the landing folder into raw.<entity>, with ops.load_log and ops.rejected_rows."""

import dagster as dg

from orchestration.contract import load_contract
from orchestration.defs.guard import is_rekey, warehouse_writer
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.ingest.landing import ingest_landing_folder
from orchestration.ingest.pseudonymise import pseudonymisation_key
from orchestration.ops.history import check_history
from orchestration.ops.keyring import check_key

RAW_SPECS = [
    dg.AssetSpec(
        key=["raw", entity.name],
        description=f"{entity.description} Every accepted version, with its load lineage.",
        group_name="ingestion",
        kinds={"duckdb", "python"},
    )
    for entity in load_contract().entities.values()
]
LOAD_LOG = dg.AssetSpec(
    key=["ops", "load_log"],
    description="Every file (or workbook sheet) seen: loaded, skipped as a duplicate, or rejected, with row counts.",
    group_name="ingestion",
    kinds={"duckdb"},
)
REJECTED_ROWS = dg.AssetSpec(
    key=["ops", "rejected_rows"],
    description="Every rejected row: file, sheet, row, field, value and reason.",
    group_name="ingestion",
    kinds={"duckdb"},
)


@dg.multi_asset(specs=[*RAW_SPECS, LOAD_LOG, REJECTED_ROWS], pool=WAREHOUSE_POOL, name="ingest_audit_extracts")
def ingest_audit_extracts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Read, validate, pseudonymise and load every file in the landing folder, then archive it."""
    paths = warehouse.paths
    with warehouse_writer(context, paths):
        # Refuse before any file is loaded or archived: a build that lost its history, or a key
        # other than the warehouse's.
        allowed_loss = check_history(paths.warehouse, paths.build_database)
        if allowed_loss:
            context.log.warning(allowed_loss)
        if not is_rekey(context.run):
            check_key(paths.warehouse, pseudonymisation_key(), "published warehouse")
        summary = ingest_landing_folder(paths, run_id=context.run.run_id, log=context.log.info)
    for spec in RAW_SPECS:
        entity = spec.key.path[-1]
        loads = [load for load in summary.loads if load.entity == entity and load.status == "loaded"]
        yield dg.MaterializeResult(
            asset_key=spec.key,
            metadata={
                "files_loaded": len(loads),
                "rows_loaded": sum(load.rows_loaded for load in loads),
                "rows_rejected": sum(load.rows_rejected for load in loads),
            },
        )
    yield dg.MaterializeResult(
        asset_key=LOAD_LOG.key,
        metadata={
            "files_loaded": summary.count("loaded"),
            "files_skipped_duplicate": summary.count("skipped_duplicate"),
            "files_rejected": summary.count("rejected_file"),
        },
    )
    yield dg.MaterializeResult(asset_key=REJECTED_ROWS.key, metadata={"rows_rejected": summary.rows_rejected})
