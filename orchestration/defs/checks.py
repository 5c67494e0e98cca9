"""Great Expectations suites as Dagster asset checks on the raw assets (blocking: dbt does not
build on raw rows that break the contract)."""

import time

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
        started = time.perf_counter()
        with warehouse_writer(context, warehouse.paths):
            checked, problems = recheck_run(warehouse.paths, entity, load_contract(), context.run.run_id)
        seconds = time.perf_counter() - started
        # At national scale the suites take real time: say how much, rather than hide it.
        context.log.info(f"audit_extract__{entity.name} suite: {checked} row(s) checked in {seconds:.1f} s, {len(problems)} problem(s)")
        return dg.AssetCheckResult(
            passed=not problems,
            metadata={
                "rows_checked": checked,
                "problems": len(problems),
                "first_problems": "\n".join(problems[:20]),
                "seconds": round(seconds, 2),
                "rows_a_second": round(checked / seconds) if seconds > 0 else None,
            },
        )

    return rows_meet_the_extract_contract


contract_suite_checks = [contract_suite_check(entity) for entity in load_contract().entities.values()]
