"""Validate a sheet against the contract, and the contract's Great Expectations suites.

Ingestion validates set-based (orchestration.ingest.rules: one generated SQL query types the
whole sheet, another finds every broken rule and reference), so a file's cost grows with its
size, not with Python per cell. The expectation suites in expectations/ are generated from the
same contract with the same reasons; they run as the blocking Dagster asset checks on every
loaded batch (orchestration.ingest.recheck), so Great Expectations is imported once, by the
checks, never per file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.contract import Contract, Entity, Field
from orchestration.ingest.readers import Sheet
from orchestration.ingest.rules import LA_CODE, check_sheet
from orchestration.settings import EXPECTATIONS_DIR

UNRECOGNISED = "unrecognised:"


@dataclass(frozen=True)
class Rejection:
    row_number: int
    field: str
    value: str | None
    reason: str
    record_key: str | None = None
    """The record's key as the case system knows it (`A-17`, or `ACT-3 / voice_of_child`)."""
    waiting_for: str | None = None
    """Set when the row's only fault is a parent not loaded yet: the entity it waits for."""


@dataclass
class ValidatedSheet:
    accepted: pa.Table
    """Typed values by field name, plus `row_number`, `record_key` and `extra_columns`, for rows
    without a rejection."""
    rejections: list[Rejection]
    rows_read: int
    waiting: pa.Table
    """Rows, shaped like `accepted`, whose only fault is a reference to a parent not loaded yet:
    they load by themselves once the parent arrives."""

    @property
    def rows_rejected(self) -> int:
        return len({r.row_number for r in self.rejections})


# ---------------------------------------------------------------------------------------------
# The suites: generated from the contract
# ---------------------------------------------------------------------------------------------


def _condition(conditions: dict[str, tuple[str, ...]]) -> str:
    (name, values), = conditions.items()
    return f"{name} in [{', '.join(json.dumps(v) for v in values)}]"


def _otherwise(conditions: dict[str, tuple[str, ...]], entity: Entity, contract: Contract) -> str:
    """The rows where a condition on a category field is known to be false: the field holds one
    of its category's other codes (a missing or unrecognised value has a rejection of its own)."""
    (name, values), = conditions.items()
    category = contract.categories[next(f.category for f in entity.fields if f.name == name)]
    return _condition({name: tuple(v.code for v in category.values if v.code not in values)})


def _describe(conditions: dict[str, tuple[str, ...]]) -> str:
    (name, values), = conditions.items()
    return f"{name} is {' or '.join(values)}"


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def _expectation(type_: str, field: str, reason: str, **kwargs: object) -> dict:
    return {"type": type_, "kwargs": kwargs, "meta": {"field": field, "reason": reason}}


def _field_expectations(f: Field, entity: Entity, contract: Contract) -> list[dict]:
    expectations = []
    if f.is_degraded:
        # Raw holds only the coarser form: a code of the category it degrades into.
        category = contract.categories[f.degrade_category]
        return [
            _expectation(
                "expect_column_values_to_be_in_set",
                f.name,
                f"'{{value}}' is not {_article(f.degrade_category)} {f.degrade_category.replace('_', ' ')}: use {category.describe_choices()}",
                column=f.name,
                value_set=[v.code for v in category.values],
            )
        ]
    # A field a later version added is required only of files that have its column, which the
    # rules check at the door; raw holds v1 rows without it.
    if f.required and f.since == 1:
        expectations.append(
            _expectation("expect_column_values_to_not_be_null", f.name, f"{f.name} is required", column=f.name)
        )
    if f.required_when:
        expectations.append(
            _expectation(
                "expect_column_values_to_not_be_null",
                f.name,
                f"{f.name} is required when {_describe(f.required_when)}",
                column=f.name,
                row_condition=_condition(f.required_when),
                condition_parser="pandas",
            )
        )
    if f.empty_unless:
        expectations.append(
            _expectation(
                "expect_column_values_to_be_null",
                f.name,
                f"{f.name} must be empty unless {_describe(f.empty_unless)}",
                column=f.name,
                row_condition=_otherwise(f.empty_unless, entity, contract),
                condition_parser="pandas",
            )
        )
    if f.type == "category":
        category = contract.categories[f.category]
        expectations.append(
            _expectation(
                "expect_column_values_to_be_in_set",
                f.name,
                f"'{{value}}' is not {_article(f.category)} {f.category.replace('_', ' ')}: use {category.describe_choices()}",
                column=f.name,
                value_set=[v.code for v in category.values],
            )
        )
    if f.type == "la_code":
        expectations.append(
            _expectation(
                "expect_column_values_to_match_regex",
                f.name,
                "'{value}' is not a 3-digit DfE local authority code",
                column=f.name,
                regex=LA_CODE,
            )
        )
    if f.not_before:
        expectations.append(
            _expectation(
                "expect_column_pair_values_a_to_be_greater_than_b",
                f.name,
                f"{f.name} ({{value}}) is before {f.not_before}",
                column_A=f.name,
                column_B=f.not_before,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    if f.not_in_future:
        expectations.append(
            _expectation(
                "expect_column_values_to_be_between",
                f.name,
                f"{f.name} ({{value}}) is in the future",
                column=f.name,
                max_value={"$PARAMETER": "today"},
            )
        )
    return expectations


def build_suite(entity: Entity, contract: Contract) -> dict:
    """The entity's expectation suite, as the JSON kept in expectations/<entity>.json."""
    expectations = [e for f in entity.fields for e in _field_expectations(f, entity, contract)]
    # Keys are per council: the same audit_id in two councils of one file is two audits.
    council_key = [contract.council_field, *entity.key]
    key_label = ", ".join(council_key)
    key_reason = f"duplicate key ({key_label}) = ({{value}}) within the file"
    expectations.append(
        _expectation("expect_compound_columns_to_be_unique", key_label, key_reason, column_list=council_key)
    )
    return {
        "name": f"audit_extract__{entity.name}",
        "meta": {
            "generated_from": "orchestration/contract.yml",
            "contract_version": contract.version,
            "note": "Generated by `cfa contract`; edit the contract, not this file.",
        },
        "expectations": expectations,
    }


def suite_path(entity_name: str) -> Path:
    return EXPECTATIONS_DIR / f"audit_extract__{entity_name}.json"


# ---------------------------------------------------------------------------------------------
# Running a suite
# ---------------------------------------------------------------------------------------------


@cache
def _gx_batch_definition():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_pandas("audit_extract")
    return context, source.add_dataframe_asset("sheet").add_batch_definition_whole_dataframe("whole_sheet")


@cache
def _load_suite(entity_name: str):
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context, _ = _gx_batch_definition()
    document = json.loads(suite_path(entity_name).read_text(encoding="utf-8"))
    suite = gx.ExpectationSuite(name=document["name"], meta=document["meta"])
    for expectation in document["expectations"]:
        suite.add_expectation_configuration(ExpectationConfiguration(**expectation))
    return context.suites.add_or_update(suite)


def _run_suite(entity: Entity, frame: pd.DataFrame, today: dt.date) -> list[tuple[int, dict]]:
    """(row position, expectation meta) for every unexpected value."""
    if frame.empty:
        return []
    _, batch_definition = _gx_batch_definition()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        _load_suite(entity.name),
        result_format={"result_format": "COMPLETE"},
        expectation_parameters={
            "today": pd.Timestamp(today),
        },
    )
    failures = []
    for outcome in result.results:
        if outcome.success:
            continue
        if outcome.exception_info and outcome.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"expectation {outcome.expectation_config.type} on {entity.name} could not run: "
                f"{outcome.exception_info.get('exception_message')}"
            )
        for position in outcome.result.get("unexpected_index_list") or []:
            failures.append((int(position), outcome.expectation_config.meta))
    return failures


