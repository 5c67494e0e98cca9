"""The dbt project as assets: staging, intermediate and marts, with dbt tests as asset checks."""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource, dbt_project
from orchestration.ingest.build_failures import record_build_failures
from orchestration.ingest.error_report import write_error_report


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
    invocation = dbt.cli(["build"], context=context, raise_on_error=False)
    yield from invocation.stream()
    if not invocation.is_successful():
        # Name the rows behind each failed test, where the officer can find them, before failing.
        failures = record_build_failures(paths.build_database, invocation.target_path, context.run.run_id)
        for line in failures:
            context.log.error(line)
        write_error_report(paths, context.run.run_id)
        raise dg.Failure(
            description=f"dbt build failed: {len(failures)} failing row(s) or test(s), listed in {paths.error_report}",
            metadata={"failing": "\n".join(failures[:50]), "error_report": dg.MetadataValue.path(str(paths.error_report))},
        )
