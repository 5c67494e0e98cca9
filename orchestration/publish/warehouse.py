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
the raw history is not copied every night; and where the night's build rebuilt only some
councils (orchestration/council_build.py), the new file starts as a copy of the published one
and only those councils' rows are replaced (update_published_warehouse).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.council_build import councils_built_in_run, tables_decided_council_by_council
from orchestration.export.bi_files import exports_link, write_exports
from orchestration.publish.atomic import replace_file, switch_folder, write_json
from orchestration.publish.ops_tables import (
    BUILD_INFO_COLUMNS,
    BUILD_INFO_DESCRIPTION,
    BUILD_INFO_TABLE,
    PUBLISHED_OPS_TABLES,
)
from orchestration.settings import DBT_MANIFEST, WarehousePaths
from orchestration.warehouse_db import has_table, quoted_identifier, sql_literal

PUBLISHED_SCHEMAS = ("marts", "ops")
# Beside the build: the councils' fingerprints (orchestration.council_build) the published
# warehouse holds the rows of, so the next publishing replaces only the councils that changed.
PUBLISHED_STATE = "published_councils.json"
# A warehouse updated council by council keeps the space of the rows it replaced (at national
# scale it settled at 1.2 to 1.3 times its size written whole): it is written whole again once it
# has grown past this many times that size, and by more than REWRITE_BYTES.
REWRITE_GROWTH = 1.5
REWRITE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Published:
    warehouse: Path
    exports: Path
    tables: dict[str, int]  # schema.table -> rows
    export_files: int
    # The councils whose rows replaced the last published warehouse's; None: written whole.
    councils_replaced: list[str] | None = None


def _columns(
    connection: duckdb.DuckDBPyConnection, schema: str, table: str, database: str = "build"
) -> list[tuple[str, str, bool, str | None]]:
    """(name, type, nullable, comment) of a table of the attached build (or `database`), in order."""
    return connection.execute(
        """
        SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns()
        WHERE database_name = ? AND schema_name = ? AND table_name = ?
        ORDER BY column_index
        """,
        [database, schema, table],
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
        connection.execute(f"COMMENT ON TABLE {target} IS {sql_literal(table_comment.strip())}")
    for name, _, _, comment in columns:
        comment = (column_comments or {}).get(name) or comment
        if comment:
            connection.execute(f"COMMENT ON COLUMN {target}.{quoted_identifier(name)} IS {sql_literal(comment.strip())}")
    return connection.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]


def _council_figures_as_at(connection: duckdb.DuckDBPyConnection) -> str:
    """A query of (la_code, figures_as_at): the date each council's figures are as at, as the
    marts have it (int_local_authorities_dated)."""
    if not has_table(connection, "intermediate", "int_local_authorities_dated", "build"):
        return "SELECT CAST(NULL AS VARCHAR) AS la_code, CAST(NULL AS DATE) AS figures_as_at WHERE false"
    return "SELECT la_code, figures_as_at FROM build.intermediate.int_local_authorities_dated"


def _write_build_info(connection: duckdb.DuckDBPyConnection, build_started_at: dt.datetime, run_id: str | None) -> int:
    definitions = ", ".join(f"{name} {kind}" for name, (kind, _) in BUILD_INFO_COLUMNS.items())
    connection.execute(f"CREATE TABLE ops.{BUILD_INFO_TABLE} ({definitions})")
    marts_as_at = None
    if has_table(connection, "marts", "mart_quarterly_summary", "build"):
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
    connection.execute(f"COMMENT ON TABLE ops.{BUILD_INFO_TABLE} IS {sql_literal(BUILD_INFO_DESCRIPTION)}")
    for name, (_, description) in BUILD_INFO_COLUMNS.items():
        connection.execute(f"COMMENT ON COLUMN ops.{BUILD_INFO_TABLE}.{name} IS {sql_literal(description)}")
    return connection.execute(f"SELECT count(*) FROM ops.{BUILD_INFO_TABLE}").fetchall()[0][0]


