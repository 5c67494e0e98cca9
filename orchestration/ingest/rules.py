"""The contract's rules as set-based SQL over a whole sheet at once.

A sheet arrives as a table of text cells (one column per field, plus `row_number`); one DuckDB
query, generated from the contract, types every column (dates parsed, category spellings mapped
to codes) and another returns every rejection: the field, the value as delivered and the reason,
worded as the contract's generated expectation suites word them. Nothing here loops over cells
in Python: category spellings are mapped once per distinct value, through the contract.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import tempfile
import threading
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from orchestration.contract import Contract, Entity, Field

# A time of day after a date, which some exports add, is ignored: the contract deals in dates.
_TIME = r"(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
ISO_DATE = rf"^([0-9]{{4}})-([0-9]{{1,2}})-([0-9]{{1,2}}){_TIME}$"
UK_DATE = rf"^([0-9]{{1,2}})/([0-9]{{1,2}})/([0-9]{{4}}){_TIME}$"
LA_CODE = r"^[0-9]{3}$"
# Joins a record's council to its identifier in a reference key: no code or id holds it.
COUNCIL_SEPARATOR = "\x1f"
# A degraded field's value is never stored, not even in a rejection: its reasons say so.
NOT_KEPT = " (the value is not kept)"

_local = threading.local()


# The checks' own DuckDB spills to disk beyond this, rather than hold a national file's typed
# copy in memory beside the warehouse's.
CHECKS_MEMORY_LIMIT = "512MB"


def _engine() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB per thread: validation never touches the warehouse file."""
    if not hasattr(_local, "connection"):
        _local.spill = tempfile.mkdtemp(prefix="cfa-checks-")
        _local.connection = duckdb.connect(config={"memory_limit": CHECKS_MEMORY_LIMIT, "temp_directory": _local.spill})
    return _local.connection


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def _long_date(day: dt.date) -> str:
    return f"{day.day} {day.strftime('%B')} {day.year}"


def _describe(conditions: dict[str, tuple[str, ...]]) -> str:
    (name, values), = conditions.items()
    return f"{name} is {' or '.join(values)}"


@dataclass(frozen=True)
class CheckedSheet:
    stored: pa.Table
    """Every row as raw would hold it, in row order: `row_number`, `record_key`, each field by
    name (dates as dates; categories and text as delivered; a degraded field in its coarser
    form only) and `extra_columns`."""
    rejections: pd.DataFrame
    """row_number, field, value, reason, is_reference: one row per broken rule, sorted;
    is_reference marks a reference to a record not loaded (yet)."""


def _date_columns(f: Field) -> str:
    """Year, month, day and form (iso or uk) of a date cell, or nulls where it is not one: each
    pattern is matched once, its parts extracted together."""
    cell = f'"{f.name}"'
    iso = f"regexp_extract({cell}, {_quote(ISO_DATE)}, ['y', 'm', 'd'])"
    uk = f"regexp_extract({cell}, {_quote(UK_DATE)}, ['d', 'm', 'y'])"
    return f"""
        CASE WHEN {iso}.y <> '' THEN 'iso' WHEN {uk}.y <> '' THEN 'uk' END AS "{f.name}__form",
        CAST(nullif(coalesce(nullif({iso}.y, ''), {uk}.y), '') AS INTEGER) AS "{f.name}__y",
        CAST(nullif(coalesce(nullif({iso}.m, ''), {uk}.m), '') AS INTEGER) AS "{f.name}__m",
        CAST(nullif(coalesce(nullif({iso}.d, ''), {uk}.d), '') AS INTEGER) AS "{f.name}__d\""""


