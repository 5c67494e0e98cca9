"""Every figure of the quarterly executive summary, read from the published warehouse's marts.

The report reads the `marts` schema only (never raw, staging or ops), so it works on the file an
analyst holds. A report covers the financial year to date through the quarter asked for.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.export.feed import council_names
from orchestration.ops.refusals import Refusal
from orchestration.report.formatting import date_text
from orchestration.report.stats import Proportion

PERIOD_PATTERN = re.compile(r"^(\d{4})-(\d{2}) Q([1-4])$")
GOOD = "Good"
REQUIRES_IMPROVEMENT = "Requires Improvement"


class ReportUnavailable(Refusal):
    """No report can be written for what was asked: one line that says why and what exists
    (`cfa report` prints it and exits 2; it is never a traceback)."""


@dataclass(frozen=True)
class GradeComparison:
    grade_code: int
    grade_label: str
    current: Proportion
    previous: Proportion | None  # None when the comparison period has no counted audits
    change_percentage_points: float | None


@dataclass(frozen=True)
class PracticeArea:
    code: str
    name: str
    grades: list[GradeComparison]

    def grade(self, label: str) -> GradeComparison:
        return next(g for g in self.grades if g.grade_label == label)


@dataclass(frozen=True)
class ModerationChanges:
    code: str
    name: str
    moderated: int
    changed: int
    moderated_up: int
    moderated_down: int

    @property
    def changed_share(self) -> Proportion:
        return Proportion(self.changed, self.moderated)


@dataclass(frozen=True)
class Development:
    development_id: str
    published_date: dt.date
    category: str
    title: str


@dataclass(frozen=True)
class Actions:
    as_at: dt.date
    raised: int
    completed: int
    open: int
    overdue: int
    earlier_open: int
    earlier_overdue: int

    @property
    def completion(self) -> Proportion:
        return Proportion(self.completed, self.raised)


@dataclass
class ReportFigures:
    la_code: str
    fiscal_year: str
    fiscal_quarter: int
    quarter_label: str
    period_start: dt.date
    period_end: dt.date
    figures_as_at: dt.date
    audits: int
    activities: int
    first_completed: dt.date
    last_completed: dt.date
    good_or_requires_improvement: Proportion
    good_or_better: Proportion
    inadequate: int
    audits_held_back: int
    audits_moderated: int
    targeted_audits: int
    targeted_children: int
    actions: Actions
    previous_fiscal_year: str
    overall: list[GradeComparison]
    comparison_quarter_label: str
    practice_areas: list[PracticeArea]
    moderation: list[ModerationChanges]
    developments: list[Development] = field(default_factory=list)
    la_name: str | None = None  # dim_local_authority's name for the council, where it has one

    def overall_grade(self, label: str) -> GradeComparison:
        return next(g for g in self.overall if g.grade_label == label)

    @property
    def has_previous_year(self) -> bool:
        return any(g.previous is not None for g in self.overall)

    @property
    def has_comparison_quarter(self) -> bool:
        return any(g.previous is not None for area in self.practice_areas for g in area.grades)

    @property
    def completed_case_file_audits(self) -> int:
        """Counted and held back: every completed case file audit of the year to date."""
        return self.audits + self.audits_held_back

    @property
    def moderated(self) -> Proportion:
        return Proportion(self.audits_moderated, self.completed_case_file_audits)

    @property
    def overall_moderation(self) -> ModerationChanges:
        return next(m for m in self.moderation if m.code == "overall")

    @property
    def practice_area_moderation(self) -> ModerationChanges:
        """The practice-area gradings together."""
        areas = [m for m in self.moderation if m.code != "overall"]
        return ModerationChanges(
            code="practice_areas",
            name="Practice-area grades",
            moderated=sum(m.moderated for m in areas),
            changed=sum(m.changed for m in areas),
            moderated_up=sum(m.moderated_up for m in areas),
            moderated_down=sum(m.moderated_down for m in areas),
        )


def check_period(period: str) -> str:
    """A financial quarter label like 2022-23 Q2, or a ReportUnavailable that says so."""
    label = " ".join(period.split())
    match = PERIOD_PATTERN.match(label)
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ReportUnavailable(
            f"{period!r} is not a financial quarter: give it as the warehouse labels quarters, like '2022-23 Q2' "
            "(Q1 is April to June, Q4 January to March)."
        )
    return label


def _rows(connection: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    relation = connection.execute(sql, params)
    columns = [c[0] for c in relation.description]
    return [dict(zip(columns, row)) for row in relation.fetchall()]


def _proportion(count: int | None, base: int | None) -> Proportion | None:
    return None if base is None or count is None else Proportion(int(count), int(base))


def open_marts(warehouse: Path) -> duckdb.DuckDBPyConnection:
    if not Path(warehouse).is_file():
        raise ReportUnavailable(f"there is no warehouse at {warehouse}: run `cfa run` (or `make run`) first, or pass --warehouse.")
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        connection.execute("SELECT 1 FROM marts.mart_summary_year_to_date_by_quarter LIMIT 0")
    except duckdb.CatalogException:
        connection.close()
        raise ReportUnavailable(
            f"{warehouse} has no marts.mart_summary_year_to_date_by_quarter: it was built by an older version "
            "of the warehouse; run `cfa run` to rebuild it."
        ) from None
    return connection


def quarters_with_audits(connection: duckdb.DuckDBPyConnection, la_code: str | None = None) -> list[tuple[str, str]]:
    """(council, quarter) pairs whose year to date has counted case file audits, oldest first."""
    return [
        (row["la_code"], row["quarter_label"])
        for row in _rows(
            connection,
            "SELECT la_code, quarter_label FROM marts.mart_summary_year_to_date_by_quarter"
            " WHERE case_file_audits_completed > 0 AND (? IS NULL OR la_code = ?) ORDER BY la_code, quarter_label",
            [la_code, la_code],
        )
    ]


def latest_quarters(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Each council's latest quarter whose year to date has counted case file audits."""
    latest: dict[str, str] = {}
    for la_code, quarter in quarters_with_audits(connection):
        latest[la_code] = quarter
    return sorted(latest.items())


