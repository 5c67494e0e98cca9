"""After publishing: the quarterly executive summary of each council, from the published marts."""

import dagster as dg

from orchestration.defs.assets.publishing import PUBLISHED_WAREHOUSE
from orchestration.defs.resources import WarehouseResource
from orchestration.report import write_latest_reports
from orchestration.warehouse_db import describe_postgres, on_postgres

REPORT_KEY = dg.AssetKey(["reports", "executive_summary"])


@dg.asset(key=REPORT_KEY, deps=[PUBLISHED_WAREHOUSE.key], group_name="reports", kinds={"html"})
def executive_summary(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The executive summary (HTML, charts inline) for each council's latest quarter with case
    file audits, covering its financial year to date: written in reports/ beside the warehouse
    from the published file's marts, exactly as `cfa report` writes it for any quarter. It only
    reads the published warehouse, so it holds no writer's slot. On PostgreSQL there is no
    published file to read, so no summary is written and the run's log says so."""
    if on_postgres():
        reason = (
            "executive summary: not written on PostgreSQL (it reads the published DuckDB file); "
            f"the same figures are in schema marts of {describe_postgres()}"
        )
        context.log.info(reason)
        return dg.MaterializeResult(metadata={"reports": 0, "paths": dg.MetadataValue.text(""), "reason": reason})
    reports = write_latest_reports(warehouse.paths.warehouse)
    for path in reports.written:
        context.log.info(f"executive summary: {path}")
    if reports.unchanged:
        context.log.info(
            f"executive summary: {len(reports.unchanged)} council(s)' report(s) left as they were: not a figure on them changed"
        )
    if not reports.paths:
        context.log.info("executive summary: no council has counted case file audits yet, so there is nothing to report")
    return dg.MaterializeResult(
        metadata={
            "reports": len(reports.paths),
            "rewritten": len(reports.written),
            "paths": dg.MetadataValue.text("\n".join(str(p) for p in reports.paths)),
        }
    )
