"""Read a landing file into sheets of records, one sheet per entity, headers matched to the contract.

Nothing here judges a row: a file is either read into records (cells as delivered, trimmed) or
rejected whole with a reason a QA officer can act on. A workbook is read as a person sees it:
only its visible sheets; every sheet and column not read is returned with the reason, so the
load log can name it.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import itertools
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from orchestration.contract import Contract, Entity, match_key

Cell = str | dt.date | dt.datetime | None

READABLE_SUFFIXES = {".csv", ".xlsx"}
EXTRA_COLUMNS = "extra_columns"


class FileRejected(Exception):
    """The file cannot be read at all; the message is the reason recorded in the load log."""


@dataclass
class Sheet:
    entity: Entity
    sheet_name: str | None
    table: pa.Table = field(default_factory=lambda: pa.table({"row_number": pa.array([], pa.int64())}))
    """One row per non-blank row, as Arrow columns (no Python object per cell): `row_number` (as a
    spreadsheet shows it), one text column per field of the entity (empty where the file has no
    such column; dates from spreadsheet cells as ISO text, so every date is parsed the same way),
    and `extra_columns`: the row's columns that match no field, as JSON text (empty when none)."""
    dropped_headers: list[str] = field(default_factory=list)
    unmatched_headers: list[str] = field(default_factory=list)
    absent_optional_fields: list[str] = field(default_factory=list)
    contract_version: int = 1
    """The contract version the sheet follows (from its columns, or a word in its file's name)."""
    present_fields: frozenset[str] = frozenset()
    """The fields the sheet has a column for."""

    def release(self) -> None:
        """Let go of the rows once they are loaded: a national drop's earlier files are not held
        while its largest loads."""
        self.table = self.table.schema.empty_table()
        pa.default_memory_pool().release_unused()

    @property
    def cells(self) -> pd.DataFrame:
        """`row_number` and the fields' text as a pandas frame (missing cells as None), for a look
        at a sheet; ingestion itself works on `table`."""
        cells = self.table.drop_columns([name for name in [EXTRA_COLUMNS] if name in self.table.column_names]).to_pandas()
        return cells.astype(object).where(cells.notna(), None).astype({"row_number": "int64"})

    @property
    def columns_not_loaded(self) -> list[str]:
        """Each kind of column not loaded as a field, with its reason, in words for a QA officer."""
        notes = []
        if self.dropped_headers:
            notes.append("columns never loaded (names and notes are not taken): " + ", ".join(self.dropped_headers))
        if self.unmatched_headers:
            notes.append(
                f"columns matching no {self.entity.name} field (kept aside in extra_columns, not used): "
                + ", ".join(self.unmatched_headers)
            )
        if self.absent_optional_fields:
            notes.append(
                f"optional {self.entity.name} fields with no column (left empty): "
                + ", ".join(self.absent_optional_fields)
            )
        return notes


@dataclass(frozen=True)
class SheetNotLoaded:
    """A sheet of a workbook that is read no further, and why."""

    sheet_name: str
    entity: Entity | None
    reason: str


@dataclass
class FileContents:
    sheets: list[Sheet]
    sheets_not_loaded: list[SheetNotLoaded] = field(default_factory=list)


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


def _clean_column(column: tuple, length: int, text_only: bool) -> pd.Series:
    """A column's cells as trimmed text, empty cells as missing."""
    values = pd.Series(column, dtype=object, index=range(length)) if column else pd.Series([None] * length, dtype=object)
    if not text_only:
        values = values.map(lambda value: _text(_clean_cell(value)))
    else:
        values = values.str.strip()
    return values.where(values.notna() & (values != ""), None)


def _text(cell: Cell) -> str | None:
    if isinstance(cell, (dt.date, dt.datetime)):
        return cell.strftime("%Y-%m-%d")
    return cell


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


@dataclass
class _HeaderMatch:
    column_field: dict[int, str]
    extra_columns: dict[int, str]
    dropped: list[str]
    version: int = 1


