"""The Dagster code location: `dagster dev -m orchestration.definitions`."""

import dagster as dg

from orchestration.defs.assets import dbt, ingestion, publishing, report
from orchestration.defs.checks import contract_suite_checks, mart_quality_gates
from orchestration.defs.jobs import nightly_warehouse_job
from orchestration.defs.resources import resources
from orchestration.defs.schedules import nightly_schedule
from orchestration.defs.sensors import landing_folder_sensor

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingestion, dbt, publishing, report]),
    asset_checks=[*contract_suite_checks, mart_quality_gates],
    jobs=[nightly_warehouse_job],
    schedules=[nightly_schedule],
    sensors=[landing_folder_sensor],
    resources=resources,
)