# ---------------------------------------------------------------------------------------------
# Validating a sheet
# ---------------------------------------------------------------------------------------------


def suite_failures(entity: Entity, rows: pd.DataFrame, contract: Contract, today: dt.date) -> list[tuple[int, dict]]:
    """(row position, expectation meta) for every value of `rows` (fields as stored in raw) that
    fails the entity's Great Expectations suite. Categories are checked as their codes; an
    unrecognised spelling is marked so that it fails the set check even where it looks like a
    code (a bare "3" is not a grade)."""
    frame = pd.DataFrame(index=rows.index)
    for f in entity.fields:
        column = rows[f.name]
        if f.stored_type == "date":
            frame[f.name] = pd.to_datetime(column)
        elif f.stored_type == "category":
            category = contract.categories[f.degrade_category if f.is_degraded else f.category]
            codes = {value: category.normalise(value) or f"{UNRECOGNISED}{value}" for value in column.dropna().unique()}
            frame[f.name] = column.map(codes).astype(object).where(column.notna(), None)
        else:
            frame[f.name] = column.astype(object).where(column.notna(), None)
    # Text as pandas categories: a national batch's uniqueness check then hashes integer codes,
    # not millions of strings, in a fraction of the memory.
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].astype("category")
    return _run_suite(entity, frame.reset_index(drop=True), today)


def validate_sheet(
    sheet: Sheet,
    contract: Contract,
    known_references: dict[str, set[str]],
    today: dt.date,
    cells: pa.Table | None = None,
    council: str | None = None,
) -> ValidatedSheet:
    """Type the sheet, check every rule of the contract and every reference, set-based; return
    the accepted rows, the rows waiting for a parent and every rejection.

    `known_references` holds, per referencing field, the reference keys
    (orchestration.ingest.rules.reference_key) of the records the referenced entity holds;
    `cells` is the sheet's table as ingestion prepared it (pseudonymised; the sheet's own table
    when not given); `council` is the la_code of the council folder the sheet came from, if any.
    A degraded field leaves here in its coarser form only: the rows hold the age band, never the
    date of birth.
    """
    entity = sheet.entity
    cells = sheet.table if cells is None else cells
    per_council = sheet.contract_version >= 2 or council is not None
    checked = check_sheet(cells, entity, contract, known_references, today, per_council, council, sheet.contract_version)
    rows = checked.stored

    reference_fields = {reference.field: reference.entity for reference in entity.references}
    found = checked.rejections
    # A row whose every fault is a reference to a record not loaded yet waits for it.
    only_references = found.groupby("row_number")["is_reference"].all() if len(found) else pd.Series(dtype=bool)
    waiting_rows = {int(row) for row in only_references[only_references].index}
    rejected = {int(row) for row in only_references.index}
    rejected_mask = _rows_in(rows, rejected)
    keys = dict(zip(*(rows.filter(rejected_mask).column(name).to_pylist() for name in ("row_number", "record_key"))))
    rejections = [
        Rejection(
            int(row_number), field, None if pd.isna(value) else value, reason, keys.get(row_number),
            reference_fields[field] if row_number in waiting_rows else None,
        )
        for row_number, field, value, reason, _ in found.itertuples(index=False)
    ]
    accepted = rows.filter(pc.invert(rejected_mask)) if rejected else rows
    waiting = rows.filter(_rows_in(rows, waiting_rows))
    return ValidatedSheet(accepted=accepted, rejections=rejections, rows_read=rows.num_rows, waiting=waiting)


def _rows_in(rows: pa.Table, row_numbers: set[int]) -> pa.ChunkedArray:
    return pc.is_in(rows["row_number"], value_set=pa.array(sorted(row_numbers), rows.schema.field("row_number").type))
