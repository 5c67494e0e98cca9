"""Great Expectations suites as Dagster asset checks on the raw assets (blocking: dbt does not
build on raw rows that break the contract)."""

import dagster as dg

from orchestration.contract import Entity, load_contract
from orchestration.defs.guard import warehouse_writer
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.ingest.recheck import recheck_run


def contract_suite_check(entity: Entity) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["raw", entity.name]),
        name="rows_meet_the_extract_contract",
        description=f"The rows this run loaded into raw.{entity.name} pass the audit_extract__{entity.name} suite.",
        blocking=True,
        pool=WAREHOUSE_POOL,
    )
    def rows_meet_the_extract_contract(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        with warehouse_writer(context, warehouse.paths):
            checked, problems = recheck_run(warehouse.paths, entity, load_contract(), context.run.run_id)
        return dg.AssetCheckResult(
            passed=not problems,
            metadata={"rows_checked": checked, "problems": len(problems), "first_problems": "\n".join(problems[:20])},
        )

    return rows_meet_the_extract_contract


contract_suite_checks = [contract_suite_check(entity) for entity in load_contract().entities.values()]