def _why_no_report(connection: duckdb.DuckDBPyConnection, la_code: str, quarter_label: str, has_row: bool) -> str:
    """Why there is no report for this council and quarter, and which ones there are."""
    with_audits = [q for _, q in quarters_with_audits(connection, la_code)]
    shown = ", ".join(with_audits[-8:]) + (f" (and {len(with_audits) - 8} earlier)" if len(with_audits) > 8 else "")
    available = f"reports can be written for {la_code} for {shown}." if with_audits else ""
    if has_row:
        fiscal_year, quarter = quarter_label.split(" ")
        reason = f"no case file audits of council {la_code} were completed (and counted) in {fiscal_year} up to the end of {quarter}"
        return f"{reason}; {available}" if available else f"{reason}, nor in any other quarter."
    known = _rows(
        connection,
        "SELECT min(quarter_label) AS first_quarter, max(quarter_label) AS last_quarter, max(figures_as_at) AS as_at"
        " FROM marts.mart_summary_year_to_date_by_quarter WHERE la_code = ?",
        [la_code],
    )[0]
    if known["first_quarter"] is None:
        councils = sorted({c for c, _ in quarters_with_audits(connection)})
        held = f"it has case file audits for council(s) {', '.join(councils)}." if councils else "it holds no counted case file audits yet."
        return f"the warehouse has no figures for council {la_code}; {held}"
    return (
        f"the warehouse's figures for council {la_code} run from {known['first_quarter']} to {known['last_quarter']}"
        f" (as at {date_text(known['as_at'])}), not {quarter_label}; " + (available or "none of them has counted case file audits.")
    )


# The marts' rows behind a report, for the (council, quarter) pairs in `wanted_quarters`: one
# query each however many councils are reported on (153 councils' reports asked each council
# alone, seven queries apiece).
_QUARTER_QUERIES = {
    "summary": "SELECT m.* FROM marts.mart_summary_year_to_date_by_quarter AS m JOIN wanted_quarters USING (la_code, quarter_label)",
    "overall": "SELECT m.* FROM marts.mart_overall_grades_year_to_date_by_quarter AS m JOIN wanted_quarters USING (la_code, quarter_label)"
    " ORDER BY m.la_code, m.grade_code",
    "areas": "SELECT m.* FROM marts.mart_subsection_grades_year_to_date_by_quarter AS m JOIN wanted_quarters USING (la_code, quarter_label)"
    " ORDER BY m.la_code, m.practice_area_sort_order, m.grade_code",
    "moderation": "SELECT m.* FROM marts.mart_moderation_changes_year_to_date_by_quarter AS m JOIN wanted_quarters USING (la_code, quarter_label)"
    " ORDER BY m.la_code, m.sort_order",
    # The practice developments of the quarter's financial year to date.
    "developments": "SELECT s.la_code, s.quarter_label, d.development_id, d.published_date, d.development_category, d.title"
    " FROM marts.fct_practice_development AS d"
    " JOIN marts.mart_summary_year_to_date_by_quarter AS s"
    " ON s.la_code = d.la_code AND d.fiscal_year = s.fiscal_year AND d.fiscal_quarter <= s.fiscal_quarter"
    " JOIN wanted_quarters AS w ON w.la_code = s.la_code AND w.quarter_label = s.quarter_label"
    " ORDER BY s.la_code, d.published_date, d.development_id",
}


