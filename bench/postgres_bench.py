"""`make bench` on PostgreSQL too (issue 12), so the choice between the DuckDB file and a server
database is made on figures: the same national drop built through `cfa run` with
CFA_TARGET=postgres, the same month's drop into an empty warehouse and on top of the history,
and the twenty analyst queries (bench/analyst_queries_postgres.sql, the same questions in
PostgreSQL's SQL) as the analysts' role.

The server is a throwaway one from Debian's postgresql package (orchestration/ops/
throwaway_postgres.py), with the roles of deploy/postgres/roles.sql. It runs without fsync, as
a benchmark's scratch server may; a production server syncs every commit, which costs most in
ingestion's many small transactions. Where no server binaries are installed the section says so
and the rest of the benchmark stands. It runs only with BENCH_POSTGRES=1: at national scale it
would take `make bench` past its 15 minutes.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUERIES = REPO / "bench" / "analyst_queries_postgres.sql"
BUILD_ROLE, ANALYST_GROUP, ANALYST = "cfa_build", "cfa_analyst", "bench_analyst"
QUERY_RUNS = 5


def _queries() -> list[tuple[str, str]]:
    return [
        (name.strip(), sql.strip().rstrip(";"))
        for name, sql in (block.split("\n", 1) for block in QUERIES.read_text().split("-- name: ")[1:])
    ]


@contextlib.contextmanager
def _target(server, database: str) -> Iterator[None]:
    """What `cfa run` needs to build in `database` as the build's role; put back afterwards."""
    settings = {"CFA_TARGET": "postgres", **server.environment(BUILD_ROLE, database)}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _time_queries(server, database: str) -> dict[str, list[float]]:
    import psycopg

    timings: dict[str, list[float]] = {}
    with psycopg.connect(host=server.host, port=server.port, user=ANALYST, dbname=database, autocommit=True) as connection:
        for name, sql in _queries():
            connection.execute(sql).fetchall()  # as in the DuckDB figures: the second view of a dashboard
            runs = []
            for _ in range(QUERY_RUNS):
                started = time.perf_counter()
                connection.execute(sql).fetchall()
                runs.append(time.perf_counter() - started)
            timings[name] = runs
    return timings


def measure(
    drop_files: list[Path],
    month_files: list[Path],
    bench_dir: Path,
    cfa_run: Callable[..., object],
    incremental_repeats: int,
    duckdb_build: Path,
    log: Callable[[str], None] = print,
) -> dict:
    """The PostgreSQL figures, or {"skipped": why}; `duckdb_build` is the DuckDB build of the same drop."""
    if os.environ.get("BENCH_POSTGRES", "").strip() != "1":
        return {
            "skipped": "left out by default, as at national scale its build alone took longer than `make bench`'s"
            " 15 minutes on two cores (13 minutes, measured on 2026-11-29 on a loaded machine: dbt's 6 minutes and"
            " the mart gates' 3 the largest parts); `BENCH_POSTGRES=1 make bench` includes it"
        }
    from orchestration.ops.throwaway_postgres import ROLES_SQL, PostgresUnavailable, server_binaries, throwaway_server

    if server_binaries() is None:
        return {"skipped": "no PostgreSQL server is installed (Debian's postgresql package; `make postgres` installs it)"}
    result: dict = {"duckdb_bytes": duckdb_build.stat().st_size if duckdb_build.exists() else 0}
    try:
        with throwaway_server() as server:
            server.psql(ROLES_SQL.read_text())
            server.psql(f"CREATE ROLE {ANALYST} LOGIN IN ROLE {ANALYST_GROUP};")
            # An empty warehouse database to copy for each drop into an empty warehouse.
            server.psql(f"CREATE DATABASE cfa_empty TEMPLATE cfa OWNER {BUILD_ROLE};")
            result["server_version"] = server.psql("SHOW server_version;").strip()
            log("postgres: full build, cfa run with CFA_TARGET=postgres")
            with _target(server, "cfa"):
                result["build"] = cfa_run("postgres full build", bench_dir / "postgres_build", drop_files)
            build = result["build"]
            log(f"  {build.wall_seconds:.1f} s, peak {build.peak_rss_bytes / 1024**3:.2f} GiB (cfa's processes), stages {build.stages}")
            result["database_bytes"] = int(server.psql("SELECT pg_database_size('cfa');").strip())
            log("postgres: analyst queries on the marts, as the analysts' role")
            result["queries"] = _time_queries(server, "cfa")
            result["incremental_empty"], result["incremental_history"] = [], []
            for number in range(incremental_repeats):
                log(f"postgres: incremental drop {number + 1}/{incremental_repeats}: into an empty warehouse, then on top of the history")
                for kind, template in (("empty", "cfa_empty"), ("history", "cfa")):
                    database = f"cfa_{kind}_{number}"
                    server.psql(f"CREATE DATABASE {database} TEMPLATE {template} OWNER {BUILD_ROLE};")
                    with _target(server, database):
                        result[f"incremental_{kind}"].append(
                            cfa_run(f"postgres month on {kind}", bench_dir / f"postgres_incremental_{kind}", month_files)
                        )
                    server.psql(f"DROP DATABASE {database};")
    except PostgresUnavailable as unavailable:
        return {"skipped": str(unavailable)}
    return result


