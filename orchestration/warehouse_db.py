"""Which database the warehouse is built in, and one way of talking to either.

DuckDB, the default, is one file per council: ingestion and dbt write a build database and
publishing renames a copy over the file analysts open (orchestration/publish/). PostgreSQL
(`CFA_TARGET=postgres`) is for a region pooling many councils for many analysts at once: one
server database, connected to through libpq's usual variables (PGHOST, PGPORT, PGDATABASE,
PGUSER, PGPASSWORD, or a ~/.pgpass file), in which ingestion and dbt write with the build's role
and analysts read the `marts` schema through their own role (docs/deployment.md). There is no
file to publish there: publishing swaps the build's marts schema in (orchestration/publish/postgres.py).

Ingestion, the Great Expectations re-check, the error report and the run summary talk to the
build database through `WarehouseConnection`: SQL written once with `?` placeholders (and
`$name` ones), run on either. What differs between the two, and only that, lives here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from orchestration.ops.refusals import Refusal
from orchestration.settings import WarehousePaths

TARGET_SETTING = "CFA_TARGET"
DUCKDB, POSTGRES = "duckdb", "postgres"
TARGETS = (DUCKDB, POSTGRES)
ANALYST_ROLE_SETTING = "CFA_ANALYST_ROLE"
DEFAULT_ANALYST_ROLE = "cfa_analyst"


class TargetInvalid(Refusal):
    pass


def quoted_identifier(name: str) -> str:
    """A table's or column's name as SQL quotes it, on DuckDB and PostgreSQL alike."""
    return '"' + name.replace('"', '""') + '"'


def has_table(connection, schema: str, table: str, database: str | None = None) -> bool:
    """Whether a DuckDB connection's database (or the attached `database`) has schema.table."""
    return bool(connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = coalesce(?, current_database()) AND schema_name = ? AND table_name = ?",
        [database, schema, table],
    ).fetchall()[0][0])


def target() -> str:
    """`duckdb` unless CFA_TARGET says `postgres`; anything else is refused, not guessed."""
    value = os.environ.get(TARGET_SETTING, "").strip() or DUCKDB
    if value not in TARGETS:
        raise TargetInvalid(f"{TARGET_SETTING}={value!r} is not one of {', '.join(TARGETS)}: set one, or unset it for {DUCKDB}.")
    return value


def on_postgres() -> bool:
    return target() == POSTGRES


def analyst_role() -> str:
    return os.environ.get(ANALYST_ROLE_SETTING, "").strip() or DEFAULT_ANALYST_ROLE


def postgres_errors() -> tuple[type[BaseException], ...]:
    import psycopg

    return (psycopg.Error,)


def database_errors() -> tuple[type[BaseException], ...]:
    """What a failed query raises, on either database."""
    return (duckdb.Error, *postgres_errors())


def missing_table_errors() -> tuple[type[BaseException], ...]:
    import psycopg.errors

    return (duckdb.CatalogException, psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName)


def describe_postgres() -> str:
    """Where the PostgreSQL warehouse is, for logs and the run summary (never the password)."""
    host = os.environ.get("PGHOST") or "localhost"
    port = os.environ.get("PGPORT") or "5432"
    database = os.environ.get("PGDATABASE") or os.environ.get("PGUSER") or "?"
    return f"PostgreSQL database {database} on {host}:{port}"


# Placeholders: `?` and `$name` become psycopg's `%s` and `%(name)s` (not inside quotes), and
# with parameters psycopg reads every `%` as one, so a literal `%` is doubled, quoted or not.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|\?|\$[A-Za-z_][A-Za-z0-9_]*|%")


def _to_psycopg(sql: str) -> str:
    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token.startswith("$"):
            return f"%({token[1:]})s"
        return token.replace("%", "%%")

    return _TOKENS.sub(replace, sql)


class Rows:
    """A PostgreSQL result held in memory, with the parts of DuckDB's relation the callers use."""

    def __init__(self, columns: list[str], rows: list[tuple]):
        self.columns = columns
        self._rows = rows

    def fetchall(self) -> list[tuple]:
        return list(self._rows)

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def df(self) -> pd.DataFrame:
        """Columns as pandas would type them, except that a column with a missing value stays
        object (whole numbers must not turn into floats)."""
        frame = {}
        for position, name in enumerate(self.columns):
            values = [row[position] for row in self._rows]
            keep_objects = not values or any(value is None for value in values)
            frame[name] = pd.Series(values, dtype=object) if keep_objects else pd.Series(values)
        return pd.DataFrame(frame, columns=self.columns)

    def write_csv(self, path: str, header: bool = True) -> None:
        # DuckDB writes the CSV, so a report reads the same from either database.
        frame = self.df()
        with duckdb.connect() as scratch:
            scratch.from_df(frame).write_csv(path, header=header)


