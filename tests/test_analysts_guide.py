"""docs/analysts-guide.md: every example query runs against the sample's published warehouse and
gets exactly the answer the guide shows under it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import duckdb

from orchestration.settings import DOCS_DIR

GUIDE = DOCS_DIR / "analysts-guide.md"
# A ```sql block, then (after any prose) the markdown table that is its answer.
EXAMPLE = re.compile(r"```sql\n(?P<sql>.*?)```\n+(?P<table>(?:\|[^\n]*\|\n)+)", re.DOTALL)


def examples() -> list[tuple[str, list[str], list[list[str]]]]:
    found = []
    for match in EXAMPLE.finditer(GUIDE.read_text(encoding="utf-8")):
        lines = [line.strip() for line in match["table"].strip().splitlines()]
        header = [cell.strip() for cell in lines[0].strip("|").split("|")]
        rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
        found.append((match["sql"], header, rows))
    return found


def shown(value: object) -> str:
    """A value as the guide writes it."""
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (float, Decimal)):
        return repr(float(value))
    return str(value)


def answers(connection: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[list[str]]]:
    relation = connection.sql(sql)
    return relation.columns, [[shown(value) for value in row] for row in relation.fetchall()]


def test_every_example_query_in_the_analysts_guide_gets_the_answer_it_shows(sample_run):
    found = examples()
    assert len(found) >= 10
    assert "ANSWER_OF_QUERY" not in GUIDE.read_text(encoding="utf-8")
    with duckdb.connect(str(sample_run.paths.warehouse), read_only=True) as connection:
        for sql, header, rows in found:
            got_header, got_rows = answers(connection, sql)
            assert (got_header, got_rows) == (header, rows), sql
            assert rows, f"an example with no answer shows nothing: {sql}"
