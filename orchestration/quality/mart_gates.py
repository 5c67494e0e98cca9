"""Quality gates on the BI marts: the Great Expectations suites `expectations/marts__<mart>.json`.

Each suite validates a batch: `expectations/marts__<mart>.sql` run on the build database, the
mart's rows beside what the facts say they should be (counts and shares recomputed, share
totals per council and quarter, a full join so a missing row shows). As the guide says, GX 1.x
over DuckDB through SQLAlchemy does not work: the build database reads the batch into a
DataFrame and GX validates it with a pandas data source. The batches are portable SQL, read
through orchestration/warehouse_db.py: on PostgreSQL the build's marts are in schema
marts_build until publishing swaps them in, so that is where the batches read them. The
contract's grades, practice areas and the child's characteristics are the suites' parameters,
so the suites do not restate the contract.

Every run writes GX Data Docs (HTML) into a folder of its own beside the warehouse,
`data_docs/<run id>/index.html`; the newest KEEP_DATA_DOCS runs' folders are kept.

A council's rows are validated again only when they differ from rows that already passed the
same suite. Where every expectation of a suite is about one row or a key that includes la_code
(`decided_council_by_council`), a council's outcome depends on its own rows alone: the gates
fingerprint each council's rows of each batch (`council_fingerprints`) and keep, beside the
build database, the fingerprints of the councils of every batch that passed (PASSED_LEDGER). A
night that brings one council's month validates that council's rows (and, in the national
benchmark marts, every council whose national figures moved); a change to a suite, its batch
query or the columns and types it returns, the contract's parameters, this module, or the
versions of Great Expectations, pandas, numpy or DuckDB validates every council again. A run's
Data Docs show the validations it ran: on a quiet night, few or none.

Where a batch reads only models decided council by council (the per-council models and the
dimensions: orchestration.council_build), the councils this run's dbt build did not rebuild, and
whose raw rows are those their rows passed with, are not even read: the batch runs for the
other councils (`for_councils`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.contract import Contract, load_contract
from orchestration.council_build import CouncilsBuilt, councils_built_in_run, tables_decided_council_by_council
from orchestration.contract_outputs import child_characteristics
from orchestration.publish.atomic import write_json
from orchestration.publish.postgres import MARTS_BUILD
from orchestration.settings import DBT_MANIFEST, EXPECTATIONS_DIR
from orchestration.warehouse_db import DUCKDB, WarehouseConnection, connect_build_database, database_errors, quoted_identifier, sql_literal

SUITE_PREFIX = "marts__"
KEEP_DATA_DOCS = 14  # about 5 MB each: two weeks of nightly runs
EXAMPLES_SHOWN = 5
# A national batch is validated in frames of whole councils of about this many rows (the
# equality mart's is 636,480 rows at 153 councils x 5 years; held and checked at once it was
# the build's peak of memory).
FRAME_ROWS = 100_000
FETCH_VECTORS = 16  # DuckDB hands the ordered batch over 16 x 2,048 rows at a time
# The batches' joins and sort spill to disk beyond this, as the contract checks' do: a national
# equality batch unbounded took 1.5 GB of the build's memory, bounded 1.2 GB, for 3 s more.
GATES_MEMORY_LIMIT = "512MB"
PASSED_LEDGER = "quality_gates_passed.json"
NO_COUNCIL = ""  # rows with no la_code (the facts have a row the mart lacks) are validated every time
ROW_HASH = "_row_hash"
# Shares and averages are summed in parallel, so their last bits (about 1e-15) can differ from
# run to run: a row's hash takes them at this many decimal places, finer than any bound a suite
# sets (the share totals' is 1e-9).
HASHED_DECIMALS = 12
# The expectations whose outcome for a row depends on that row alone (without `mostly`); with
# compound uniqueness over keys that include la_code, a council's outcome is its own rows'.
ROW_BY_ROW_EXPECTATIONS = {
    "expect_column_pair_values_to_be_equal",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_be_null",
}


@dataclass(frozen=True)
class FailedExpectation:
    suite: str
    expectation: str
    column: str
    reason: str
    unexpected: int | None = None
    examples: tuple = ()

    def __str__(self) -> str:
        counted = f"{self.unexpected} row(s)" if self.unexpected is not None else "failed"
        shown = f", e.g. {', '.join(map(str, self.examples))}" if self.examples else ""
        return f"{self.suite}: {self.reason} [{self.expectation} on {self.column}: {counted}{shown}]"


def _merged(first: FailedExpectation, second: FailedExpectation) -> FailedExpectation:
    """One expectation failed in two frames of a batch: the rows counted in both, the first examples."""
    unexpected = None if first.unexpected is None and second.unexpected is None else (first.unexpected or 0) + (second.unexpected or 0)
    return FailedExpectation(
        first.suite, first.expectation, first.column, first.reason, unexpected, (first.examples + second.examples)[:EXAMPLES_SHOWN]
    )


@dataclass
class GateResult:
    mart: str
    suite: str
    rows: int
    expectations: int
    seconds: float
    failures: list[FailedExpectation] = field(default_factory=list)
    rows_validated: int | None = None
    """Rows GX ran on this time; the rest are councils' rows identical to rows that passed before."""
    councils_unchanged: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures


def suite_paths() -> list[Path]:
    return sorted(EXPECTATIONS_DIR.glob(f"{SUITE_PREFIX}*.json"))


def gated_marts() -> list[str]:
    """The marts that have a quality gate, by table name."""
    return [path.stem.removeprefix(SUITE_PREFIX) for path in suite_paths()]


def expectation_parameters(contract: Contract) -> dict[str, list]:
    grades = contract.categories["grade"].values
    areas = contract.categories["practice_area"].values
    # Each characteristic's values and the Not recorded group dim_child_characteristic adds to each.
    characteristic_values = [
        f"{name} {value.code} {value.label}" for name in child_characteristics(contract) for value in contract.categories[name].values
    ] + [f"{name} not_recorded Not recorded" for name in child_characteristics(contract)]
    # A code and its label together, as the batches join them: a valid code with another's label fails.
    return {
        "grades": [f"{value.code} {value.label}" for value in grades],
        "practice_areas": [f"{value.code} {value.label}" for value in areas],
        "grades_per_quarter": [len(grades)],
        "practice_areas_per_quarter": [len(areas)],
        "child_characteristic_values": characteristic_values,
        "child_characteristic_values_per_grade": [len(characteristic_values)],
    }


def batch_sql_for(connection: WarehouseConnection, batch_sql: str) -> str:
    """The batch as the build database must run it: on PostgreSQL the marts it checks are still
    in marts_build (orchestration/publish/postgres.py), the published ones in marts."""
    if connection.dialect == "postgres":
        return re.sub(r"\bmarts\.", f"{MARTS_BUILD}.", batch_sql)
    return batch_sql


def batch_frame(connection: WarehouseConnection, batch_sql: str):
    """The batch as a DataFrame GX can compare (`_comparable`)."""
    return _comparable(connection.frame(batch_sql_for(connection, batch_sql)))


def _comparable(frame):
    """DuckDB gives integer columns pandas' nullable dtypes, whose empty value (pd.NA, as the full
    join leaves where the mart or the facts lack a row) GX's pandas metrics cannot compare
    ("boolean value of NA is ambiguous"): a missing row would fail its expectation with no count
    or example. Such columns become Python objects with None, which compare as unequal and show
    as (None, 236)."""
    import pandas as pd

    for name, dtype in frame.dtypes.items():
        nullable_number = isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(dtype)
        if nullable_number and not pd.api.types.is_bool_dtype(dtype):
            column = frame[name]
            frame[name] = column.astype(object).where(column.notna(), None)
    return frame


