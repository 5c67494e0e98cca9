"""Publishing: the warehouse analysts query, and its exports, from a build that passed its gates.

The build database (`.build/cfa.duckdb`) holds everything: raw history with every version of
every child's record, staging, intermediate models, dbt's stored test failures. It stays
private to the job. The published warehouse holds what analysts use and nothing else:

- the marts schema (dimensions, facts, `mart_*`), with dbt's descriptions as comments;
- ops.load_log, ops.rejected_rows (without the waiting rows' whole records) and
  ops.warehouse_identity (the key's fingerprint), described here (orchestration/publish/ops_tables.py);
- ops.build_info: when the build ran and was published, and the date each council's figures are as at.

It is written as a new DuckDB file beside the warehouse (the build attached read-only, each
table created and filled in one statement), its exports written from it, and then both are
switched into place: the file by one rename, the exports folder by one link switch. Readers
holding the old file or folder keep reading it. Nothing in the build is copied wholesale, so
the raw history is not copied every night.
"""

from __future__ import annotations

import datetime as dt
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.export.bi_files import exports_link, write_exports
from orchestration.publish.atomic import replace_file, switch_folder
from orchestration.publish.ops_tables import (
    BUILD_INFO_COLUMNS,
    BUILD_INFO_DESCRIPTION,
    BUILD_INFO_TABLE,
    PUBLISHED_OPS_TABLES,
)
from orchestration.settings import WarehousePaths
from orchestration.warehouse_db import quoted_identifier

PUBLISHED_SCHEMAS = ("marts", "ops")


@dataclass(frozen=True)
class Published:
    warehouse: Path
    exports: Path
    tables: dict[str, int]  # schema.table -> rows
    export_files: int


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _columns(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str, bool, str | None]]:
    """(name, type, nullable, comment) of a table of the attached build, in order."""
    return connection.execute(
        """
        SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns()
        WHERE database_name = 'build' AND schema_name = ? AND table_name = ?
        ORDER BY column_index
        """,
        [schema, table],
    ).fetchall()


def _copy_table(
    connection: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    table_comment: str | None,
    column_comments: dict[str, str] | None = None,
) -> int:
    """Create schema.table in the new file with the build's column types and NOT NULLs, fill it
    in one statement, and comment it. `column_comments` limits the columns to those it names."""
    columns = _columns(connection, schema, table)
    if column_comments is not None:
        columns = [column for column in columns if column[0] in column_comments]
    definitions = ", ".join(
        f"{quoted_identifier(name)} {kind}{'' if nullable else ' NOT NULL'}" for name, kind, nullable, _ in columns
    )
    target = f"{quoted_identifier(schema)}.{quoted_identifier(table)}"
    connection.execute(f"CREATE TABLE {target} ({definitions})")
    listed = ", ".join(quoted_identifier(name) for name, *_ in columns)
    connection.execute(f"INSERT INTO {target} ({listed}) SELECT {listed} FROM build.{target}")
    # dbt's folded YAML descriptions end in a newline: a BI tool shows the text alone.
    if table_comment:
        connection.execute(f"COMMENT ON TABLE {target} IS {_literal(table_comment.strip())}")
    for name, _, _, comment in columns:
        comment = (column_comments or {}).get(name) or comment
        if comment:
            connection.execute(f"COMMENT ON COLUMN {target}.{quoted_identifier(name)} IS {_literal(comment.strip())}")
    return connection.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]


def _council_figures_as_at(connection: duckdb.DuckDBPyConnection) -> str:
    """A query of (la_code, figures_as_at): the date each council's figures are as at, as the
    marts have it (int_local_authorities_dated)."""
    if not _has_table(connection, "build", "intermediate", "int_local_authorities_dated"):
        return "SELECT CAST(NULL AS VARCHAR) AS la_code, CAST(NULL AS DATE) AS figures_as_at WHERE false"
    return "SELECT la_code, figures_as_at FROM build.intermediate.int_local_authorities_dated"


