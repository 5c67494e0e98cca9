"""Validate a sheet's records against the contract.

Two passes, both driven by the contract:
1. typing: dates parsed (ISO, UK, Excel cells; US month-first order named as such), category
   values mapped from any accepted spelling to their code;
2. the entity's Great Expectations suite (generated from the contract into expectations/),
   run over the typed records as a pandas DataFrame. Every expectation carries the field it
   checks and the reason to record, so each failure becomes a rejection a QA officer can read.
References to other entities are checked last, against what the warehouse already holds.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

from orchestration.contract import Contract, Entity, Field
from orchestration.ingest.readers import Cell, Sheet
from orchestration.settings import EXPECTATIONS_DIR

# A time of day, which some exports add, is ignored: the contract deals in dates.
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
ISO_DATE = re.compile(rf"^(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_TIME}$")
UK_DATE = re.compile(rf"^(\d{{1,2}})/(\d{{1,2}})/(\d{{4}}){_TIME}$")
LA_CODE_PATTERN = r"^[0-9]{3}$"
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
    accepted: list[dict[str, object]]
    """Typed values by field name, plus `row_number`, `record_key` and `extra`, for rows without
    a rejection."""
    rejections: list[Rejection]
    rows_read: int
    waiting: list[dict[str, object]] = field(default_factory=list)
    """Rows, shaped like `accepted`, whose only fault is a reference to a parent not loaded yet:
    they load by themselves once the parent arrives."""

    @property
    def rows_rejected(self) -> int:
        return len({r.row_number for r in self.rejections})


# ---------------------------------------------------------------------------------------------
# Typing
# ---------------------------------------------------------------------------------------------


def parse_date(cell: Cell) -> tuple[dt.date | None, str | None]:
    """A date from a cell, or the reason it is not one."""
    if cell is None:
        return None, None
    if isinstance(cell, dt.datetime):
        return cell.date(), None
    if isinstance(cell, dt.date):
        return cell, None
    text = str(cell)
    if match := ISO_DATE.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := UK_DATE.match(text):
        day, month, year = (int(g) for g in match.groups())
        if month > 12 and day <= 12:
            return None, f"'{text}' looks like a US month-first date: use DD/MM/YYYY or YYYY-MM-DD"
    else:
        return None, f"'{text}' is not a date: use YYYY-MM-DD or DD/MM/YYYY"
    if not 1 <= month <= 12:
        return None, f"'{text}' is not a date: there is no month {month}"
    days_in_month = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days_in_month:
        return None, f"'{text}' is not a date: {calendar.month_name[month]} {year} has {days_in_month} days"
    return dt.date(year, month, day), None


def _outside_the_warehouse(f: Field, value: dt.date | None, contract: Contract) -> str | None:
    """Why a date lies outside the financial years the warehouse covers (its quarter dimension),
    if it does: such a row is rejected here rather than failing the build every night."""
    delivery = contract.delivery
    if value is None:
        return None
    if value < delivery.earliest_date:
        return f"{f.name} ({value.isoformat()}) is before {_long_date(delivery.earliest_date)}, the earliest date the warehouse covers"
    if value > delivery.latest_date and not f.not_in_future:  # the future has its own reason
        return f"{f.name} ({value.isoformat()}) is after {_long_date(delivery.latest_date)}, the latest date the warehouse covers"
    return None


def display(cell: Cell) -> str | None:
    if cell is None:
        return None
    if isinstance(cell, (dt.date, dt.datetime)):
        return cell.strftime("%Y-%m-%d")
    return str(cell)


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


def _long_date(day: dt.date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def _field_expectations(f: Field, entity: Entity, contract: Contract) -> list[dict]:
    expectations = []
    if f.required:
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
                regex=LA_CODE_PATTERN,
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
    key_reason = f"duplicate key ({', '.join(entity.key)}) = ({{value}}) within the file"
    key_label = ", ".join(entity.key)
    if len(entity.key) == 1:
        expectations.append(
            _expectation("expect_column_values_to_be_unique", key_label, key_reason, column=entity.key[0])
        )
    else:
        expectations.append(
            _expectation(
                "expect_compound_columns_to_be_unique", key_label, key_reason, column_list=list(entity.key)
            )
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


def validate_sheet(
    sheet: Sheet,
    contract: Contract,
    known_references: dict[str, set[str]],
    today: dt.date,
) -> ValidatedSheet:
    """Type, run the suite and check references; return accepted rows and every rejection.

    `known_references` maps a referencing field to the values the referenced entity holds.
    """
    entity = sheet.entity
    rejections: list[Rejection] = []
    typed_rows: list[dict[str, object]] = []
    suite_rows: list[dict[str, object]] = []
    unparseable: set[tuple[int, str]] = set()

    for record in sheet.records:
        typed: dict[str, object] = {}
        checked: dict[str, object] = {}
        for f in entity.fields:
            cell = record.values[f.name]
            if f.type == "date":
                value, problem = parse_date(cell)
                problem = problem or _outside_the_warehouse(f, value, contract)
                if problem:
                    rejections.append(Rejection(record.row_number, f.name, display(cell), problem))
                    unparseable.add((record.row_number, f.name))
                typed[f.name] = value
                checked[f.name] = value
            elif f.type == "category":
                typed[f.name] = display(cell)
                code = contract.categories[f.category].normalise(cell) if cell is not None else None
                # An unrecognised spelling must fail the suite's set check even where it looks
                # like a code (a bare "3" is not a grade), so it is marked, not passed through.
                checked[f.name] = code if code is not None or cell is None else f"{UNRECOGNISED}{display(cell)}"
            else:
                typed[f.name] = display(cell)
                checked[f.name] = display(cell)
        typed_rows.append(typed)
        suite_rows.append(checked)

    frame = pd.DataFrame(suite_rows, columns=entity.field_names)
    for f in entity.fields:
        if f.type == "date":
            frame[f.name] = pd.to_datetime(frame[f.name])
        else:
            frame[f.name] = frame[f.name].astype(object).where(frame[f.name].notna(), None)

    for position, meta in _run_suite(entity, frame, today):
        record = sheet.records[position]
        field_name = meta["field"]
        if (record.row_number, field_name) in unparseable:
            continue  # already rejected for the cell itself
        shown = [display(record.values[name.strip()]) for name in field_name.split(",")]
        value = None if all(v is None for v in shown) else ", ".join(v or "" for v in shown)
        rejections.append(Rejection(record.row_number, field_name, value, meta["reason"].format(value=value)))

    reference_fields = {reference.field: reference.entity for reference in entity.references}
    for reference in entity.references:
        known = known_references.get(reference.field, set())
        for record in sheet.records:
            value = display(record.values[reference.field])
            if value is not None and value not in known:
                rejections.append(
                    Rejection(
                        record.row_number,
                        reference.field,
                        value,
                        f"{reference.field} '{value}' does not exist in {reference.entity}",
                    )
                )

    keys = {record.row_number: record_key(entity, record.values, contract) for record in sheet.records}
    faults_by_row: dict[int, list[Rejection]] = {}
    for rejection in rejections:
        faults_by_row.setdefault(rejection.row_number, []).append(rejection)
    waiting_rows = {
        row_number
        for row_number, faults in faults_by_row.items()
        if all(fault.field in reference_fields and fault.reason.endswith("does not exist in " + reference_fields[fault.field]) for fault in faults)
    }
    rejections = [
        Rejection(
            r.row_number, r.field, r.value, r.reason, keys[r.row_number],
            reference_fields[r.field] if r.row_number in waiting_rows else None,
        )
        for r in rejections
    ]
    rows = [
        {**typed, "row_number": record.row_number, "record_key": keys[record.row_number], "extra": record.extra}
        for record, typed in zip(sheet.records, typed_rows)
    ]
    accepted = [row for row in rows if row["row_number"] not in faults_by_row]
    waiting = [row for row in rows if row["row_number"] in waiting_rows]
    rejections.sort(key=lambda r: (r.row_number, r.field))
    return ValidatedSheet(accepted=accepted, rejections=rejections, rows_read=len(sheet.records), waiting=waiting)


def record_key(entity: Entity, values: dict[str, Cell], contract: Contract) -> str | None:
    """The record's key as the officer would look it up: key values joined by ' / ', category
    values as their codes so that any spelling of the same record gives the same key; None when
    a key field is missing."""
    parts = []
    for name in entity.key:
        f = next(f for f in entity.fields if f.name == name)
        value = values.get(name)
        if value is None:
            return None
        if f.type == "category":
            value = contract.categories[f.category].normalise(value) or display(value)
        parts.append(display(value))
    return " / ".join(parts)