def _match_headers(headers: list[Cell], entity: Entity, contract: Contract, where: str) -> _HeaderMatch:
    fields_by_key = {match_key(name): name for name in entity.field_names}
    match = _HeaderMatch(column_field={}, extra_columns={}, dropped=[])
    for index, header in enumerate(headers):
        if header is None:
            continue
        header = str(header)
        field_name = fields_by_key.get(match_key(header))
        if field_name is not None:
            if field_name in match.column_field.values():
                raise FileRejected(f"{where}: two columns are both {field_name}")
            match.column_field[index] = field_name
        elif contract.is_never_loaded(header):
            match.dropped.append(header)
        else:
            match.extra_columns[index] = header
    return match


def _checked_header_match(
    headers: list[Cell], entity: Entity, contract: Contract, where: str, file_name: str = ""
) -> _HeaderMatch:
    """The header row matched to the entity's fields, or the reason the sheet cannot be read.
    A field new in a later contract version than the file follows is not required of it."""
    if all(header is None for header in headers):
        raise FileRejected(f"{where}: no header row")
    match = _match_headers(headers, entity, contract, where)
    if not match.column_field:
        raise FileRejected(
            f"{where}: no header row: the first row names none of the {entity.name} fields "
            f"({', '.join(f.name for f in entity.fields if f.since == 1)})"
        )
    match.version = contract.file_version(entity, set(match.column_field.values()), file_name)
    missing = [
        f.name for f in entity.fields
        if f.required and f.since <= match.version and f.name not in match.column_field.values()
    ]
    if missing:
        in_version = f" (contract v{match.version})" if any(f.since > 1 for f in entity.fields if f.name in missing) else ""
        raise FileRejected(f"{where}: missing required columns{in_version}: {', '.join(missing)}")
    return match


def _read_sheet(
    rows: list[list[object]], entity: Entity, contract: Contract, where: str, sheet_name: str | None, text_only: bool = False,
    file_name: str = "",
) -> Sheet:
    """Match the first row as headers; the rest become records numbered as a spreadsheet shows them."""
    if not rows:
        raise FileRejected(f"{where}: no header row")
    headers = [_clean_cell(c) for c in rows[0]]
    match = _checked_header_match(headers, entity, contract, where, file_name)
    width = len(headers)
    data = rows[1:]
    # Column by column: a CSV's cells are all text and clean in one vectorised pass; a workbook's
    # (numbers, dates, booleans) go through _clean_cell.
    columns = list(itertools.zip_longest(*data, fillvalue=None))[:width] if data else []
    columns += [()] * (width - len(columns))
    cleaned = {index: _clean_column(column, len(data), text_only) for index, column in enumerate(columns)}
    row_numbers = pd.Series(range(2, len(data) + 2), dtype="int64")
    return _sheet_from_columns(cleaned, row_numbers, entity, contract, sheet_name, match)


def _sheet_from_columns(
    cleaned: dict[int, pd.Series],
    row_numbers: pd.Series,
    entity: Entity,
    contract: Contract,
    sheet_name: str | None,
    match: _HeaderMatch,
) -> Sheet:
    """A sheet from its columns of cleaned text (missing as None), each indexed like
    `row_numbers`, matched to fields by `match`; rows with nothing in them are left out."""
    blank = pd.Series(True, index=row_numbers.index)
    for column in cleaned.values():
        blank &= column.isna()
    keep = ~blank.to_numpy()
    columns = {"row_number": pa.array(row_numbers.to_numpy()[keep], pa.int64())}
    by_field = {name: index for index, name in match.column_field.items()}
    kept = int(keep.sum())
    for name in entity.field_names:
        index = by_field.get(name)
        columns[name] = (
            pa.nulls(kept, pa.string()) if index is None
            else pa.array(cleaned[index].to_numpy(dtype=object)[keep], pa.string(), from_pandas=True)
        )
    extra = [cleaned[index].to_numpy(dtype=object)[keep] for index in match.extra_columns]
    columns[EXTRA_COLUMNS] = _extra_json(list(match.extra_columns.values()), extra, kept)
    return _sheet(entity, sheet_name, pa.table(columns), match, contract)