def _degraded_date_problem(f: Field) -> str:
    """Why a date that is degraded at the door (a date of birth) is not a date, in words that
    never repeat the value; its bounds are the audit's date, not the warehouse's quarters."""
    cell, form, y, m, d = (f'"{f.name}"', f'"{f.name}__form"', f'"{f.name}__y"', f'"{f.name}__m"', f'"{f.name}__d"')
    return f"""
        CASE
            WHEN {cell} IS NULL THEN NULL
            WHEN {form} IS NULL THEN {_quote(f"{f.name} is not a date: use YYYY-MM-DD or DD/MM/YYYY" + NOT_KEPT)}
            WHEN {form} = 'uk' AND {m} > 12 AND {d} <= 12
                THEN {_quote(f"{f.name} looks like a US month-first date: use DD/MM/YYYY or YYYY-MM-DD" + NOT_KEPT)}
            WHEN {m} NOT BETWEEN 1 AND 12 THEN {_quote(f"{f.name} is not a date: there is no such month" + NOT_KEPT)}
            WHEN {d} NOT BETWEEN 1 AND day(last_day(make_date({y}, {m}, 1)))
                THEN {_quote(f"{f.name} is not a date: there is no such day" + NOT_KEPT)}
        END"""


def _age_band(f: Field, contract: Contract) -> str:
    """The age band, at the date field `degrade_at`, of a date of birth: whole years completed."""
    born, at = f'"{f.name}__date"', f'"{f.degrade_at}__date"'
    age = (
        f"(year({at}) - year({born}) - CASE WHEN month({at}) * 100 + day({at}) < month({born}) * 100 + day({born})"
        " THEN 1 ELSE 0 END)"
    )
    bands = contract.categories[f.degrade_category].values
    branches = " ".join(f"WHEN {age} >= {band.from_age} THEN {_quote(band.code)}" for band in reversed(bands))
    return f'CASE WHEN {born} IS NOT NULL AND {at} IS NOT NULL AND {born} <= {at} THEN CASE {branches} END END AS "{f.name}__band"'


def _date_problem(f: Field, contract: Contract) -> str:
    """Why a date cell is not a date the warehouse takes, or null."""
    if f.is_degraded:
        return _degraded_date_problem(f)
    cell, form, y, m, d = (f'"{f.name}"', f'"{f.name}__form"', f'"{f.name}__y"', f'"{f.name}__m"', f'"{f.name}__d"')
    first = f"make_date({y}, {m}, 1)"
    delivery = contract.delivery
    parsed = f"make_date({y}, {m}, {d})"
    too_late = (
        f"WHEN {parsed} > DATE '{delivery.latest_date.isoformat()}' THEN '{f.name} (' || strftime({parsed}, '%Y-%m-%d') "
        f"|| ') is after {_long_date(delivery.latest_date)}, the latest date the warehouse covers'"
        if not f.not_in_future  # the future has its own reason
        else ""
    )
    return f"""
        CASE
            WHEN {cell} IS NULL THEN NULL
            WHEN {form} IS NULL THEN '''' || {cell} || ''' is not a date: use YYYY-MM-DD or DD/MM/YYYY'
            WHEN {form} = 'uk' AND {m} > 12 AND {d} <= 12
                THEN '''' || {cell} || ''' looks like a US month-first date: use DD/MM/YYYY or YYYY-MM-DD'
            WHEN {m} NOT BETWEEN 1 AND 12 THEN '''' || {cell} || ''' is not a date: there is no month ' || {m}
            WHEN {d} NOT BETWEEN 1 AND day(last_day({first}))
                THEN '''' || {cell} || ''' is not a date: ' || monthname({first}) || ' ' || {y} || ' has '
                     || day(last_day({first})) || ' days'
            WHEN {parsed} < DATE '{delivery.earliest_date.isoformat()}' THEN '{f.name} (' || strftime({parsed}, '%Y-%m-%d')
                || ') is before {_long_date(delivery.earliest_date)}, the earliest date the warehouse covers'
            {too_late}
        END"""


