"""Every CSV the project writes for people to open (error reports, exports, feeds) goes through
here, so that it is safe to open in Excel.

OWASP's CSV injection guidance: a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@`
(or a tab or carriage return before one) as a formula, which can run commands or send data
away. Delivered extracts are outside the project's control, so any text cell may start that
way. Such a cell is written with a leading `'`, which makes Excel show it as text and never run
it; every field is quoted and embedded quotes doubled, so a separator inside a cell cannot start
a new one. Numbers, dates and times are written as values (dates as ISO 8601), never prefixed:
a negative number is a number, not a formula. Files start with a UTF-8 byte-order mark, without
which Excel misreads UTF-8.

The rule is written once, here, for both Python values and DuckDB text columns.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb

from orchestration.warehouse_db import quoted_identifier, sql_literal

BOM = b"\xef\xbb\xbf"
# Characters a spreadsheet may read as the start of a formula, the full-width forms included.
FORMULA_STARTS = "=+-@\uff1d\uff0b\uff0d\uff20"
# Leading characters a spreadsheet skips or treats as part of the formula's start.
LEADING_SPACE = "\t\n\v\f\r "
TEXT_PREFIX = "'"
DATE_FORMAT = "%Y-%m-%d"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

_PYTHON_RULE = re.compile(
    "^[" + re.escape(LEADING_SPACE) + "]*[" + re.escape(FORMULA_STARTS) + "]|^[\t\r\n]"
)


def _re2_class(characters: str) -> str:
    return "".join(f"\\x{{{ord(character):04X}}}" for character in characters)


# The same rule for DuckDB's regexp_matches (RE2).
SQL_RULE = f"^[{_re2_class(LEADING_SPACE)}]*[{_re2_class(FORMULA_STARTS)}]|^[\\x{{0009}}\\x{{000D}}\\x{{000A}}]"


def would_run_as_formula(text: str) -> bool:
    return bool(_PYTHON_RULE.search(text))


def neutralise(text: str) -> str:
    """The text as a spreadsheet must show it: prefixed with `'` when it would run as a formula."""
    return TEXT_PREFIX + text if would_run_as_formula(text) else text


def neutralised_sql(column: str) -> str:
    """A SQL expression for a column written as text, neutralised as `neutralise` does."""
    text = f"CAST({quoted_identifier(column)} AS VARCHAR)"
    return f"CASE WHEN regexp_matches({text}, '{SQL_RULE}') THEN '{TEXT_PREFIX * 2}' || {text} ELSE {text} END AS {quoted_identifier(column)}"


# Types written as values: they cannot start a formula (a negative number is a number).
_VALUE_TYPES = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U\w*INT|FLOAT|DOUBLE|DECIMAL.*|DATE|TIMESTAMP.*|BOOLEAN)$")


def _cell(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime(TIMESTAMP_FORMAT)
    if isinstance(value, dt.date):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return neutralise(str(value))


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write rows of Python values; return how many. None is an empty, unquoted field."""
    buffer = io.StringIO()
    buffer.write(",".join(_quoted(neutralise(name)) for name in header) + "\n")
    count = 0
    for row in rows:
        cells = [_cell(value) for value in row]
        buffer.write(",".join("" if cell is None else _quoted(cell) for cell in cells) + "\n")
        count += 1
    path.write_bytes(BOM + buffer.getvalue().encode("utf-8"))
    return count


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_relation(relation, path: Path) -> None:
    """Write a DuckDB relation (a query's result), set-based: text columns neutralised in SQL,
    every non-empty field quoted, dates ISO, a byte-order mark first. Columns of any type but
    numbers, dates, times and booleans are written as text, neutralised. A PostgreSQL result
    (orchestration.warehouse_db.Rows) is handed to DuckDB first, so both write the same file."""
    if not isinstance(relation, duckdb.DuckDBPyRelation):
        frame = relation.df()
        with duckdb.connect() as scratch:
            write_relation(scratch.from_df(frame), path)
        return
    columns = [
        quoted_identifier(name) if _VALUE_TYPES.match(str(kind)) else neutralised_sql(name)
        for name, kind in zip(relation.columns, relation.types)
    ]
    projected = relation.project(", ".join(columns))
    # The byte-order mark and the header are DuckDB's prefix, so the file is written once, not
    # written and then copied behind a mark (a national fact table's CSV is 185 MB).
    prefix = BOM.decode("utf-8") + ",".join(_quoted(name) for name in projected.columns) + "\n"
    projected.query(
        "csv_rows",
        f"COPY csv_rows TO {sql_literal(str(path))} (HEADER false, FORCE_QUOTE *, PREFIX {sql_literal(prefix)}, SUFFIX '\n',"
        f" DATEFORMAT {sql_literal(DATE_FORMAT)}, TIMESTAMPFORMAT {sql_literal(TIMESTAMP_FORMAT)})",
    )
    # The suffix stands for the last row's newline; with no rows DuckDB writes it after the header.
    if not projected.limit(1).fetchall():
        with path.open("r+b") as written:
            written.truncate(len(prefix.encode("utf-8")))