def batch_columns(connection: WarehouseConnection, batch_sql: str) -> list[tuple[str, str]]:
    """The batch's columns and their types, as DuckDB plans it (nothing is run); none on PostgreSQL."""
    if connection.dialect != DUCKDB:
        return []
    described = connection.raw.execute(f"DESCRIBE SELECT * FROM ({batch_sql_for(connection, batch_sql)}) AS batch").fetchall()
    return [(name, kind) for name, kind, *_ in described]


def batch_frames(connection: WarehouseConnection, batch_sql: str, most_rows: int, columns: list[tuple[str, str]] | None = None):
    """The batch in frames of whole councils, each of about `most_rows` rows (a council's rows
    are never split: every uniqueness a suite checks includes la_code), so a national batch is
    validated a slice at a time rather than held, and copied by GX, all at once (each slice is a
    validation of its own in Data Docs). The batch runs once, ordered by council, and is read a
    chunk at a time; rows with no la_code (where the facts have a row the mart lacks) go with
    the first council. Each row comes with its hash (ROW_HASH, for `council_fingerprints`).
    PostgreSQL's build gives one frame, without row hashes."""
    import pandas as pd

    if connection.dialect != DUCKDB:
        yield batch_frame(connection, batch_sql)
        return
    query = batch_sql_for(connection, batch_sql)
    hashed = ", ".join(
        f"round({quoted_identifier(name)}, {HASHED_DECIMALS})" if kind in ("DOUBLE", "FLOAT") else quoted_identifier(name)
        for name, kind in (columns if columns is not None else batch_columns(connection, batch_sql))
    )
    result = connection.raw.execute(
        f"SELECT *, hash({hashed}) AS {ROW_HASH} FROM ({query}) AS batch ORDER BY la_code NULLS FIRST"
    )
    pending = result.fetch_df_chunk(FETCH_VECTORS)
    ended, frames = False, 0
    while not ended:
        chunk = result.fetch_df_chunk(FETCH_VECTORS)
        ended = not len(chunk)
        if not ended:
            pending = pd.concat([pending, chunk], ignore_index=True)
        while len(pending) > most_rows or (ended and len(pending)):
            cut = _council_cut(pending["la_code"], most_rows, ended)
            if cut is None:
                break  # the last council may go on in the next chunk
            yield _comparable(pending.iloc[:cut].reset_index(drop=True))
            pending, frames = pending.iloc[cut:].reset_index(drop=True), frames + 1
    if not frames:
        yield _comparable(pending)  # an empty batch: its suite still runs, and shows in Data Docs


def _council_cut(la_codes, most_rows: int, ended: bool) -> int | None:
    """Where to end the next frame of rows sorted by council: after as many whole councils as fit
    in `most_rows` (at least one), or None while the rows so far may end mid-council. Rows with
    no la_code, first, go with the first council."""
    import numpy as np

    if ended and len(la_codes) <= most_rows:
        return len(la_codes)
    first = la_codes.dropna()
    keys = la_codes.fillna(first.iloc[0] if len(first) else "").to_numpy()
    starts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    within = starts[starts <= most_rows]
    if len(within):
        return int(within[-1])
    beyond = starts[starts > most_rows]
    if len(beyond):
        return int(beyond[0])
    return len(keys) if ended else None


def council_fingerprints(frame) -> dict[str, str]:
    """Each council's rows of a batch frame as one fingerprint: their count and the wrapping sum
    of their rows' hashes (ROW_HASH, made by DuckDB), so it depends on the rows alone, not on
    their order or the frames they came in. A frame without row hashes (PostgreSQL's) gives none:
    all its rows are validated."""
    import numpy as np

    if not len(frame) or ROW_HASH not in frame:
        return {}
    councils = frame["la_code"].fillna(NO_COUNCIL).astype(str).to_numpy()
    hashes = frame[ROW_HASH].to_numpy(dtype=np.uint64)
    order = np.argsort(councils, kind="stable")
    councils, hashes = councils[order], hashes[order]
    starts = np.flatnonzero(np.r_[True, councils[1:] != councils[:-1]])
    sums = np.add.reduceat(hashes, starts)
    counts = np.diff(np.r_[starts, len(councils)])
    return {str(councils[start]): f"{count}:{int(total):016x}" for start, count, total in zip(starts, counts, sums)}