def _build_marts(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """(table, comment) of every mart of the attached build."""
    return connection.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = 'build' AND schema_name = 'marts' ORDER BY table_name"
    ).fetchall()


def _write_ops_tables(connection: duckdb.DuckDBPyConnection, build_started_at: dt.datetime, run_id: str | None) -> dict[str, int]:
    """The published ops tables and the build info, written afresh (in place of any the file
    holds); rows per table."""
    tables: dict[str, int] = {}
    for table, (description, columns) in PUBLISHED_OPS_TABLES.items():
        connection.execute(f"DROP TABLE IF EXISTS ops.{quoted_identifier(table)}")
        if has_table(connection, "ops", table, "build"):
            tables[f"ops.{table}"] = _copy_table(connection, "ops", table, description, columns)
    connection.execute(f"DROP TABLE IF EXISTS ops.{BUILD_INFO_TABLE}")
    tables[f"ops.{BUILD_INFO_TABLE}"] = _write_build_info(connection, build_started_at, run_id)
    return tables


def write_published_warehouse(
    build_database: Path, target: Path, build_started_at: dt.datetime, run_id: str | None
) -> dict[str, int]:
    """Write the published warehouse's tables from the build into a new DuckDB file `target`;
    return rows per table."""
    tables: dict[str, int] = {}
    with _writing_from_build(build_database, target) as connection:
        for schema in PUBLISHED_SCHEMAS:
            connection.execute(f"CREATE SCHEMA {schema}")
        for table, comment in _build_marts(connection):
            tables[f"marts.{table}"] = _copy_table(connection, "marts", table, comment)
        tables.update(_write_ops_tables(connection, build_started_at, run_id))
    return tables


@contextlib.contextmanager
def _writing_from_build(build_database: Path, target: Path, previous: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """`target` (new, or a copy of `previous`) open with the build attached, in one transaction
    committed and checkpointed on leaving."""
    target.unlink(missing_ok=True)
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    if previous is not None:
        shutil.copyfile(previous, target)
    with duckdb.connect(str(target)) as connection:
        connection.execute(f"ATTACH {sql_literal(str(build_database))} AS build (READ_ONLY)")
        # One transaction: hundreds of comments, each its own commit, would each reach the disk.
        connection.execute("BEGIN TRANSACTION")
        yield connection
        connection.execute("COMMIT")
        connection.execute("DETACH build")
        connection.execute("CHECKPOINT")


def update_published_warehouse(
    build_database: Path, previous: Path, target: Path, councils: list[str], build_started_at: dt.datetime, run_id: str | None
) -> dict[str, int]:
    """The previous published warehouse, copied to `target`, with the build's rows of `councils`
    in place of its own in every mart decided council by council (orchestration.council_build:
    the per-council models and the dimensions); every other mart, the ops tables and the build
    info written afresh. Return rows per table, as write_published_warehouse does."""
    by_council = tables_decided_council_by_council(DBT_MANIFEST)
    listed = ", ".join(sql_literal(council) for council in councils) or "NULL"
    tables: dict[str, int] = {}
    with _writing_from_build(build_database, target, previous) as connection:
        own = connection.execute("SELECT current_database()").fetchall()[0][0]
        marts = _build_marts(connection)
        kept = {name for (name,) in connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'marts'", [own]
        ).fetchall()}
        for table in sorted(kept - {name for name, _ in marts}):
            connection.execute(f"DROP TABLE marts.{quoted_identifier(table)}")
        for table, comment in marts:
            target_table = f"marts.{quoted_identifier(table)}"
            columns = _columns(connection, "marts", table)
            # Comments too: a description changed in dbt writes the table afresh.
            same_table = table in kept and columns == _columns(connection, "marts", table, own)
            if f"marts.{table}" in by_council and same_table:
                if any(name == "la_code" for name, *_ in columns):
                    listed_columns = ", ".join(quoted_identifier(name) for name, *_ in columns)
                    connection.execute(f"DELETE FROM {target_table} WHERE la_code IN ({listed})")
                    connection.execute(
                        f"INSERT INTO {target_table} ({listed_columns}) SELECT {listed_columns} FROM build.{target_table} WHERE la_code IN ({listed})"
                    )
                tables[f"marts.{table}"] = connection.execute(f"SELECT count(*) FROM {target_table}").fetchall()[0][0]
                continue
            connection.execute(f"DROP TABLE IF EXISTS {target_table}")
            tables[f"marts.{table}"] = _copy_table(connection, "marts", table, comment)
        tables.update(_write_ops_tables(connection, build_started_at, run_id))
    return tables