def _write_build_info(connection: duckdb.DuckDBPyConnection, build_started_at: dt.datetime, run_id: str | None) -> int:
    definitions = ", ".join(f"{name} {kind}" for name, (kind, _) in BUILD_INFO_COLUMNS.items())
    connection.execute(f"CREATE TABLE ops.{BUILD_INFO_TABLE} ({definitions})")
    marts_as_at = None
    if _has_table(connection, "build", "marts", "mart_quarterly_summary"):
        marts_as_at = connection.execute("SELECT max(figures_as_at) FROM build.marts.mart_quarterly_summary").fetchall()[0][0]
    published_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    connection.execute(
        f"""
        INSERT INTO ops.{BUILD_INFO_TABLE}
        SELECT la_code, figures_as_at, ?, ?, ?, ?
        FROM ({_council_figures_as_at(connection)})
        ORDER BY la_code
        """,
        [marts_as_at, build_started_at.replace(microsecond=0), published_at, run_id],
    )
    connection.execute(f"COMMENT ON TABLE ops.{BUILD_INFO_TABLE} IS {_literal(BUILD_INFO_DESCRIPTION)}")
    for name, (_, description) in BUILD_INFO_COLUMNS.items():
        connection.execute(f"COMMENT ON COLUMN ops.{BUILD_INFO_TABLE}.{name} IS {_literal(description)}")
    return connection.execute(f"SELECT count(*) FROM ops.{BUILD_INFO_TABLE}").fetchall()[0][0]


def _has_table(connection: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> bool:
    return bool(
        connection.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
            [database, schema, table],
        ).fetchall()[0][0]
    )


def write_published_warehouse(
    build_database: Path, target: Path, build_started_at: dt.datetime, run_id: str | None
) -> dict[str, int]:
    """Write the published warehouse's tables from the build into a new DuckDB file `target`;
    return rows per table."""
    target.unlink(missing_ok=True)
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    tables: dict[str, int] = {}
    with duckdb.connect(str(target)) as connection:
        connection.execute(f"ATTACH {_literal(str(build_database))} AS build (READ_ONLY)")
        # One transaction: hundreds of comments, each its own commit, would each reach the disk.
        connection.execute("BEGIN TRANSACTION")
        for schema in PUBLISHED_SCHEMAS:
            connection.execute(f"CREATE SCHEMA {schema}")
        marts = connection.execute(
            "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = 'build' AND schema_name = 'marts' ORDER BY table_name"
        ).fetchall()
        for table, comment in marts:
            tables[f"marts.{table}"] = _copy_table(connection, "marts", table, comment)
        for table, (description, columns) in PUBLISHED_OPS_TABLES.items():
            if _has_table(connection, "build", "ops", table):
                tables[f"ops.{table}"] = _copy_table(connection, "ops", table, description, columns)
        tables[f"ops.{BUILD_INFO_TABLE}"] = _write_build_info(connection, build_started_at, run_id)
        connection.execute("COMMIT")
        connection.execute("DETACH build")
        connection.execute("CHECKPOINT")
    return tables


def _keep_private(folder: Path) -> None:
    """The build holds every child's row-level history: readable by the job's user only."""
    if folder.is_dir():
        folder.chmod(stat.S_IRWXU)


def publish(paths: WarehousePaths, build_started_at: dt.datetime, run_id: str | None) -> Published:
    """Write the published warehouse and its exports beside the old ones, then switch both in."""
    build = paths.build_database
    if not build.exists():
        raise FileNotFoundError(f"nothing to publish: {build} does not exist")
    _keep_private(build.parent)
    with duckdb.connect(str(build)) as connection:
        connection.execute("CHECKPOINT")  # everything in the file itself, nothing left in a WAL
    # Same base name as the warehouse: DuckDB names a file's catalog after it.
    staging = paths.warehouse.parent / ".publishing"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    staged_warehouse = staging / paths.warehouse.name
    link = exports_link(paths.warehouse)
    stamp = build_started_at.strftime("%Y%m%dT%H%M%SZ")
    exports_folder = link.parent / f".{link.name}" / f"{stamp}-{(run_id or 'run')[:8]}"
    shutil.rmtree(exports_folder, ignore_errors=True)
    try:
        tables = write_published_warehouse(build, staged_warehouse, build_started_at, run_id)
        files = write_exports(staged_warehouse, exports_folder, build_started_at, run_id)
    except BaseException:
        # Nothing was switched in: leave no half-written copy behind either.
        shutil.rmtree(exports_folder, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replace_file(staged_warehouse, paths.warehouse)
    switch_folder(exports_folder, link)
    shutil.rmtree(staging, ignore_errors=True)
    return Published(paths.warehouse, link, tables, files)


def published_tables(warehouse: Path) -> list[tuple[str, str]]:
    """(schema, table) of every table and view a warehouse file holds."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2"
        ).fetchall()

