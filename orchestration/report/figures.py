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


def council_name(connection: duckdb.DuckDBPyConnection, la_code: str) -> str | None:
    """The council's name in dim_local_authority; None for a code the seed lacks, or a warehouse
    built before councils had names."""
    has_dimension = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'dim_local_authority'"
    ).fetchall()[0][0]
    if not has_dimension:
        return None
    rows = connection.execute("SELECT la_name FROM marts.dim_local_authority WHERE la_code = ?", [la_code]).fetchall()
    return rows[0][0] if rows and rows[0][0] else None


def gather_figures(connection: duckdb.DuckDBPyConnection, la_code: str, period: str) -> ReportFigures:
    quarter_label = check_period(period)
    summaries = _rows(
        connection,
        "SELECT * FROM marts.mart_summary_year_to_date_by_quarter WHERE la_code = ? AND quarter_label = ?",
        [la_code, quarter_label],
    )
    if not summaries or summaries[0]["case_file_audits_completed"] == 0:
        raise ReportUnavailable(
            f"no report for council {la_code} in {quarter_label}: " + _why_no_report(connection, la_code, quarter_label, bool(summaries))
        )
    summary = summaries[0]
    overall_rows = _rows(
        connection,
        "SELECT * FROM marts.mart_overall_grades_year_to_date_by_quarter WHERE la_code = ? AND quarter_label = ? ORDER BY grade_code",
        [la_code, quarter_label],
    )
    area_rows = _rows(
        connection,
        "SELECT * FROM marts.mart_subsection_grades_year_to_date_by_quarter WHERE la_code = ? AND quarter_label = ?"
        " ORDER BY practice_area_sort_order, grade_code",
        [la_code, quarter_label],
    )
    moderation_rows = _rows(
        connection,
        "SELECT * FROM marts.mart_moderation_changes_year_to_date_by_quarter WHERE la_code = ? AND quarter_label = ? ORDER BY sort_order",
        [la_code, quarter_label],
    )
    development_rows = _rows(
        connection,
        "SELECT development_id, published_date, development_category, title FROM marts.fct_practice_development"
        " WHERE la_code = ? AND fiscal_year = ? AND fiscal_quarter <= ? ORDER BY published_date, development_id",
        [la_code, summary["fiscal_year"], summary["fiscal_quarter"]],
    )

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
        la_name=council_name(connection, la_code),
    )