def suite_version(suite_path: Path, batch_sql: str, columns: list[tuple[str, str]], parameters: dict) -> str:
    """What a council's passing depends on besides its rows' values: the suite, its batch query
    and the names and types of the columns it returns (DuckDB's hash sees neither), the
    contract's parameters, this module, and the versions of what validates and hashes."""
    import duckdb
    import great_expectations as gx
    import numpy as np
    import pandas as pd

    digest = hashlib.sha256()
    for part in (
        suite_path.read_text(encoding="utf-8"), batch_sql, json.dumps(columns), json.dumps(parameters, sort_keys=True),
        Path(__file__).read_text(encoding="utf-8"), gx.__version__, pd.__version__, np.__version__, duckdb.__version__,
    ):
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()


def decided_council_by_council(document: dict) -> bool:
    """Whether every expectation of the suite decides each council by its own rows: row by row,
    or uniqueness over keys that include la_code. Any other (an aggregate, `mostly`) keeps its
    suite validating every council every time."""
    for expectation in document["expectations"]:
        kwargs = expectation.get("kwargs", {})
        if kwargs.get("mostly", 1) != 1:
            return False
        kind = expectation["type"]
        unique_by_council = kind == "expect_compound_columns_to_be_unique" and "la_code" in kwargs.get("column_list", [])
        if kind not in ROW_BY_ROW_EXPECTATIONS and not unique_by_council:
            return False
    return True


def _read_ledger(path: Path) -> dict:
    try:
        ledger = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: every council is validated
    return ledger if isinstance(ledger, dict) else {}


def _passed_before(ledger: dict, mart: str, version: str) -> dict[str, str]:
    """The fingerprints of the councils whose rows passed this version of the mart's suite."""
    recorded = ledger.get(mart)
    if not isinstance(recorded, dict) or recorded.get("suite") != version or not isinstance(recorded.get("councils"), dict):
        return {}
    return recorded["councils"]


def _settled_since_passed(ledger: dict, mart: str, version: str, built: CouncilsBuilt) -> tuple[set[str], dict[str, str]]:
    """The councils whose rows of a batch are those that passed it before, known without reading
    them: this run's dbt build found their raw rows as they were when they passed (`built`, from
    orchestration.council_build), and the batch reads only models decided council by council.
    Returns those councils and the fingerprints their rows passed with."""
    build_version, built_from = built.version, built.fingerprints
    recorded = ledger.get(mart)
    if not isinstance(recorded, dict) or recorded.get("suite") != version or recorded.get("build") != build_version:
        return set(), {}
    passed_from, passed = recorded.get("built_from"), recorded.get("councils")
    if not isinstance(passed_from, dict) or not isinstance(passed, dict):
        return set(), {}
    # A council this run's build rebuilt is read whatever its fingerprint: the fingerprint names
    # its rows by load and row, and a build database restored or rekeyed repeats those.
    settled = {
        council for council, fingerprint in built_from.items()
        if council not in built.rebuilt and passed_from.get(council) == fingerprint
    }
    return settled, {council: passed[council] for council in settled if council in passed}


def reads_only(batch_sql: str, tables: frozenset[str] | set[str]) -> bool:
    """Whether every table the batch names is one of `tables` ("marts.x"); a schema other than
    marts, or a quoted name, counts as another table."""
    named = set(re.findall(r"\bmarts\.(\w+)", batch_sql))
    other_schemas = re.search(r'\b(intermediate|staging|raw|ops|reference|main|build)\s*\.|"\s*\.|\.\s*"', batch_sql)
    return other_schemas is None and {f"marts.{table}" for table in named} <= set(tables)