def _extra_json(names: list[str], columns: list, rows: int) -> pa.Array:
    """Each row's columns that match no field, as JSON text of what it holds (empty when nothing)."""
    if not names:
        return pa.nulls(rows, pa.string())
    texts = []
    for values in zip(*columns):
        held = {name: value for name, value in zip(names, values) if value is not None and value == value}
        texts.append(json.dumps(held, sort_keys=True) if held else None)
    return pa.array(texts, pa.string())


def _sheet(entity: Entity, sheet_name: str | None, table: pa.Table, match: _HeaderMatch, contract: Contract) -> Sheet:
    return Sheet(
        entity=entity,
        sheet_name=sheet_name,
        table=table,
        dropped_headers=match.dropped,
        unmatched_headers=list(match.extra_columns.values()),
        # A marker every entity carries (`deleted`) is absent from nearly every delivery: naming it
        # on every load would bury the absent columns that matter.
        absent_optional_fields=[
            f.name
            for f in entity.fields
            if f.name not in match.column_field.values() and f.name not in contract.fields_on_every_entity
            and f.since <= match.version
        ],
        contract_version=match.version,
        present_fields=frozenset(match.column_field.values()),
    )


def read_csv(content: bytes, file_name: str, contract: Contract, path: Path | None = None) -> FileContents:
    entity = contract.entity_for_name(file_name)
    if entity is None:
        raise FileRejected(_no_entity_reason(contract, csv_file=True))
    if not content.removeprefix(_BOM).strip():
        raise FileRejected("the file is empty")
    utf8 = _is_utf8(content)
    if utf8 and path is not None:
        # DuckDB reads a UTF-8 file as it is: no copy of its text is made in Python.
        fast = _read_csv_with_duckdb(content, entity, contract, file_name, path)
        if fast is not None:
            return FileContents(sheets=[fast])
    text = _decode(content, file_name)
    if not text.strip():
        raise FileRejected("the file is empty")
    if not utf8 or path is None:
        fast = _read_csv_with_duckdb(text.encode("utf-8"), entity, contract, file_name)
        if fast is not None:
            return FileContents(sheets=[fast])
    # strict: an unterminated quote would otherwise swallow every later row into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = list(reader)
    except csv.Error as error:
        raise FileRejected(f"not readable as CSV at line {reader.line_num}: {error}") from None
    return FileContents(
        sheets=[_read_sheet(rows, entity, contract, where="the file", sheet_name=None, text_only=True, file_name=file_name)]
    )


_BOM = b"\xef\xbb\xbf"