@dataclass(frozen=True)
class QuarterRows:
    """Each report query's rows by (council, quarter), and the councils' names."""

    rows: dict[str, dict[tuple[str, str], list[dict]]]
    names: dict[str, str]

    def of(self, query: str, la_code: str, quarter_label: str) -> list[dict]:
        return self.rows[query].get((la_code, quarter_label), [])


def quarter_rows(connection: duckdb.DuckDBPyConnection, pairs: list[tuple[str, str]]) -> QuarterRows:
    """The rows behind the reports of these (council, quarter) pairs."""
    import pyarrow as pa

    wanted = pa.table({"la_code": [la_code for la_code, _ in pairs], "quarter_label": [quarter for _, quarter in pairs]})
    connection.register("wanted_quarters", wanted)
    try:
        rows: dict[str, dict[tuple[str, str], list[dict]]] = {}
        for name, sql in _QUARTER_QUERIES.items():
            grouped = rows.setdefault(name, {})
            for row in _rows(connection, sql, []):
                grouped.setdefault((row["la_code"], row["quarter_label"]), []).append(row)
    finally:
        connection.unregister("wanted_quarters")
    return QuarterRows(rows, council_names(connection, sorted({la_code for la_code, _ in pairs})))


def gather_figures(
    connection: duckdb.DuckDBPyConnection, la_code: str, period: str, prefetched: QuarterRows | None = None
) -> ReportFigures:
    """The report's figures for one council and quarter; `prefetched` holds its rows when many
    reports are written at once (quarter_rows)."""
    quarter_label = check_period(period)
    found = prefetched or quarter_rows(connection, [(la_code, quarter_label)])
    summaries = found.of("summary", la_code, quarter_label)
    if not summaries or summaries[0]["case_file_audits_completed"] == 0:
        raise ReportUnavailable(
            f"no report for council {la_code} in {quarter_label}: " + _why_no_report(connection, la_code, quarter_label, bool(summaries))
        )
    summary = summaries[0]
    overall_rows = found.of("overall", la_code, quarter_label)
    area_rows = found.of("areas", la_code, quarter_label)
    moderation_rows = found.of("moderation", la_code, quarter_label)
    development_rows = found.of("developments", la_code, quarter_label)

    def comparison(row: dict, base_prefix: str) -> GradeComparison:
        return GradeComparison(
            grade_code=row["grade_code"],
            grade_label=row["grade_label"],
            current=Proportion(row["year_to_date_count"], row["year_to_date_audits"]),
            previous=_proportion(row[f"{base_prefix}_count"], row[f"{base_prefix}_audits"]),
            change_percentage_points=row["change_percentage_points"],
        )

    areas: dict[str, PracticeArea] = {}
    for row in area_rows:
        area = areas.setdefault(row["practice_area_code"], PracticeArea(row["practice_area_code"], row["practice_area_name"], []))
        area.grades.append(comparison(row, "comparison_quarter"))

    return ReportFigures(
        la_code=la_code,
        fiscal_year=summary["fiscal_year"],
        fiscal_quarter=summary["fiscal_quarter"],
        quarter_label=quarter_label,
        period_start=summary["period_start_date"],
        period_end=summary["period_end_date"],
        figures_as_at=summary["figures_as_at"],
        audits=summary["case_file_audits_completed"],
        activities=summary["audit_activities"],
        first_completed=summary["first_completed_date"],
        last_completed=summary["last_completed_date"],
        good_or_requires_improvement=Proportion(summary["good_or_requires_improvement_count"], summary["case_file_audits_completed"]),
        good_or_better=Proportion(summary["good_or_better_count"], summary["case_file_audits_completed"]),
        inadequate=summary["inadequate_count"],
        audits_held_back=summary["audits_held_back"],
        audits_moderated=summary["audits_moderated"],
        targeted_audits=summary["targeted_audits"],
        targeted_children=summary["targeted_audit_children"],
        actions=Actions(
            as_at=summary["actions_as_at"],
            raised=summary["actions_raised"],
            completed=summary["actions_completed"],
            open=summary["actions_open"],
            overdue=summary["actions_overdue"],
            earlier_open=summary["earlier_actions_open"],
            earlier_overdue=summary["earlier_actions_overdue"],
        ),
        previous_fiscal_year=overall_rows[0]["previous_fiscal_year"],
        overall=[comparison(row, "previous_year") for row in overall_rows],
        comparison_quarter_label=area_rows[0]["comparison_quarter_label"],
        practice_areas=list(areas.values()),
        moderation=[
            ModerationChanges(
                code=row["grading_code"],
                name=row["grading_name"],
                moderated=row["gradings_moderated"],
                changed=row["grades_changed"],
                moderated_up=row["moderated_up"],
                moderated_down=row["moderated_down"],
            )
            for row in moderation_rows
        ],
        developments=[
            Development(row["development_id"], row["published_date"], row["development_category"], row["title"])
            for row in development_rows
        ],
        la_name=found.names.get(la_code),
    )