def _typed_query(entity: Entity, contract: Contract, per_council: bool = False) -> str:
    parts_columns = ",\n".join(_date_columns(f) for f in entity.fields if f.type == "date")
    # Typing the dates needs their problems first: a lateral alias would not be portable, so nest.
    checked_columns, date_columns = [], []
    for f in entity.fields:
        if f.type == "date":
            checked_columns.append(f'{_date_problem(f, contract)} AS "{f.name}__problem"')
            date_columns.append(
                f'CASE WHEN "{f.name}__problem" IS NULL AND "{f.name}__form" IS NOT NULL '
                f'THEN make_date("{f.name}__y", "{f.name}__m", "{f.name}__d") END AS "{f.name}__date"'
            )
        if f.type == "category":
            checked_columns.append(
                f"(SELECT spelling.code FROM spellings AS spelling WHERE spelling.category = {_quote(f.category)}"
                f' AND spelling.spelling = parts."{f.name}") AS "{f.name}__code"'
            )
    problems = ",\n".join(checked_columns)
    dates = ",\n".join(date_columns)
    key_parts = []
    for name in entity.key:
        f = next(f for f in entity.fields if f.name == name)
        key_parts.append(f'coalesce("{name}__code", "{name}")' if f.type == "category" else f'"{name}"')
    key_present = " AND ".join(f'"{name}" IS NOT NULL' for name in entity.key)
    # A record of a council is known by its council too: the same audit_id in two is two records.
    council = [f'"{contract.council_field}"'] if per_council else []
    record_key = f"CASE WHEN {key_present} THEN concat_ws(' / ', {', '.join([*council, *key_parts])}) END AS record_key"
    bands = "".join(f",\n        {_age_band(f, contract)}" for f in entity.fields if f.is_degraded and f.type == "date")
    return f"""
        WITH parts AS (
            SELECT cells.*{',' if parts_columns else ''}
            {parts_columns}
            FROM cells
        ),
        checked AS (
            SELECT parts.*{',' if problems else ''}
            {problems}
            FROM parts
        ),
        dated AS (
            SELECT checked.*{',' if dates else ''}
            {dates},
            {record_key}
            FROM checked
        )
        SELECT dated.*{bands}
        FROM dated
    """