def _is_utf8(content: bytes) -> bool:
    """Whether the bytes are UTF-8, checked a megabyte at a time (no copy of the whole text)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(content), 1 << 20):
            decoder.decode(content[start:start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# What Python's str.strip() takes off a cell, that DuckDB's trim() would leave.
_WHITESPACE = " \t\n\r\x0b\x0c\xa0"
_BLANK_LINE = re.compile(rb"\n[ \t]*\r?\n")


def _trimmed(column: str) -> str:
    """A cell trimmed as Python's str.strip() would, empty as missing. Most cells need no trim:
    only those that start or end with whitespace pay for trim()."""
    return (
        f"CASE WHEN contains('{_WHITESPACE}', left({column}, 1)) OR contains('{_WHITESPACE}', right({column}, 1))"
        f" THEN nullif(trim({column}, '{_WHITESPACE}'), '') ELSE nullif({column}, '') END"
    )


def _read_csv_with_duckdb(
    data: bytes, entity: Entity, contract: Contract, file_name: str = "", utf8_path: Path | None = None
) -> Sheet | None:
    """The file (`data`, UTF-8) read by DuckDB's CSV reader into Arrow columns, cells trimmed,
    blank rows left out and columns matched to fields in SQL: the fast path for an ordinary
    file. None when the file is anything but ordinary (blank lines, which shift row numbers, a
    quoted cell over several lines, a stray quote, a header the sheet cannot use): the Python
    reader then reads it, and says exactly what is wrong where. `utf8_path` is the file itself
    when DuckDB can read it as it is."""
    if _BLANK_LINE.search(data.rstrip(b"\r\n")):
        return None
    # A quoted cell spanning lines, or a quote left open, is for the strict reader: DuckDB would
    # carry an open quote on to the end of the file.
    if b'"' in data and any(line.count(b'"') % 2 for line in data.splitlines()):
        return None
    first_line = data.split(b"\n", 1)[0].decode("utf-8-sig")
    header_line = next(csv.reader(io.StringIO(first_line, newline="")), [])
    width = len(header_line)
    if not width or any("\n" in header or "\r" in header for header in header_line):
        return None
    headers = [_clean_cell(cell) for cell in header_line]
    try:
        match = _checked_header_match(headers, entity, contract, "the file", file_name)
    except FileRejected:
        return None  # the Python reader finds the same fault, or an earlier one, and says which
    columns = ", ".join(f"'c{index}': 'VARCHAR'" for index in range(width))
    by_field = {name: index for index, name in match.column_field.items()}
    fields = ", ".join(
        f'{_trimmed(f"c{by_field[name]}")} AS "{name}"' if name in by_field else f'CAST(NULL AS VARCHAR) AS "{name}"'
        for name in entity.field_names
    )
    extras = "".join(f", {_trimmed(f'c{index}')} AS x{index}" for index in match.extra_columns)
    blank = " AND ".join(f"{_trimmed(f'c{index}')} IS NULL" for index in range(width))
    connection = duckdb.connect()
    try:
        # A copy on disk only for text that is not the file as delivered (decoded from another encoding).
        with contextlib.nullcontext() if utf8_path else tempfile.NamedTemporaryFile("wb", suffix=".csv") as handle:
            if handle is not None:
                handle.write(data)
                handle.flush()
            # Rows come back in the file's order (DuckDB preserves insertion order), so a row's
            # number is its place, counted here rather than by a window over the whole file.
            table = connection.sql(
                f"""
                SELECT {fields}{extras}, {blank} AS blank
                FROM read_csv(?, header = false, skip = 1, delim = ',', quote = '"', escape = '"',
                              auto_detect = false, columns = {{{columns}}}, null_padding = true,
                              strict_mode = true)
                """,
                params=[str(utf8_path or handle.name)],
            ).to_arrow_table()
    except duckdb.Error:
        return None
    finally:
        connection.close()
    row_numbers = pa.array(np.arange(2, table.num_rows + 2, dtype=np.int64))
    table = table.add_column(0, "row_number", row_numbers)
    table = table.filter(pc.invert(table["blank"])).drop_columns(["blank"])
    extra_names = [f"x{index}" for index in match.extra_columns]
    extra = _extra_json(
        list(match.extra_columns.values()), [table[name].to_pylist() for name in extra_names], table.num_rows
    )
    table = table.drop_columns(extra_names).append_column(EXTRA_COLUMNS, extra)
    return _sheet(entity, None, table, match, contract)


def _hidden_reason(visibility: SheetVisibleEnum) -> str | None:
    # calamine's enums are not hashable, so no dict lookup.
    if visibility == SheetVisibleEnum.Hidden:
        return "a hidden sheet: only the sheets a person sees in Excel are read"
    if visibility == SheetVisibleEnum.VeryHidden:
        return "a very hidden sheet: only the sheets a person sees in Excel are read"
    return None


def _sheet_choice(
    workbook: CalamineWorkbook, file_name: str, contract: Contract
) -> tuple[list[tuple[str, Entity]], list[SheetNotLoaded]]:
    """The visible sheets to read, each with its entity, and every other sheet with its reason.

    Sheets named after an entity (or a synonym) are read; when none is, a workbook named after
    an entity is read from its first visible sheet.
    """
    not_loaded: list[SheetNotLoaded] = []
    visible: list[tuple[str, Entity | None]] = []
    for metadata in workbook.sheets_metadata:
        entity = contract.entity_for_name(metadata.name)
        hidden_reason = _hidden_reason(metadata.visible)
        if hidden_reason:
            not_loaded.append(SheetNotLoaded(metadata.name, entity, hidden_reason))
        elif metadata.typ != SheetTypeEnum.WorkSheet:
            not_loaded.append(SheetNotLoaded(metadata.name, entity, "a chart or macro sheet, not a table of rows"))
        else:
            visible.append((metadata.name, entity))
    not_read_note = "".join(f"; sheet {s.sheet_name!r} is not read: {s.reason}" for s in not_loaded)
    chosen = [(name, entity) for name, entity in visible if entity is not None]
    if chosen:
        unnamed_reason = "its name matches no entity: " + _sheet_names_hint(contract)
    else:
        file_entity = contract.entity_for_name(file_name)
        if file_entity is None:
            raise FileRejected(_no_entity_reason(contract, csv_file=False) + not_read_note)
        if not visible:
            raise FileRejected("no visible sheet to read" + not_read_note)
        chosen = [(visible[0][0], file_entity)]
        unnamed_reason = (
            f"the workbook is read as {file_entity.name} from its first visible sheet, {visible[0][0]!r}, "
            f"as no sheet is named after an entity"
        )
    chosen_names = {name for name, _ in chosen}
    not_loaded += [SheetNotLoaded(name, None, unnamed_reason) for name, _ in visible if name not in chosen_names]
    seen: dict[str, str] = {}
    for name, entity in chosen:
        if entity.name in seen:
            raise FileRejected(f"sheets {seen[entity.name]!r} and {name!r} are both {entity.name}")
        seen[entity.name] = name
    order = [m.name for m in workbook.sheets_metadata]
    not_loaded.sort(key=lambda sheet: order.index(sheet.sheet_name))
    return chosen, not_loaded


def read_xlsx(path: Path, contract: Contract) -> FileContents:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError) as error:
        raise FileRejected(f"not a readable XLSX workbook ({error})") from None
    chosen, not_loaded = _sheet_choice(workbook, path.name, contract)
    try:
        sheet_rows = {name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False) for name, _ in chosen}
    except CalamineError as error:
        raise FileRejected(f"not a readable XLSX workbook ({error})") from None
    blank = {name for name, rows in sheet_rows.items() if all(_clean_cell(c) is None for row in rows for c in row)}
    if len(blank) == len(chosen):
        raise FileRejected("the file is empty")
    # A blank sheet left in a template (an Actions sheet with no actions yet) is not a broken file.
    not_loaded += [SheetNotLoaded(name, entity, "the sheet is empty") for name, entity in chosen if name in blank]
    sheets = [
        _read_sheet(sheet_rows[name], entity, contract, where=f"sheet {name!r}", sheet_name=name, file_name=path.name)
        for name, entity in chosen
        if name not in blank
    ]
    return FileContents(sheets=sheets, sheets_not_loaded=not_loaded)


def read_file(path: Path, content: bytes, contract: Contract) -> FileContents:
    suffix = path.suffix.lower()
    if suffix not in READABLE_SUFFIXES:
        raise FileRejected(f"not a CSV or XLSX file ({suffix or 'no extension'})")
    if not content:
        raise FileRejected("the file is empty")
    if suffix == ".csv":
        return read_csv(content, path.name, contract, path)
    return read_xlsx(path, contract)


def _sheet_names_hint(contract: Contract) -> str:
    return f"a sheet is read when named {', '.join(contract.entities)} or a synonym the extract contract lists"


def _no_entity_reason(contract: Contract, csv_file: bool) -> str:
    names = ", ".join(f"{name}_" for name in contract.entities)
    where = "its name" if csv_file else "its name or sheet names"
    return f"no known entity in {where}: a file name should start with one of {names}"
