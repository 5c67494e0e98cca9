"""Where things live. Every path the warehouse uses is derived here, from the environment.

The warehouse file (`CFA_WAREHOUSE`) is what analysts query. Runs never write it in place:
ingestion and dbt write a build database beside it, in `.build/`, with the same base name
(DuckDB names a file's catalog after it, and views refer to that name), and publishing
replaces the warehouse file with a new one holding what analysts use, in one atomic rename.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
SEEDS_DIR = REPO_ROOT / "seeds"
DOCS_DIR = REPO_ROOT / "docs"
DEFAULT_DATA_DIR = REPO_ROOT / "data"
# What dbt parses the project from, relative to DBT_PROJECT_DIR (the Makefile's manifest rule
# lists the same).
DBT_SOURCES = ("models", "macros", "tests", "dbt_project.yml", "../seeds")
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def dbt_project_files(project_dir: Path = DBT_PROJECT_DIR) -> list[Path]:
    """Every file the dbt project is parsed from, sorted."""
    sources = [(project_dir / source).resolve() for source in DBT_SOURCES]
    return sorted(path for source in sources for path in ([source] if source.is_file() else source.rglob("*")) if path.is_file())


@dataclass(frozen=True)
class WarehousePaths:
    landing_dir: Path
    warehouse: Path

    @property
    def archive_dir(self) -> Path:
        """Processed and rejected files, untouched, beside the landing folder."""
        return self.landing_dir.parent / f"{self.landing_dir.name}_archive"

    @property
    def build_database(self) -> Path:
        return self.warehouse.parent / ".build" / self.warehouse.name

    @property
    def error_report(self) -> Path:
        return self.warehouse.parent / "error_report.csv"

    @property
    def outstanding_rejections(self) -> Path:
        """Every rejection not yet put right, across runs: the QA officers' work list."""
        return self.warehouse.parent / "outstanding_rejections.csv"

    @property
    def error_report_history_dir(self) -> Path:
        return self.warehouse.parent / "error_reports"


def warehouse_paths(landing_dir: str | Path | None = None, warehouse: str | Path | None = None) -> WarehousePaths:
    landing = landing_dir or os.environ.get("CFA_LANDING_DIR") or DEFAULT_DATA_DIR / "landing"
    target = warehouse or os.environ.get("CFA_WAREHOUSE") or DEFAULT_DATA_DIR / "warehouse" / "cfa.duckdb"
    return WarehousePaths(landing_dir=Path(landing).resolve(), warehouse=Path(target).resolve())


def configure_dagster_home() -> None:
    """Point Dagster at the project's instance (dagster.yaml) and its git-ignored storage."""
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT))
    os.environ.setdefault("CFA_DAGSTER_STORAGE", str(REPO_ROOT / ".dagster" / "storage"))
    os.environ.setdefault("CFA_DAGSTER_COMPUTE_LOGS", str(REPO_ROOT / ".dagster" / "compute_logs"))
