"""The dbt project as assets: staging, intermediate and marts, with dbt tests as asset checks."""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.defs.guard import warehouse_writer
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource, dbt_project


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
    os.environ["CFA_BUILD_DATABASE"] = str(warehouse.paths.build_database)
    with warehouse_writer(context, warehouse.paths):
        yield from dbt.cli(["build"], context=context).stream()