class WarehouseConnection:
    """A connection to the build database, DuckDB's or PostgreSQL's. Statements run as given
    (autocommit) unless inside `transaction()`."""

    def __init__(self, raw, dialect: str):
        self.raw = raw
        self.dialect = dialect

    # -- running SQL -------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence | dict | None = None):
        """Run one statement; the result has fetchall() and fetchone()."""
        if self.dialect == DUCKDB:
            return self.raw.execute(sql, params) if params is not None else self.raw.execute(sql)
        if params is None:
            return self.raw.execute(sql)
        return self.raw.execute(_to_psycopg(sql), _plain_params(params))

    def sql(self, sql: str, params: Sequence | dict | None = None):
        """A query's result with its column names: DuckDB's relation, or the same in memory."""
        if self.dialect == DUCKDB:
            return self.raw.sql(sql, params=params)
        cursor = self.execute(sql, params)
        return Rows([column.name for column in cursor.description or []], cursor.fetchall())

    def frame(self, sql: str, params: Sequence | dict | None = None) -> pd.DataFrame:
        if self.dialect == DUCKDB:
            return self.execute(sql, params).df()
        return self.sql(sql, params).df()

    def compact_frame(self, sql: str, params: Sequence | dict | None = None) -> pd.DataFrame:
        """`frame`, with text columns as pandas categories (each distinct text held once however
        many rows repeat it): the frame a national batch needs, at a fraction of the memory."""
        if self.dialect == DUCKDB:
            return self.raw.sql(sql, params=params).to_arrow_table().to_pandas(date_as_object=True, strings_to_categorical=True)
        return self.frame(sql, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    # -- what differs ------------------------------------------------------------------------
    def table_exists(self, schema: str, table: str) -> bool:
        return self.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
        ).fetchone()[0] > 0

    def insert_frame(
        self, table: str, frame: pd.DataFrame | pa.Table, types: dict[str, str], constants: dict[str, object] | None = None
    ) -> None:
        """Insert a whole DataFrame or Arrow table in one statement (never row by row), each
        column as its type (DuckDB's type names; VARCHAR where not given), with `constants`: a
        value the same on every row (a load's lineage), added by the statement itself."""
        constants = constants or {}
        columns = [*(frame.columns if isinstance(frame, pd.DataFrame) else frame.column_names), *constants]
        select = ", ".join(
            [f"CAST(frame.{name} AS {types.get(name, 'VARCHAR')}) AS {name}" for name in columns if name not in constants]
            + [f"CAST({sql_literal(value)} AS {types.get(name, 'VARCHAR')}) AS {name}" for name, value in constants.items()]
        )
        if self.dialect == DUCKDB:
            self.raw.register("frame", frame)
            try:
                self.raw.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM frame")
            finally:
                self.raw.unregister("frame")
            return
        # PostgreSQL's bulk load is COPY. DuckDB casts the frame exactly as it does for its own
        # INSERT and writes it as CSV (NULL unquoted and empty, an empty string as ""), which
        # COPY reads in one statement: five times faster than sending row by row.
        handle, name = tempfile.mkstemp(prefix="cfa-copy-", suffix=".csv")
        os.close(handle)
        try:
            with duckdb.connect() as scratch:
                scratch.register("frame", frame)
                scratch.execute(f"COPY (SELECT {select} FROM frame) TO '{name}' (HEADER false)")
            with open(name, "rb") as csv, self.raw.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
            ) as copy:
                while block := csv.read(1 << 20):
                    copy.write(block)
        finally:
            os.unlink(name)

    def values_present(self, table: str, column: str, candidates: list[str]) -> set[str]:
        """Which of `candidates` `table`.`column` holds, asked about those values only."""
        if not candidates:
            return set()
        if self.dialect == DUCKDB:
            self.raw.register("candidate_values", pd.DataFrame({"value": pd.Series(candidates, dtype=object)}))
            try:
                rows = self.raw.execute(
                    f"SELECT DISTINCT {column} FROM {table} WHERE {column} IN (SELECT CAST(value AS VARCHAR) FROM candidate_values)"
                ).fetchall()
            finally:
                self.raw.unregister("candidate_values")
        else:
            rows = self.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} = ANY(?)", [candidates]).fetchall()
        return {row[0] for row in rows}

    def references_present(self, table: str, column: str, pairs: list[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
        """Which (la_code, value) `pairs` `table` holds: `column` = value, and the same council,
        or either side without one (a flat v1 row or record). Asked about those pairs only."""
        if not pairs:
            return []
        query = f"""
            SELECT DISTINCT c.la_code, c.value
            FROM {{candidates}} AS c
            JOIN {table} AS r ON r.{column} = c.value
            WHERE c.la_code IS NULL OR r.la_code IS NULL OR r.la_code = c.la_code
        """
        if self.dialect == DUCKDB:
            candidates = pd.DataFrame(pairs, columns=["la_code", "value"], dtype=object)
            self.raw.register("candidate_references", candidates)
            try:
                source = "(SELECT CAST(la_code AS VARCHAR) AS la_code, CAST(value AS VARCHAR) AS value FROM candidate_references)"
                rows = self.raw.execute(query.format(candidates=source)).fetchall()
            finally:
                self.raw.unregister("candidate_references")
        else:
            source = "(SELECT * FROM unnest(CAST(? AS VARCHAR[]), CAST(? AS VARCHAR[])) AS pair (la_code, value))"
            rows = self.execute(
                query.format(candidates=source), [[la_code for la_code, _ in pairs], [value for _, value in pairs]]
            ).fetchall()
        return [tuple(row) for row in rows]

    def load_log_checks(self) -> str | None:
        """The text of ops.load_log's CHECK constraints, or None where the table can be altered
        in place (PostgreSQL) and so never needs rebuilding."""
        if self.dialect != DUCKDB:
            return None
        return " ".join(
            expression
            for (expression,) in self.execute(
                "SELECT expression FROM duckdb_constraints() WHERE schema_name = 'ops' AND table_name = 'load_log'"
                " AND constraint_type = 'CHECK'"
            ).fetchall()
        )

    def refresh_statistics(self, tables: list[str]) -> None:
        """After a bulk load, tell PostgreSQL's planner what the tables now hold rather than
        wait for autovacuum (the dbt build starts at once). DuckDB keeps its own as it writes."""
        if self.dialect == POSTGRES:
            for table in tables:
                self.execute(f"ANALYZE {table}")

    def table_columns(self, schema: str, table: str) -> list[str]:
        return [
            name
            for (name,) in self.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
                " ORDER BY ordinal_position",
                [schema, table],
            ).fetchall()
        ]

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> WarehouseConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def sql_literal(value: object) -> str:
    """A constant as SQL text both DuckDB and PostgreSQL read (COPY takes no parameters)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return "'" + value.isoformat(sep=" ") + "'" if isinstance(value, dt.datetime) else f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _plain(value: object) -> object:
    """numpy and pandas scalars as the Python values psycopg knows; missing values as None."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes, list, tuple, dict)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _plain_params(params: Sequence | dict) -> Sequence | dict:
    if isinstance(params, dict):
        return {name: _plain(value) for name, value in params.items()}
    return [_plain(value) for value in params]


def connect_postgres(read_only: bool = False) -> WarehouseConnection:
    import psycopg

    # libpq reads PGHOST, PGPORT, PGDATABASE, PGUSER and PGPASSWORD (or ~/.pgpass) itself.
    connection = psycopg.connect("", autocommit=True, application_name="cfa")
    if read_only:
        connection.execute("SET default_transaction_read_only = on")
    return WarehouseConnection(connection, POSTGRES)


def connect_duckdb(database: Path, read_only: bool = False) -> WarehouseConnection:
    return WarehouseConnection(duckdb.connect(str(database), read_only=read_only), DUCKDB)


def connect_build_database(build_database: Path, read_only: bool = False) -> WarehouseConnection:
    """The build database: the DuckDB file `build_database` (in `.build/` beside the warehouse),
    or, on PostgreSQL, the server's database, where the build has no file of its own."""
    if on_postgres():
        return connect_postgres(read_only)
    if not read_only:
        build_database.parent.mkdir(parents=True, exist_ok=True)
    return connect_duckdb(build_database, read_only)


def build_connection(paths: WarehousePaths, read_only: bool = False) -> WarehouseConnection:
    return connect_build_database(paths.build_database, read_only)


def build_exists(paths: WarehousePaths) -> bool:
    """Whether there is a build to read: the file, or on PostgreSQL a database ingestion has
    written to (its ops schema exists)."""
    if not on_postgres():
        return paths.build_database.exists()
    with connect_postgres(read_only=True) as connection:
        return connection.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'ops'"
        ).fetchone()[0] > 0
