"""Read a landing file into sheets of records, one sheet per entity, headers matched to the contract.

Nothing here judges a row: a file is either read into records (cells as delivered, trimmed) or
rejected whole with a reason a QA officer can act on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook

from orchestration.contract import Contract, Entity, match_key

Cell = str | dt.date | dt.datetime | None

READABLE_SUFFIXES = {".csv", ".xlsx"}


class FileRejected(Exception):
    """The file cannot be read at all; the message is the reason recorded in the load log."""


@dataclass
class Record:
    row_number: int
    values: dict[str, Cell]
    extra: dict[str, str]


@dataclass
class Sheet:
    entity: Entity
    sheet_name: str | None
    records: list[Record]
    dropped_headers: list[str] = field(default_factory=list)


def _clean_cell(value: object) -> Cell:
    if value is None:
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        # Spreadsheet numbers arrive as floats: 885.0 is the code "885".
        value = int(value) if value.is_integer() else value
    text = str(value).strip()
    return text or None


def _decode(content: bytes, file_name: str) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # What Excel on Windows saves.
        return content.decode("cp1252")
    except UnicodeDecodeError as error:
        raise FileRejected(f"not readable text: neither UTF-8 nor Windows-1252 ({error.reason} at byte {error.start})")


def _records_from_rows(
    rows: list[list[object]], entity: Entity, contract: Contract, where: str
) -> tuple[list[Record], list[str]]:
    """Match the first row as headers; the rest become records numbered as a spreadsheet shows them."""
    if not rows or all(_clean_cell(c) is None for c in rows[0]):
        raise FileRejected(f"{where}: no header row")
    headers = [_clean_cell(c) for c in rows[0]]
    fields_by_key = {match_key(name): name for name in entity.field_names}
    column_field: dict[int, str] = {}
    extra_columns: dict[int, str] = {}
    dropped: list[str] = []
    for index, header in enumerate(headers):
        if header is None:
            continue
        header = str(header)
        field_name = fields_by_key.get(match_key(header))
        if field_name is not None:
            if field_name in column_field.values():
                raise FileRejected(f"{where}: two columns are both {field_name}")
            column_field[index] = field_name
        elif contract.is_never_loaded(header):
            dropped.append(header)
        else:
            extra_columns[index] = header
    if not column_field:
        raise FileRejected(
            f"{where}: no header row: the first row names none of the {entity.name} fields "
            f"({', '.join(entity.field_names)})"
        )
    missing = [f.name for f in entity.fields if f.required and f.name not in column_field.values()]
    if missing:
        raise FileRejected(f"{where}: missing required columns: {', '.join(missing)}")

    records = []
    for offset, row in enumerate(rows[1:], start=2):
        cells = [_clean_cell(c) for c in row]
        if all(c is None for c in cells):
            continue
        cells += [None] * (len(headers) - len(cells))  # ragged rows are short
        values = {name: None for name in entity.field_names}
        values.update({name: cells[i] for i, name in column_field.items()})
        extra = {name: str(cells[i]) for i, name in extra_columns.items() if cells[i] is not None}
        records.append(Record(row_number=offset, values=values, extra=extra))
    return records, dropped


def read_csv(content: bytes, file_name: str, contract: Contract) -> list[Sheet]:
    entity = contract.entity_for_name(file_name)
    if entity is None:
        raise FileRejected(_no_entity_reason(contract, csv_file=True))
    text = _decode(content, file_name)
    if not text.strip():
        raise FileRejected("the file is empty")
    # strict: an unterminated quote would otherwise swallow every later row into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = list(reader)
    except csv.Error as error:
        raise FileRejected(f"not readable as CSV at line {reader.line_num}: {error}") from None
    records, dropped = _records_from_rows(rows, entity, contract, where="the file")
    return [Sheet(entity=entity, sheet_name=None, records=records, dropped_headers=dropped)]


def read_xlsx(path: Path, contract: Contract) -> list[Sheet]:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError) as error:
        raise FileRejected(f"not a readable XLSX workbook ({error})") from None
    named_sheets = [(name, contract.entity_for_name(name)) for name in workbook.sheet_names]
    entity_sheets = [(name, entity) for name, entity in named_sheets if entity is not None]
    if not entity_sheets:
        file_entity = contract.entity_for_name(path.name)
        if file_entity is None:
            raise FileRejected(_no_entity_reason(contract, csv_file=False))
        entity_sheets = [(workbook.sheet_names[0], file_entity)]
    seen: dict[str, str] = {}
    for name, entity in entity_sheets:
        if entity.name in seen:
            raise FileRejected(f"sheets {seen[entity.name]!r} and {name!r} are both {entity.name}")
        seen[entity.name] = name
    try:
        sheet_rows = {name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False) for name, _ in entity_sheets}
    except CalamineError as error:
        raise FileRejected(f"not a readable XLSX workbook ({error})") from None
    if not any(_clean_cell(c) is not None for rows in sheet_rows.values() for row in rows for c in row):
        raise FileRejected("the file is empty")
    sheets = []
    for name, entity in entity_sheets:
        records, dropped = _records_from_rows(sheet_rows[name], entity, contract, where=f"sheet {name!r}")
        sheets.append(Sheet(entity=entity, sheet_name=name, records=records, dropped_headers=dropped))
    return sheets


def read_file(path: Path, content: bytes, contract: Contract) -> list[Sheet]:
    suffix = path.suffix.lower()
    if suffix not in READABLE_SUFFIXES:
        raise FileRejected(f"not a CSV or XLSX file ({suffix or 'no extension'})")
    if not content:
        raise FileRejected("the file is empty")
    if suffix == ".csv":
        return read_csv(content, path.name, contract)
    return read_xlsx(path, contract)


def _no_entity_reason(contract: Contract, csv_file: bool) -> str:
    names = ", ".join(f"{name}_" for name in contract.entities)
    where = "its name" if csv_file else "its name or sheet names"
    return f"no known entity in {where}: a file name should start with one of {names}"
