import os
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from orchestration.settings import DBT_PROJECT_DIR, WarehousePaths, warehouse_paths

# Every step that writes (or copies) the DuckDB build database runs in this pool; dagster.yaml
# limits every pool to one step at a time, across runs.
WAREHOUSE_POOL = "duckdb_warehouse"

# dagster-dbt runs `dbt` from PATH (its manifest preparer included): make it the dbt installed
# beside this Python, so nothing needs the virtual environment activated.
_environment_bin = str(Path(sys.executable).parent)
if _environment_bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _environment_bin + os.pathsep + os.environ.get("PATH", "")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# `dagster dev` parses the project on start; elsewhere the Makefile and tests prepare it first.
dbt_project.prepare_if_dev()


class WarehouseResource(dg.ConfigurableResource):
    """Where the landing folder and the warehouse are: config, else CFA_LANDING_DIR and
    CFA_WAREHOUSE, else the project's data/ folder."""

    landing_dir: str | None = None
    warehouse: str | None = None

    @property
    def paths(self) -> WarehousePaths:
        return warehouse_paths(self.landing_dir, self.warehouse)


resources = {
    "warehouse": WarehouseResource(),
    "dbt": DbtCliResource(project_dir=dbt_project),
}