def _councils_to_republish(paths: WarehousePaths, run_id: str | None) -> tuple[list[str] | None, dict]:
    """The councils whose rows the published warehouse must take from this build (None: write it
    whole), and the state to record once it is published: the councils this run's build rebuilt,
    and those whose raw rows changed since the warehouse was published (a build that passed its
    dbt tests but not its gates was never published)."""
    with duckdb.connect(str(paths.build_database), read_only=True) as connection:
        built = councils_built_in_run(connection, run_id)
    if built is None:
        return None, {}
    state = {"build": built.version, "councils": built.fingerprints, "run_id": run_id}
    try:
        published = json.loads((paths.build_database.parent / PUBLISHED_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, state
    if (
        not isinstance(published, dict) or published.get("build") != built.version
        or not isinstance(published.get("councils"), dict) or not DBT_MANIFEST.is_file()
        or not paths.warehouse.is_file() or _published_by(paths.warehouse) != published.get("run_id")
        or published.get("file") != _file_stamp(paths.warehouse)
    ):
        return None, state
    written_whole = published.get("written_whole_bytes") or 0
    size = paths.warehouse.stat().st_size
    if size > REWRITE_GROWTH * written_whole and size - written_whole > REWRITE_BYTES:
        return None, state
    state["written_whole_bytes"] = written_whole
    before = published["councils"]
    councils = sorted(built.rebuilt | {council for council in built.fingerprints.keys() | before.keys() if built.fingerprints.get(council) != before.get(council)})
    return (None if set(councils) >= set(built.fingerprints) else councils), state


def _file_stamp(path: Path) -> list[int]:
    """The file's size and modification time: anything that wrote to the published warehouse
    since it was published (an analyst's read-write connection) makes the next one written whole."""
    status = path.stat()
    return [status.st_size, status.st_mtime_ns]


def _published_by(warehouse: Path) -> str | None:
    """The run that published the warehouse file (its ops.build_info): the state recorded beside
    the build describes that file only, not one put back from a backup."""
    if not warehouse.is_file():
        return None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            runs = connection.execute(f"SELECT DISTINCT run_id FROM ops.{BUILD_INFO_TABLE}").fetchall()
    except duckdb.Error:
        return None
    return runs[0][0] if len(runs) == 1 else None


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
    councils, state = _councils_to_republish(paths, run_id)
    try:
        if councils is None:
            tables = write_published_warehouse(build, staged_warehouse, build_started_at, run_id)
            state["written_whole_bytes"] = staged_warehouse.stat().st_size
        else:
            tables = update_published_warehouse(build, paths.warehouse, staged_warehouse, councils, build_started_at, run_id)
        files = write_exports(staged_warehouse, exports_folder, build_started_at, run_id)
    except BaseException:
        # Nothing was switched in: leave no half-written copy behind either.
        shutil.rmtree(exports_folder, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replace_file(staged_warehouse, paths.warehouse)
    # After the rename: a state newer than the warehouse would keep councils' old rows in it.
    if state:
        write_json(paths.build_database.parent / PUBLISHED_STATE, {**state, "file": _file_stamp(paths.warehouse)})
    else:
        (paths.build_database.parent / PUBLISHED_STATE).unlink(missing_ok=True)
    switch_folder(exports_folder, link)
    shutil.rmtree(staging, ignore_errors=True)
    return Published(paths.warehouse, link, tables, files, councils)


def published_tables(warehouse: Path) -> list[tuple[str, str]]:
    """(schema, table) of every table and view a warehouse file holds."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2"
        ).fetchall()

