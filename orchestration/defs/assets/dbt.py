"""The dbt project as assets: staging, intermediate and marts, with dbt tests as asset checks."""

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.council_build import plan_council_build, record_councils_built
from orchestration.defs.guard import warehouse_writer
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource, dbt_project
from orchestration.ingest.build_failures import record_build_failures
from orchestration.ingest.error_report import write_error_report


# How long dbt has to stop after an interrupt before it is killed.
DBT_STOP_SECONDS = 25


@contextlib.contextmanager
def dbt_stopped_on_error(process: subprocess.Popen) -> Iterator[None]:
    """dagster-dbt stops dbt's process when the run is interrupted, not on any other error while
    its events are read (an event Dagster refuses, as a manifest older than the models makes it
    do; a failure in this step's own code). dbt would then go on writing the build database after
    the step had failed and let go of the writer lock, and the next run would find the file
    held: dbt is stopped (interrupted, then killed) before the error goes on."""
    try:
        yield
    except BaseException:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=DBT_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        raise


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Every dbt node is keyed [schema, table]: a source in schema raw is then exactly the
    ingestion asset that loads it (["raw", "audits"]), so lineage is one graph."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["schema"]


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=WarehouseDbtTranslator(),
    pool=WAREHOUSE_POOL,
)
def warehouse_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    paths = warehouse.paths
    os.environ["CFA_BUILD_DATABASE"] = str(paths.build_database)
    with warehouse_writer(context, paths):
        plan = plan_council_build(paths.build_database, dbt_project.manifest_path, whole_project=not context.is_subset)
        context.log.info(plan.describe())
        invocation = dbt.cli(["build", *plan.dbt_arguments], context=context, raise_on_error=False)
        with dbt_stopped_on_error(invocation.process):
            yield from invocation.stream()
        if invocation.is_successful():
            record_councils_built(paths.build_database, plan, context.run.run_id)
        else:
            # Name the rows behind each failed test, where the officer can find them, before failing.
            failures = record_build_failures(paths.build_database, invocation.target_path, context.run.run_id)
            for line in failures:
                context.log.error(line)
            write_error_report(paths, context.run.run_id)
            raise dg.Failure(
                description=f"dbt build failed: {len(failures)} failing row(s) or test(s), listed in {paths.error_report}",
                metadata={"failing": "\n".join(failures[:50]), "error_report": dg.MetadataValue.path(str(paths.error_report))},
            )
