"""Great Expectations suites as blocking Dagster asset checks: on the raw assets (dbt does not
build on raw rows that break the contract), and on the BI marts (nothing is published from
marts that fail their quality gates)."""

import time

import dagster as dg

from orchestration.contract import Entity, load_contract
from orchestration.defs.guard import warehouse_writer
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.ingest.build_failures import record_check_failures
from orchestration.ingest.error_report import write_error_report
from orchestration.ingest.recheck import recheck_failures
from orchestration.quality.mart_gates import gated_marts, run_mart_gates
from orchestration.quality.run_report import MART_GATE


def contract_suite_check(entity: Entity) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["raw", entity.name]),
        name="rows_meet_the_extract_contract",
        description=f"The rows this run loaded into raw.{entity.name} pass the audit_extract__{entity.name} suite.",
        blocking=True,
        pool=WAREHOUSE_POOL,
    )
    def rows_meet_the_extract_contract(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        suite = f"audit_extract__{entity.name}"
        started = time.perf_counter()
        paths = warehouse.paths
        with warehouse_writer(context, paths):
            checked, failures = recheck_failures(paths, entity, load_contract(), context.run.run_id)
            if failures:
                # Name the rows where the officer can find them: the run's log, the error report.
                record_check_failures(paths.build_database, context.run.run_id, suite, f"raw.{entity.name}", failures)
                write_error_report(paths, context.run.run_id)
        problems = [str(failure) for failure in failures]
        for problem in problems[:50]:
            context.log.error(f"{suite}: {problem}")
        seconds = time.perf_counter() - started
        # At national scale the suites take real time: say how much, rather than hide it.
        context.log.info(f"{suite} suite: {checked} row(s) checked in {seconds:.1f} s, {len(problems)} problem(s)")
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


# ---------------------------------------------------------------------------------------------
# Quality gates on the BI marts, after the dbt build and before publishing
# ---------------------------------------------------------------------------------------------



@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            name=MART_GATE,
            asset=dg.AssetKey(["marts", mart]),
            description=f"marts.{mart} passes the Great Expectations suite expectations/marts__{mart}.json.",
            blocking=True,
        )
        for mart in gated_marts()
    ],
    name="mart_quality_gates",
    pool=WAREHOUSE_POOL,
)
def mart_quality_gates(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    """Every BI mart's suite in one step (Great Expectations is imported once), with the run's
    Data Docs. A failure stops publishing: the last good warehouse and exports stay as they are."""
    paths = warehouse.paths
    with warehouse_writer(context, paths):
        results, data_docs = run_mart_gates(paths.build_database, paths.warehouse, context.run.run_id)
    context.log.info(f"quality gates: Great Expectations Data Docs {data_docs}")
    for result in results:
        for failure in result.failures:
            context.log.error(f"quality gate failed: {failure}")
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey(["marts", result.mart]),
            check_name=MART_GATE,
            passed=result.passed,
            metadata={
                "data_docs": dg.MetadataValue.path(str(data_docs)),
                "suite": f"expectations/{result.suite}.json",
                "rows_checked": result.rows,
                # The rest are councils' rows identical to rows that passed this suite before.
                "rows_validated": result.rows_validated,
                "councils_unchanged": result.councils_unchanged,
                "expectations": result.expectations,
                "failed_expectations": "\n".join(str(failure) for failure in result.failures),
                "seconds": round(result.seconds, 2),
            },
        )