def _median_run(runs: list):
    return sorted(runs, key=lambda run: run.wall_seconds)[len(runs) // 2]


def _p(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def report_lines(result: dict) -> list[str]:
    """BENCHMARKS.md's section comparing the two targets on the same drops."""
    postgres = result.get("postgres")
    lines = ["", "## DuckDB or PostgreSQL (issue 12)", ""]
    if not postgres:
        return [*lines, "Not measured in this run.", ""]
    if "skipped" in postgres:
        return [*lines, f"Not measured: {postgres['skipped']}.", ""]
    duck_build = _median_run(result["builds"])
    pg_build = postgres["build"]
    if pg_build.exit_code != 0:
        return [*lines, f"The PostgreSQL build failed (exit {pg_build.exit_code}): see data/bench/postgres_build/cfa_run.log.", ""]
    duck_queries = [value for runs in result["queries"].values() for value in runs]
    pg_queries = [value for runs in postgres["queries"].values() for value in runs]

    def seconds(runs: list) -> str:
        return f"{_median_run(runs).wall_seconds:.1f} s"

    stage_names = sorted(set(duck_build.stages) | set(pg_build.stages))
    lines += [
        f"The same drops and queries on PostgreSQL {postgres['server_version']} (a throwaway server on this machine,"
        " fsync off, dbt with 4 threads) against the DuckDB figures above. Peak memory counts `cfa run`'s processes"
        " (dbt's included), not the PostgreSQL server's.",
        "",
        "| measure | DuckDB | PostgreSQL |",
        "|---|---|---|",
        f"| full build through `cfa run` ({pg_build.rows_loaded:,} rows loaded) | {duck_build.wall_seconds:.1f} s | {pg_build.wall_seconds:.1f} s |",
        *[
            f"| ... {stage} | {duck_build.stages.get(stage, 0):.1f} s | {pg_build.stages.get(stage, 0):.1f} s |"
            for stage in stage_names
        ],
        f"| peak memory of `cfa run` | {duck_build.peak_rss_bytes / 1024**3:.2f} GiB | {pg_build.peak_rss_bytes / 1024**3:.2f} GiB |",
        f"| warehouse size after the build | {postgres['duckdb_bytes'] / 1024**3:.2f} GiB (build file) | {postgres['database_bytes'] / 1024**3:.2f} GiB (database) |",
        f"| one council's month into an empty warehouse | {seconds(result['incremental_empty'])} | {seconds(postgres['incremental_empty'])} |",
        f"| the same month on top of the history | {seconds(result['incremental_history'])} | {seconds(postgres['incremental_history'])} |",
        f"| analyst queries (20): p50 | {statistics.median(duck_queries) * 1000:.1f} ms | {statistics.median(pg_queries) * 1000:.1f} ms |",
        f"| analyst queries: p95 | {_p(duck_queries, 0.95) * 1000:.1f} ms | {_p(pg_queries, 0.95) * 1000:.1f} ms |",
        "",
        "| query | DuckDB median ms | PostgreSQL median ms |",
        "|---|---|---|",
        *[
            f"| {name} | {statistics.median(result['queries'].get(name, [float('nan')])) * 1000:.1f} | {statistics.median(runs) * 1000:.1f} |"
            for name, runs in postgres["queries"].items()
        ],
        "",
        "What the figures do not show, and docs/deployment.md weighs: PostgreSQL serves many analysts and"
        " dashboards at once while a build runs, with roles; DuckDB serves one file that a build replaces whole.",
        "",
    ]
    return lines

