"""Atomic publishing of the build database to the warehouse file analysts query.

DuckDB lets one process write a file or many read it, never both: a BI tool holding the
warehouse open would make a build fail. So builds write elsewhere (settings.build_database) and
publishing copies the finished build beside the warehouse and renames it over the old file in
one step. Readers holding the old file keep reading it; new readers see the new one. The base
name stays the same, because DuckDB names a file's catalog after it and views refer to it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb


def publish_warehouse(build_database: Path, warehouse: Path) -> Path:
    if not build_database.exists():
        raise FileNotFoundError(f"nothing to publish: {build_database} does not exist")
    with duckdb.connect(str(build_database)) as connection:
        connection.execute("CHECKPOINT")  # everything in the file itself, nothing in a WAL
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    staging_copy = warehouse.parent / f".{warehouse.name}.publishing"
    shutil.copyfile(build_database, staging_copy)
    os.replace(staging_copy, warehouse)
    return warehouse
