import os
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from orchestration.settings import DBT_PROJECT_DIR, WarehousePaths, dbt_project_files, warehouse_paths

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

def changed_since_parsed(project_dir: Path, manifest: Path) -> list[Path]:
    """The dbt project's files newer than its manifest (all of them when there is none): the
    manifest Dagster builds its dbt assets from is out of date, and a build with it fails."""
    files = dbt_project_files(project_dir)
    if not manifest.is_file():
        return files
    parsed_at = manifest.stat().st_mtime
    return [path for path in files if path.stat().st_mtime > parsed_at]


def prepare_if_changed(log=print) -> None:
    """Parse the dbt project again if it changed since its manifest was written (a `git pull`
    without `make prepare`), before the definitions are loaded from it."""
    changed = changed_since_parsed(Path(dbt_project.project_dir), Path(dbt_project.manifest_path))
    if changed:
        newest = max(changed, key=lambda path: path.stat().st_mtime)
        log(f"The dbt project changed since it was parsed ({newest.relative_to(Path(dbt_project.project_dir).resolve().parent)}, {len(changed)} file(s)): parsing it again.")
        dbt_project.preparer.prepare(dbt_project)


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