def for_councils(batch_sql: str, councils: list[str]) -> str:
    """The batch's rows of these councils, and its rows that name no council."""
    listed = ", ".join(sql_literal(council) for council in councils) or "NULL"
    return f"SELECT * FROM ({batch_sql}) AS gated WHERE la_code IS NULL OR la_code IN ({listed})"


def data_docs_root(warehouse: Path) -> Path:
    return warehouse.parent / "data_docs"


class _Gates:
    """One GX context for a run's gates, with a Data Docs site in the run's own folder."""

    def __init__(self, docs_folder: Path):
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        import great_expectations as gx

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = {"globally": False}
        for site in list(self.context.get_site_names()):
            self.context.delete_data_docs_site(site)  # the ephemeral context's own, in a temporary folder
        self.site = "quality_gates"
        self.context.add_data_docs_site(
            site_name=self.site,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_folder)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "show_cta_footer": False},
                # The validation pages show each expectation beside its result: no separate suite pages.
                "site_section_builders": {"expectations": "0", "profiling": "0"},
                "show_how_to_buttons": False,
            },
        )
        self.source = self.context.data_sources.add_pandas("marts")
        self.docs_folder = docs_folder

    def validate(
        self, suite_path: Path, frames, parameters: dict, passed: dict[str, str]
    ) -> tuple[int, int, list[FailedExpectation], dict[str, str]]:
        """Run the suite on each frame of the batch, leaving out the councils whose rows are
        those that passed it before (`passed`, by council); return the batch's rows, the rows
        validated, the failed expectations (each counted over the rows validated, with the
        first frames' examples) and every council's fingerprint."""
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        gx = self.gx
        document = json.loads(suite_path.read_text(encoding="utf-8"))
        suite = gx.ExpectationSuite(name=document["name"], meta=document["meta"])
        for expectation in document["expectations"]:
            suite.add_expectation_configuration(ExpectationConfiguration(**expectation))
        suite = self.context.suites.add(suite)
        mart = document["meta"]["mart"]
        batch_definition = self.source.add_dataframe_asset(mart).add_batch_definition_whole_dataframe("build")
        validation = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=document["name"], data=batch_definition, suite=suite)
        )
        failures: dict[tuple[str, str, str], FailedExpectation] = {}
        fingerprints: dict[str, str] = {}
        rows = validated = 0
        for frame in frames:
            rows += len(frame)
            frame_prints = council_fingerprints(frame)
            fingerprints.update(frame_prints)
            frame = frame.drop(columns=[ROW_HASH], errors="ignore")
            changed = [council for council, fingerprint in frame_prints.items() if council == NO_COUNCIL or passed.get(council) != fingerprint]
            if len(changed) < len(frame_prints):
                frame = frame[frame["la_code"].fillna(NO_COUNCIL).astype(str).isin(changed)].reset_index(drop=True)
                if not len(frame):
                    continue
            validated += len(frame)
            result = validation.run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=parameters,
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES_SHOWN},
            )
            del frame
            for outcome in result.results:
                if not outcome.success:
                    failure = self._failure(document["name"], outcome)
                    key = (failure.expectation, failure.column, failure.reason)
                    failures[key] = failure if key not in failures else _merged(failures[key], failure)
        return rows, validated, list(failures.values()), fingerprints

    @staticmethod
    def _failure(suite_name: str, outcome) -> FailedExpectation:
        config = outcome.expectation_config
        kwargs = config.kwargs
        column = kwargs.get("column") or ", ".join(
            kwargs.get("column_list") or [kwargs.get("column_A", ""), kwargs.get("column_B", "")]
        )
        reason = (config.meta or {}).get("reason", config.type)
        if outcome.exception_info and outcome.exception_info.get("raised_exception"):
            reason = f"{reason} (could not run: {outcome.exception_info.get('exception_message')})"
        details = outcome.result or {}
        return FailedExpectation(
            suite=suite_name,
            expectation=config.type,
            column=column,
            reason=reason,
            unexpected=details.get("unexpected_count"),
            examples=tuple(details.get("partial_unexpected_list") or ())[:EXAMPLES_SHOWN],
        )

    def build_docs(self) -> Path:
        self.context.build_data_docs(site_names=[self.site])
        return self.docs_folder / "index.html"


