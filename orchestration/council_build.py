"""Which councils the nightly dbt build rebuilds.

A council's figures depend on its own rows alone, so the per-council models are rebuilt only
for the councils whose rows changed since the last successful build (the dbt side is in
dbt_project/macros/councils_to_build.sql). Before dbt runs, each council's raw rows and loads
are fingerprinted: per entity, the count of its rows and the sum of a hash of each row's load,
row number and load time; and the same over the loads delivered in its folder (their content
hash, status and time). Raw rows are never changed once loaded, only added (a new key means a
new build database), so a row added, a full extract or a deletion all change the fingerprint. The fingerprints a build saw are recorded in
the build database, in ops.councils_built, once that build has passed; the next build rebuilds
the councils whose fingerprints differ from them.

Every council is built (dbt's --full-refresh) when the record cannot be trusted to describe the
models: there is none (or a dbt build run by hand dropped it), it was made by another version
of the dbt project, the contract, dbt or DuckDB, a per-council model is missing, or a row is held that names no council or can move a record
from one council to another (a flat v1 row of an entity others name by identifier alone:
kept_in_council_by_v1). On PostgreSQL the marts are renamed away at publishing, so
every council is built there and nothing is recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa

from orchestration.contract import Contract, load_contract
from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT, dbt_project_files
from orchestration.warehouse_db import has_table, on_postgres, quoted_identifier

LEDGER_TABLE = "ops.councils_built"
LOAD_LOG = "ops.load_log"
# A council's code reaches dbt as a SQL literal: anything but these characters builds every council.
COUNCIL_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class CouncilBuildPlan:
    """`councils` None builds every council; otherwise just those (none, when nothing changed)."""

    councils: tuple[str, ...] | None
    reason: str
    version: str = ""
    # What this build saw, recorded once it passes; None records nothing.
    fingerprints: dict[str, str] | None = field(default=None, repr=False)
    on_postgres: bool = False

    @property
    def builds_every_council(self) -> bool:
        return self.councils is None

    @property
    def dbt_arguments(self) -> list[str]:
        """The job always names the councils (null: every one): a dbt build without the variable
        is run by hand, and forgets the record (macros/councils_to_build.sql)."""
        if self.on_postgres:
            return []
        built = ["--vars", json.dumps({"councils_to_build": None if self.builds_every_council else list(self.councils)})]
        return built + (["--full-refresh"] if self.builds_every_council else [])

    def describe(self) -> str:
        if self.builds_every_council:
            return f"dbt builds every council: {self.reason}."
        total = len(self.fingerprints or {})
        if not self.councils:
            return f"dbt rebuilds no council's models: all {total} council(s)' raw rows and loads are as the last successful build saw them."
        shown = ", ".join(self.councils[:10]) + (", ..." if len(self.councils) > 10 else "")
        return f"dbt rebuilds the models of {len(self.councils)} of {total} council(s) ({shown}): {self.reason}."


def build_version(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """What decides the models' rows besides raw: the dbt project (models, macros, seeds,
    variables, profile), the extract contract the sources come from, dbt and DuckDB."""
    digest = hashlib.sha256()
    for path in [*dbt_project_files(project_dir), project_dir / "profiles.yml", REPO_ROOT / "orchestration" / "contract.yml"]:
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("dbt-core", "dbt-duckdb", "duckdb"):
        digest.update(f"{package}=={metadata.version(package)}\0".encode())
    return digest.hexdigest()[:32]


def _manifest_parts(manifest_path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """The raw tables dbt reads, and the (schema, table) of every per-council model."""
    manifest = json.loads(manifest_path.read_text())
    raw_tables = sorted(
        f"{source['schema']}.{source['name']}"
        for source in manifest["sources"].values()
        if source["source_name"] == "audit_extract"
    )
    per_council = sorted((node["schema"], node["alias"]) for node in manifest["nodes"].values() if _is_per_council(node))
    return raw_tables, per_council


def _is_per_council(node: dict) -> bool:
    """A model configured council_by_council in dbt_project.yml (incremental on DuckDB)."""
    return node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"


def kept_in_council_by_v1(contract: Contract) -> frozenset[str]:
    """The entities whose flat v1 rows stay in their own council: a v1 file names their council,
    and no other entity names them by their identifier alone (practice developments). A flat v1
    audit can move to another council, re-sent under a corrected la_code, with its activities."""
    referenced = {reference.entity for entity in contract.entities.values() for reference in entity.references}
    return frozenset(
        name for name, entity in contract.entities.items()
        if contract.carries_council_in_v1(entity) and name not in referenced
    )


def council_fingerprints(
    connection: duckdb.DuckDBPyConnection, raw_tables: list[str], contract: Contract
) -> tuple[dict[str, str], int, int]:
    """Each council's fingerprint over `raw_tables` and the loads of its folder; with the number
    of flat v1 rows that can move between councils and of rows naming no council (either means
    every council is built)."""
    parts: dict[str, list[str]] = {}
    flat_v1_rows = unnamed_rows = 0
    kept_in_council = kept_in_council_by_v1(contract)
    for table in raw_tables:
        movable = table.split(".")[-1] not in kept_in_council
        rows = connection.execute(
            f"""
            select coalesce(la_code, council_folder) as council, count(*), sum(hash(load_id, source_row, loaded_at)),
                   count(*) filter (where council_folder is null and coalesce(contract_version, 1) = 1)
            from {".".join(quoted_identifier(part) for part in table.split("."))}
            group by 1
            """
        ).fetchall()
        for council, count, hash_sum, flat_v1 in rows:
            flat_v1_rows += flat_v1 if movable else 0
            if council is None:
                unnamed_rows += count
                continue
            parts.setdefault(council, []).append(f"{table}:{count}:{hash_sum}")
    for council, count, hash_sum in connection.execute(
        f"select council_folder, count(*), sum(hash(load_id, content_sha256, status, loaded_at)) from {LOAD_LOG}"
        " where council_folder is not null group by 1"
    ).fetchall():
        parts.setdefault(council, []).append(f"{LOAD_LOG}:{count}:{hash_sum}")
    fingerprints = {
        council: hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:32] for council, lines in parts.items()
    }
    return fingerprints, flat_v1_rows, unnamed_rows


def plan_council_build(build_database: Path, manifest_path: Path, whole_project: bool = True) -> CouncilBuildPlan:
    """Which councils this build rebuilds, and why. `whole_project` is False when only some of
    the dbt models are selected: every council is built then, and nothing recorded, as the
    models not selected would not match the record."""
    if on_postgres():
        return CouncilBuildPlan(None, "the marts on PostgreSQL are built whole, as publishing renames them", on_postgres=True)
    if not build_database.is_file():
        return CouncilBuildPlan(None, "the build database is new")
    if not whole_project:
        return CouncilBuildPlan(None, "only some of the dbt models are selected")
    version = build_version()
    raw_tables, per_council = _manifest_parts(manifest_path)
    with duckdb.connect(str(build_database), read_only=True) as connection:
        if not all(has_table(connection, *table.split(".")) for table in [*raw_tables, LOAD_LOG]):
            return CouncilBuildPlan(None, "the raw tables are not all loaded yet", version)
        fingerprints, flat_v1_rows, unnamed_rows = council_fingerprints(connection, raw_tables, load_contract())
        recorded = _recorded(connection, version)
        missing = [f"{schema}.{table}" for schema, table in per_council if not has_table(connection, schema, table)]

    def every_council(reason: str) -> CouncilBuildPlan:
        return CouncilBuildPlan(None, reason, version, fingerprints)

    if flat_v1_rows:
        return every_council(f"{flat_v1_rows:,} flat v1 row(s) can move a record between councils")
    if unnamed_rows:
        return every_council(f"{unnamed_rows:,} row(s) name no council")
    unusable = sorted(council for council in fingerprints if not COUNCIL_CODE.match(council))
    if unusable:
        return every_council(f"council code(s) {', '.join(map(repr, unusable[:5]))} are not plain codes")
    if recorded is None:
        return every_council(
            "no earlier build of this dbt project, contract, dbt and DuckDB version is recorded (none yet, or a dbt run by hand since)"
        )
    if missing:
        return every_council(f"per-council model(s) {', '.join(missing[:5])} are missing")
    changed = tuple(sorted(
        council for council in fingerprints.keys() | recorded.keys() if fingerprints.get(council) != recorded.get(council)
    ))
    return CouncilBuildPlan(changed, "the other councils' raw rows and loads are as the last successful build saw them", version, fingerprints)


def _recorded(connection: duckdb.DuckDBPyConnection, version: str) -> dict[str, str] | None:
    """The fingerprints the last successful build recorded, if it was of this version."""
    recorded = _record(connection)
    return recorded[0].fingerprints if recorded is not None and recorded[0].version == version else None


def _record(connection: duckdb.DuckDBPyConnection) -> tuple[CouncilsBuilt, str | None] | None:
    """What the last successful build recorded, and its run; None without a record of one build."""
    if not has_table(connection, *LEDGER_TABLE.split(".")):
        return None
    rows = connection.execute(f"select council, fingerprint, build_version, run_id, rebuilt from {LEDGER_TABLE}").fetchall()
    if not rows or len({(version, run) for _, _, version, run, _ in rows}) != 1:
        return None
    return CouncilsBuilt(
        rows[0][2],
        {council: fingerprint for council, fingerprint, *_ in rows},
        frozenset(council for council, *_, rebuilt in rows if rebuilt),
    ), rows[0][3]


def record_councils_built(build_database: Path, plan: CouncilBuildPlan, run_id: str | None) -> None:
    """After a successful build: the fingerprints it saw, for the next build to compare with."""
    if plan.fingerprints is None:
        return
    built_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    councils = sorted(plan.fingerprints)
    built = pa.table({
        "council": pa.array(councils, pa.string()),
        "fingerprint": pa.array([plan.fingerprints[council] for council in councils], pa.string()),
        # Which councils this build rebuilt (all of them, built whole): what a night changed.
        "rebuilt": pa.array([plan.builds_every_council or council in plan.councils for council in councils], pa.bool_()),
        "build_version": pa.array([plan.version] * len(councils), pa.string()),
        "run_id": pa.array([run_id] * len(councils), pa.string()),
        "built_at": pa.array([built_at] * len(councils), pa.timestamp("us")),
    })
    with duckdb.connect(str(build_database)) as connection:
        connection.execute("create schema if not exists ops")
        connection.register("built", built)
        connection.execute(f"create or replace table {LEDGER_TABLE} as select * from built")


class CouncilsBuilt(NamedTuple):
    """What a run's dbt build recorded: its version, every council's fingerprint, and the
    councils it rebuilt."""

    version: str
    fingerprints: dict[str, str]
    rebuilt: frozenset[str]


def councils_built_in_run(connection: duckdb.DuckDBPyConnection, run_id: str | None) -> CouncilsBuilt | None:
    """What this run's dbt build recorded (so the per-council models hold what its fingerprints
    say); None when this run's build recorded nothing."""
    recorded = _record(connection) if run_id is not None else None
    return recorded[0] if recorded is not None and recorded[1] == run_id else None


def tables_decided_council_by_council(manifest_path: Path) -> frozenset[str]:
    """The models ("schema.table") whose rows of a council are decided by that council's raw rows
    alone, given the build version: the per-council models, and the models that read no raw data
    at all (the dimensions, from seeds)."""
    manifest = json.loads(manifest_path.read_text())
    nodes = {**manifest["nodes"], **manifest["sources"]}
    reads_raw: dict[str, bool] = {}

    def reads_raw_data(unique_id: str) -> bool:
        if unique_id not in reads_raw:
            node = nodes.get(unique_id, {})
            reads_raw[unique_id] = node.get("resource_type") == "source" or any(
                reads_raw_data(parent) for parent in node.get("depends_on", {}).get("nodes", [])
            )
        return reads_raw[unique_id]

    return frozenset(
        f"{node['schema']}.{node['alias']}"
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and (_is_per_council(node) or not reads_raw_data(unique_id))
    )
