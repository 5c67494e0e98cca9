"""After publishing: the quarterly executive summary of each council, from the published marts."""

import dagster as dg

from orchestration.defs.assets.publishing import published_warehouse
from orchestration.defs.resources import WarehouseResource
from orchestration.report import write_latest_reports

REPORT_KEY = dg.AssetKey(["reports", "executive_summary"])


@dg.asset(key=REPORT_KEY, deps=[published_warehouse], group_name="reports", kinds={"html"})
def executive_summary(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The executive summary (HTML, charts inline) for each council's latest quarter with case
    file audits, covering its financial year to date: written in reports/ beside the warehouse
    from the published file's marts, exactly as `cfa report` writes it for any quarter. It only
    reads the published warehouse, so it holds no writer's slot."""
    written = write_latest_reports(warehouse.paths.warehouse)
    for path in written:
        context.log.info(f"executive summary: {path}")
    if not written:
        context.log.info("executive summary: no council has counted case file audits yet, so there is nothing to report")
    return dg.MaterializeResult(
        metadata={"reports": len(written), "paths": dg.MetadataValue.text("\n".join(str(p) for p in written))}
    )