def _prune(root: Path, keep: int) -> None:
    folders = sorted((folder for folder in root.iterdir() if folder.is_dir()), key=lambda folder: folder.stat().st_mtime)
    for folder in folders[: max(len(folders) - keep, 0)]:
        shutil.rmtree(folder, ignore_errors=True)


def run_mart_gates(
    build_database: Path, warehouse: Path, run_id: str, marts: list[str] | None = None
) -> tuple[list[GateResult], Path]:
    """Validate every gated mart of the build (or those of `marts`); return the results and the
    Data Docs index."""
    root = data_docs_root(warehouse)
    docs_folder = root / run_id
    shutil.rmtree(docs_folder, ignore_errors=True)
    docs_folder.mkdir(parents=True)
    gates = _Gates(docs_folder)
    parameters = expectation_parameters(load_contract())
    ledger_path = Path(build_database).parent / PASSED_LEDGER
    ledger = _read_ledger(ledger_path)
    results = []
    with connect_build_database(build_database, read_only=True) as connection:
        built, decided_by_council = None, frozenset()
        if connection.dialect == DUCKDB:
            connection.execute(f"SET memory_limit = '{GATES_MEMORY_LIMIT}'")
            built = councils_built_in_run(connection.raw, run_id)
            if built is not None and DBT_MANIFEST.is_file():
                decided_by_council = tables_decided_council_by_council(DBT_MANIFEST)
        for suite_path in suite_paths():
            mart = suite_path.stem.removeprefix(SUITE_PREFIX)
            if marts is not None and mart not in marts:
                continue
            started = time.perf_counter()
            document = json.loads(suite_path.read_text(encoding="utf-8"))
            skippable = decided_council_by_council(document)
            batch_sql = (suite_path.parent / document["meta"]["batch"]).read_text(encoding="utf-8")
            # A batch that reads only models decided council by council is read for the councils
            # this run's build changed; the rest passed before, with the raw rows they have now.
            read_by_council = skippable and f"marts.{mart}" in decided_by_council and reads_only(batch_sql, decided_by_council)
            try:
                columns = batch_columns(connection, batch_sql)
                version = suite_version(suite_path, batch_sql, columns, parameters)
                passed = _passed_before(ledger, mart, version) if skippable else {}
                settled, settled_prints = _settled_since_passed(ledger, mart, version, built) if read_by_council else (set(), {})
                read_sql = for_councils(batch_sql, sorted(set(built.fingerprints) - settled)) if settled else batch_sql
                rows, validated, failures, fingerprints = gates.validate(
                    suite_path, batch_frames(connection, read_sql, FRAME_ROWS, columns), parameters, passed
                )
            except database_errors() as error:
                failure = FailedExpectation(suite_path.stem, "batch query", mart, f"the batch could not be read: {error}")
                results.append(GateResult(mart, suite_path.stem, 0, len(document["expectations"]), 0.0, [failure]))
                continue
            fingerprints.pop(NO_COUNCIL, None)
            unchanged = len(settled_prints) + sum(1 for council, fingerprint in fingerprints.items() if passed.get(council) == fingerprint)
            fingerprints.update(settled_prints)
            # A failed batch leaves what passed before as it was: those rows did pass.
            if not failures and skippable:
                ledger[mart] = {"suite": version, "councils": fingerprints}
                if read_by_council:
                    ledger[mart].update(build=built.version, built_from=built.fingerprints)
            results.append(
                GateResult(
                    mart, suite_path.stem, rows, len(document["expectations"]), time.perf_counter() - started, failures,
                    rows_validated=validated, councils_unchanged=unchanged,
                )
            )
    write_json(ledger_path, ledger)
    index = gates.build_docs()
    _prune(root, KEEP_DATA_DOCS)
    return results, index