def _rule_queries(
    entity: Entity, contract: Contract, today: dt.date, per_council: bool = False, council: str | None = None,
    version: int | None = None,
) -> list[str]:
    """One SELECT (row_number, field, value, reason, is_reference) per rule, over the typed sheet.
    `per_council`: keys and references are the council's (contract v2, or a council's folder);
    `council`: the folder's council, which every row's la_code must be; `version`: the contract
    version the sheet follows (a field a later version added is not required of it)."""
    version = version or contract.version
    queries = []

    def rule(field: str, value: str, reason: str, failing: str, is_reference: bool = False) -> None:
        queries.append(
            f"SELECT row_number, {_quote(field)} AS field, {value} AS value, {reason} AS reason,"
            f" {'TRUE' if is_reference else 'FALSE'} AS is_reference FROM typed WHERE {failing}"
        )

    fields = {f.name: f for f in entity.fields}

    def code_in(name: str, values: tuple[str, ...]) -> str:
        return f'"{name}__code" IN ({", ".join(_quote(v) for v in values)})'

    for f in entity.fields:
        cell = f'"{f.name}"'
        # A degraded field's value never reaches a rejection (nor the error report).
        shown = "NULL" if f.is_degraded else cell
        own_problem_free = f'"{f.name}__problem" IS NULL' if f.type == "date" else "TRUE"
        if f.type == "date":
            rule(f.name, shown, f'"{f.name}__problem"', f'"{f.name}__problem" IS NOT NULL')
        if f.is_degraded and f.type == "date":
            rule(f.name, "NULL", _quote(f"{f.name} is after {f.degrade_at}: the child has no age at the audit" + NOT_KEPT),
                 f'"{f.name}__date" > "{f.degrade_at}__date"')
        if f.required and f.since <= version:
            rule(f.name, "NULL", _quote(f"{f.name} is required"), f"{cell} IS NULL")
        if f.required_when:
            (name, values), = f.required_when.items()
            rule(f.name, "NULL", _quote(f"{f.name} is required when {_describe(f.required_when)}"),
                 f"{cell} IS NULL AND {code_in(name, values)}")
        if f.empty_unless:
            (name, values), = f.empty_unless.items()
            # Known to be false only where the condition's field holds another of its codes.
            others = tuple(v.code for v in contract.categories[fields[name].category].values if v.code not in values)
            rule(f.name, cell, _quote(f"{f.name} must be empty unless {_describe(f.empty_unless)}"),
                 f"{cell} IS NOT NULL AND {own_problem_free} AND {code_in(name, others)}")
        if f.type == "category" and f.is_degraded:
            codes = ", ".join(value.code for value in contract.categories[f.category].values)
            rule(f.name, "NULL",
                 _quote(f"{f.name} is not {_article(f.category)} {f.category.replace('_', ' ')} code: use one of {codes}" + NOT_KEPT),
                 f'{cell} IS NOT NULL AND "{f.name}__code" IS NULL')
        elif f.type == "category":
            category = contract.categories[f.category]
            noun = f.category.replace("_", " ")
            rule(f.name, cell, f"'''' || {cell} || ''' is not {_article(f.category)} {noun}: use {category.describe_choices().replace(chr(39), chr(39) * 2)}'",
                 f'{cell} IS NOT NULL AND "{f.name}__code" IS NULL')
        if f.type == "la_code":
            rule(f.name, cell, f"'''' || {cell} || ''' is not a 3-digit DfE local authority code'",
                 f"{cell} IS NOT NULL AND NOT regexp_matches({cell}, {_quote(LA_CODE)})")
        if f.not_before:
            rule(f.name, cell, f"'{f.name} (' || {cell} || ') is before {f.not_before}'",
                 f'"{f.name}__date" < "{f.not_before}__date"')
        if f.not_in_future and f.is_degraded:
            rule(f.name, "NULL", _quote(f"{f.name} is in the future" + NOT_KEPT), f"\"{f.name}__date\" > DATE '{today.isoformat()}'")
        elif f.not_in_future:
            rule(f.name, cell, f"'{f.name} (' || {cell} || ') is in the future'",
                 f"\"{f.name}__date\" > DATE '{today.isoformat()}'")
    la_code = f'"{contract.council_field}"'
    if council is not None:
        reason = f"is not this folder's council: a file in the landing folder's {council}/ subfolder holds council {council}'s records only"
        rule(contract.council_field, la_code, f"'''' || {la_code} || ''' ' || {_quote(reason)}",
             f"{la_code} IS NOT NULL AND {la_code} <> {_quote(council)}")
    key_label = ", ".join(entity.key)
    key_values = [f'"{name}"' for name in entity.key]
    shown = key_values[0] if len(key_values) == 1 else (
        f"CASE WHEN {' AND '.join(f'{v} IS NULL' for v in key_values)} THEN NULL "
        f"ELSE concat_ws(', ', {', '.join(f'coalesce({v}, {_quote(chr(0))})' for v in key_values)}) END"
    )
    # A key counts as the same whatever the spelling of its category parts; per council, only
    # within its council.
    same_key = [
        f'coalesce("{name}__code", {_quote("unrecognised:")} || "{name}")' if fields[name].type == "category" else f'"{name}"'
        for name in entity.key
    ]
    same_key = [la_code, *same_key] if per_council else same_key
    in_council = f" || coalesce(', council ' || {la_code}, '')" if per_council else ""
    queries.append(
        f"""
        SELECT row_number, {_quote(key_label)} AS field, value,
               'duplicate key ({key_label}) = (' || value || ') within the file'{in_council} AS reason,
               FALSE AS is_reference
        FROM (
            SELECT row_number, {la_code}, replace({shown}, {_quote(chr(0))}, '') AS value,
                   count(*) OVER (PARTITION BY {', '.join(same_key)}) AS copies,
                   {' OR '.join(f'{v} IS NOT NULL' for v in key_values)} AS has_key
            FROM typed
        ) WHERE copies > 1 AND has_key
        """
    )
    for reference in entity.references:
        cell = f'"{reference.field}"'
        # A row that names its council refers to that council's record; a flat v1 row, to any.
        key = f"CASE WHEN {la_code} IS NOT NULL THEN {la_code} || {_quote(COUNCIL_SEPARATOR)} || {cell} ELSE {cell} END"
        rule(reference.field, cell,
             f"'{reference.field} ''' || {cell} || ''' does not exist in ' || coalesce('council ' || {la_code} || '''s ', '') || '{reference.entity}'",
             f"{cell} IS NOT NULL AND {key} NOT IN (SELECT value FROM known WHERE field = {_quote(reference.field)})",
             is_reference=True)
    return queries


def reference_key(la_code: object, value: object) -> str:
    """How the known references and the reference rule name a referenced record: with its
    council where the referring row names one."""
    return f"{la_code}{COUNCIL_SEPARATOR}{value}" if isinstance(la_code, str) and la_code else str(value)


