"""Every published mart as Parquet (Power BI, Python, R) and CSV (Excel), with a manifest.

Written from the published warehouse's own file, so the exports and the warehouse always hold
the same build. They go into a new folder, and the `exports` link beside the warehouse is
switched to it in one step (orchestration.publish.atomic.switch_folder): Power BI or Excel
refreshing from `exports/` never sees half of one build and half of another.

    exports/
      manifest.json            build time, run, and per file: rows, columns, bytes, sha256
      parquet/<table>.parquet
      csv/<table>.csv           UTF-8 with a byte-order mark, ISO dates, safe to open in Excel
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb

from orchestration.safe_csv import write_relation
from orchestration.warehouse_db import quoted_identifier, sql_literal

MANIFEST = "manifest.json"


def exports_link(warehouse: Path) -> Path:
    """The exports folder analysts point BI tools at: beside the warehouse."""
    return warehouse.parent / "exports"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_exports(warehouse: Path, folder: Path, built_at: dt.datetime, run_id: str | None) -> int:
    """Write every table of the warehouse's marts schema into `folder`; return the files written."""
    (folder / "parquet").mkdir(parents=True)
    (folder / "csv").mkdir()
    files = []
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY table_name"
            ).fetchall()
        ]
        for table in tables:
            # Sorted on every column: the same build writes the same rows in the same order.
            relation = connection.sql(f"SELECT * FROM marts.{quoted_identifier(table)} ORDER BY ALL")
            columns = [{"name": name, "type": str(kind)} for name, kind in zip(relation.columns, relation.types)]
            rows = connection.execute(f"SELECT count(*) FROM marts.{quoted_identifier(table)}").fetchall()[0][0]
            parquet = folder / "parquet" / f"{table}.parquet"
            relation.write_parquet(str(parquet), compression="zstd")
            csv_file = folder / "csv" / f"{table}.csv"
            # From the Parquet file just written, in its order: a national fact table is sorted
            # once, not once per format.
            write_relation(connection.sql(f"SELECT * FROM read_parquet({sql_literal(str(parquet))})"), csv_file)
            for path, kind in ((parquet, "parquet"), (csv_file, "csv")):
                files.append(
                    {
                        "file": str(path.relative_to(folder)),
                        "format": kind,
                        "table": f"marts.{table}",
                        "rows": rows,
                        "columns": columns,
                        "bytes": path.stat().st_size,
                        "sha256": sha256_of(path),
                    }
                )
    manifest = {
        "built_at": built_at.replace(microsecond=0).isoformat() + "Z",
        "run_id": run_id,
        "warehouse": str(warehouse.name),
        "csv": "UTF-8 with a byte-order mark; ISO 8601 dates; every field quoted; text a spreadsheet would run as a formula starts with '",
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return len(files)