def _stored_value(f: Field, contract: Contract) -> str:
    """A field's typed value as raw holds it: dates parsed, a date of birth as its age band, an
    ethnicity code as its group."""
    if f.is_degraded and f.type == "date":
        return f'"{f.name}__band"'
    if f.is_degraded:
        groups = " ".join(
            f"WHEN {_quote(value.code)} THEN {_quote(value.group)}" for value in contract.categories[f.category].values
        )
        return f'CASE "{f.name}__code" {groups} END'
    return f'"{f.name}__date"' if f.type == "date" else f'"{f.name}"'


def check_sheet(
    cells: pa.Table,
    entity: Entity,
    contract: Contract,
    known_references: dict[str, set[str]],
    today: dt.date,
    per_council: bool = False,
    council: str | None = None,
    version: int | None = None,
) -> CheckedSheet:
    """Type `cells` (text columns named after the entity's fields, plus row_number and
    extra_columns) and find every broken rule, in set-based queries over the whole sheet.
    `known_references` holds reference keys (`reference_key`); `per_council` and `council` as
    for `_rule_queries`."""
    connection = _engine().cursor()
    try:
        casts = ", ".join(f'CAST(frame."{name}" AS VARCHAR) AS "{name}"' for name in entity.field_names)
        # A view over the Arrow table, not a copy of it: the file is held once.
        connection.register("frame", cells)
        connection.execute(
            f"CREATE OR REPLACE TEMP VIEW cells AS SELECT CAST(row_number AS INTEGER) AS row_number, {casts},"
            " CAST(extra_columns AS VARCHAR) AS extra_columns FROM frame"
        )
        # Each distinct spelling is mapped to its code once, through the contract.
        spellings = [
            (f.category, value, contract.categories[f.category].normalise(value))
            for f in entity.fields
            if f.type == "category"
            for (value,) in connection.execute(f'SELECT DISTINCT "{f.name}" FROM cells WHERE "{f.name}" IS NOT NULL').fetchall()
        ]
        spelling_columns = list(zip(*spellings)) if spellings else [(), (), ()]
        connection.register(
            "spelling_frame",
            pa.table({name: pa.array(column, pa.string()) for name, column in zip(("category", "spelling", "code"), spelling_columns)}),
        )
        connection.execute("CREATE OR REPLACE TEMP TABLE spellings AS SELECT * FROM spelling_frame")
        connection.unregister("spelling_frame")
        known = pa.table({
            "field": pa.array([field for field, values in known_references.items() for _ in values], pa.string()),
            "value": pa.array([value for values in known_references.values() for value in values], pa.string()),
        })
        connection.register("known_frame", known)
        connection.execute("CREATE OR REPLACE TEMP TABLE known AS SELECT * FROM known_frame")
        connection.unregister("known_frame")
        connection.execute(f"CREATE OR REPLACE TEMP TABLE typed AS {_typed_query(entity, contract, per_council)}")
        rejections = connection.execute(
            " UNION ALL ".join(_rule_queries(entity, contract, today, per_council, council, version)) + " ORDER BY row_number, field"
        ).df()
        stored_columns = ", ".join(f'{_stored_value(f, contract)} AS "{f.name}"' for f in entity.fields)
        stored = connection.sql(
            f"SELECT row_number, record_key, {stored_columns}, extra_columns FROM typed ORDER BY row_number"
        ).to_arrow_table()
    finally:
        # A national file's typed table is gigabytes: give it back before the next file.
        with contextlib.suppress(duckdb.Error):
            connection.execute("DROP TABLE IF EXISTS typed")
            connection.execute("DROP VIEW IF EXISTS cells")
            connection.unregister("frame")
        connection.close()
    return CheckedSheet(stored=stored, rejections=rejections)


def release_engine() -> None:
    """Close this thread's checks database once ingestion is done, so the memory it used goes
    back before the next step (the contract suites' checks) runs in the same process."""
    if hasattr(_local, "connection"):
        _local.connection.close()
        shutil.rmtree(_local.spill, ignore_errors=True)
        del _local.connection, _local.spill
