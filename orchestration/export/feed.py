"""`cfa export`: the figures a performance team sends beyond the council, disclosure-controlled.

For one council (or several summed: `--la 885,886`, or `--la all`) and one quarter, five CSV
files and a README, read from the published warehouse's marts:

    quarterly_summary.csv     the executive summary's headline figures
    overall_grades.csv        final overall grades of the quarter's counted case file audits
    practice_area_grades.csv  their final grades in each of the seven practice areas
    year_to_date.csv          overall grades, the financial year to date against the previous year
    equality_grades_year_to_date.csv
                              the year to date's overall and practice-area grades by the audited
                              child's age band, sex, ethnic group, disability and status

The equality breakdown is mart_equality_grades_year_to_date's, counted from the facts for the
quarters up to the one asked for (the mart holds the year to date as at the newest extract).
Its cells sit in several tables at once (a group's grades add up to the group, a characteristic's
groups add up to the year's grade counts, which year_to_date.csv shows, and to the year's audits),
so it is protected together with the other files: every relation between any of the files is
given to the solver.

Every figure goes through orchestration.export.disclosure: counts from 1 to 5 become `c`, more
are suppressed until none can be worked out from the totals, 0 stays 0, a percentage is shown
only where its count and its total are, and figures summed across councils are rounded to the
nearest 10 (their percentages computed from the rounded figures, so they reveal nothing more).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.export.disclosure import SUBTOTAL, TOTAL, DisclosureControl
from orchestration.safe_csv import write_rows
from orchestration.warehouse_db import has_table

QUARTER_LABEL = re.compile(r"^(?P<year>(?P<start>[0-9]{4})-[0-9]{2}) Q(?P<quarter>[1-4])$")
SUPPRESSED = "c"  # DfE: confidential
NOT_APPLICABLE = "z"  # DfE: not applicable (a percentage of nothing)
FILES = (
    "quarterly_summary.csv", "overall_grades.csv", "practice_area_grades.csv", "year_to_date.csv",
    "equality_grades_year_to_date.csv",
)
OVERALL = "overall"  # the equality breakdown's grading code for the overall grade
CHILD_COLUMNS = {  # fct_audit's column for each characteristic of dim_child_characteristic
    "age_band": "child_age_band", "sex": "child_sex", "ethnic_group": "child_ethnic_group",
    "disability": "child_disability", "child_status": "child_status",
}


class FeedError(Exception):
    """The feed cannot be written as asked; the message says why."""


@dataclass(frozen=True)
class Feed:
    folder: Path
    files: list[Path]
    councils: list[str]
    period: str
    suppressed: dict[str, int]  # file -> cells shown as c
    council_names: dict[str, str]  # la_code -> name, where dim_local_authority has it


def _fiscal_year(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def _councils(connection: duckdb.DuckDBPyConnection, la: str) -> list[str]:
    known = [code for (code,) in connection.execute("SELECT DISTINCT la_code FROM marts.mart_quarterly_summary ORDER BY 1").fetchall()]
    if la.strip().lower() == "all":
        if not known:
            raise FeedError("the warehouse holds no council's figures")
        return known
    asked = sorted({code.strip() for code in la.split(",") if code.strip()})
    bad = [code for code in asked if not re.fullmatch(r"[0-9]{3}", code)]
    if bad or not asked:
        raise FeedError(f"--la {la!r}: give a 3-digit DfE local authority code, several joined by commas, or 'all'")
    missing = [code for code in asked if code not in known]
    if missing:
        raise FeedError(
            f"the warehouse holds no figures for council {', '.join(missing)}; it holds {', '.join(known) or 'none'}"
        )
    return asked


class _Tables:
    """The feed's figures as disclosure-controlled cells, read from the marts."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, councils: list[str], period: str):
        match = QUARTER_LABEL.match(period)
        if not match:
            raise FeedError(f"--period {period!r}: give a quarter like 2022-23 Q2 (UK financial year and quarter)")
        self.connection = connection
        self.councils = councils
        self.period = period
        self.quarter = int(match["quarter"])
        self.year = match["year"]
        self.previous_year = _fiscal_year(int(match["start"]) - 1)
        self.control = DisclosureControl(rounded=len(councils) > 1)
        self.grades = connection.execute(
            "SELECT grade_code, grade_label, is_good_or_better FROM marts.dim_grade ORDER BY sort_order"
        ).fetchall()
        self.areas = connection.execute(
            "SELECT practice_area_code, practice_area_name FROM marts.dim_practice_area ORDER BY sort_order"
        ).fetchall()
        # The equality breakdown's gradings in the mart's order: Embracing Diversity, the overall
        # grade, then the other practice areas.
        self.gradings = sorted(
            [(OVERALL, "Overall grade"), *self.areas],
            key=lambda grading: (grading[0] != "embracing_diversity", grading[0] != OVERALL),
        )
        self.characteristics = connection.execute(
            """SELECT characteristic, characteristic_name, value_code, value_name FROM marts.dim_child_characteristic
               ORDER BY characteristic_order, value_order"""
        ).fetchall()
        self._check_period_exists()
        self._build()
        # Then the equality breakdown, tied to what is protected already: protecting again
        # re-checks every suppressed cell of every file against everything now shown.
        self._build_equality()
        self.control.protect(careful=False)

    def _sql(self, sql: str, params: list) -> list[tuple]:
        return self.connection.execute(sql, params).fetchall()

    def _check_period_exists(self) -> None:
        rows = self._sql(
            "SELECT count(*) FROM marts.mart_quarterly_summary WHERE la_code IN (SELECT unnest(?)) AND quarter_label = ?",
            [self.councils, self.period],
        )
        if rows[0][0] == 0:
            quarters = [q for (q,) in self._sql(
                "SELECT DISTINCT quarter_label FROM marts.mart_quarterly_summary WHERE la_code IN (SELECT unnest(?)) ORDER BY 1",
                [self.councils],
            )]
            raise FeedError(
                f"no figures for {', '.join(self.councils)} in {self.period}; quarters with figures: {', '.join(quarters) or 'none'}"
            )

    def _grade_counts(self, where: str, params: list) -> dict[int, int]:
        counts = dict(self._sql(
            f"""SELECT grade_code, sum(audit_count) FROM marts.mart_audit_grades_by_quarter
                WHERE la_code IN (SELECT unnest(?)) AND {where} GROUP BY grade_code""",
            [self.councils, *params],
        ))
        return {code: int(counts.get(code) or 0) for code, _, _ in self.grades}

    def _build(self) -> None:
        c = self.control
        # The quarter's overall grades, and their total: the audits completed.
        quarter = self._grade_counts("quarter_label = ?", [self.period])
        for code, _, _ in self.grades:
            c.add(f"quarter.grade.{code}", quarter[code])
        c.add("quarter.audits", sum(quarter.values()), total=TOTAL)
        c.relate({"quarter.audits": 1, **{f"quarter.grade.{code}": -1 for code, _, _ in self.grades}}, "the grades add up to the audits")

        summary = self._sql(
            """SELECT sum(case_file_audits_completed), sum(audit_activities), sum(targeted_audits),
                      sum(targeted_audit_children), sum(actions_raised), sum(actions_completed)
               FROM marts.mart_quarterly_summary WHERE la_code IN (SELECT unnest(?)) AND quarter_label = ?""",
            [self.councils, self.period],
        )[0]
        audits, activities, targeted, children, raised, completed = (int(value or 0) for value in summary)
        if audits != c.cells["quarter.audits"].value:
            raise FeedError(f"the marts disagree: mart_quarterly_summary has {audits} audits, the grades {c.cells['quarter.audits'].value}")
        c.add("summary.audit_activities", activities)
        c.relate({"summary.audit_activities": 1, "quarter.audits": -3}, "three pieces of activity per audit")
        good_or_better = [code for code, _, better in self.grades if better]
        middle = [code for code, label, _ in self.grades if label in ("Good", "Requires Improvement")]
        c.add("summary.good_or_better", sum(quarter[code] for code in good_or_better))
        c.relate({"summary.good_or_better": 1, **{f"quarter.grade.{code}": -1 for code in good_or_better}}, "good or better")
        c.add("summary.good_or_requires_improvement", sum(quarter[code] for code in middle))
        c.relate({"summary.good_or_requires_improvement": 1, **{f"quarter.grade.{code}": -1 for code in middle}}, "good or RI")
        for name, value in (("targeted_audits", targeted), ("targeted_audit_children", children),
                            ("actions_raised", raised), ("actions_completed", completed)):
            c.add(f"summary.{name}", value)

        # Practice areas: each area grades every counted audit once.
        areas = {
            (code, grade): int(count)
            for code, grade, count in self._sql(
                """SELECT practice_area_code, grade_code, sum(audit_count) FROM marts.mart_subsection_grades_by_quarter
                   WHERE la_code IN (SELECT unnest(?)) AND quarter_label = ? GROUP BY ALL""",
                [self.councils, self.period],
            )
        }
        for area, _ in self.areas:
            for code, _, _ in self.grades:
                c.add(f"area.{area}.{code}", areas.get((area, code), 0))
            c.relate(
                {"quarter.audits": 1, **{f"area.{area}.{code}": -1 for code, _, _ in self.grades}},
                f"every counted audit graded once in {area}",
            )

        # Year to date (this year's quarters up to this one) against the whole previous year.
        year = self._grade_counts("fiscal_year = ? AND fiscal_quarter <= ?", [self.year, self.quarter])
        previous = self._grade_counts("fiscal_year = ?", [self.previous_year])
        for code, _, _ in self.grades:
            c.add(f"year.grade.{code}", year[code])
            c.add(f"previous.grade.{code}", previous[code])
            # The quarters before this one: no file shows them, but in Q1 a reader knows they are none.
            c.add(f"earlier.grade.{code}", year[code] - quarter[code], published=False, known=self.quarter == 1)
            c.relate(
                {f"year.grade.{code}": 1, f"quarter.grade.{code}": -1, f"earlier.grade.{code}": -1},
                "the year to date is this quarter and the ones before",
            )
        c.add("year.audits", sum(year.values()), total=TOTAL)
        c.relate({"year.audits": 1, **{f"year.grade.{code}": -1 for code, _, _ in self.grades}}, "the year's grades add up")
        c.add("previous.audits", sum(previous.values()), total=TOTAL)
        c.relate({"previous.audits": 1, **{f"previous.grade.{code}": -1 for code, _, _ in self.grades}}, "the previous year's grades add up")

        c.protect()

    def _build_equality(self) -> None:
        """The year to date's grades by the audited child's characteristics: a cell per
        characteristic, group, grading and grade, the group's audits, and the year's grades in
        each grading (the All children row: for the overall grade, year_to_date.csv's)."""
        c = self.control
        unpivoted = " UNION ALL ".join(
            f"SELECT audit_key, '{name}' AS characteristic, coalesce({column}, 'not_recorded') AS value_code FROM audits"
            for name, column in CHILD_COLUMNS.items()
        )
        audits = f"""audits AS (
                SELECT * FROM marts.fct_audit
                WHERE is_counted AND la_code IN (SELECT unnest(?)) AND fiscal_year = ? AND fiscal_quarter <= ?
            ), grades AS (
                SELECT audit_key, '{OVERALL}' AS grading_code, final_overall_grade_code AS grade_code FROM audits
                UNION ALL
                SELECT audit_key, practice_area_code, grade_code FROM marts.fct_subsection_grade
                WHERE is_counted AND audit_key IN (SELECT audit_key FROM audits)
            ), characteristics AS ({unpivoted})"""
        params = [self.councils, self.year, self.quarter]
        counts = {
            (characteristic, value, grading, grade): int(count)
            for characteristic, value, grading, grade, count in self._sql(
                f"""WITH {audits} SELECT characteristic, value_code, grading_code, grade_code, count(*)
                    FROM characteristics JOIN grades USING (audit_key) GROUP BY ALL""",
                params,
            )
        }
        groups = {
            (characteristic, value): int(count)
            for characteristic, value, count in self._sql(
                f"WITH {audits} SELECT characteristic, value_code, count(*) FROM characteristics GROUP BY ALL", params
            )
        }
        in_year = {
            (grading, grade): int(count)
            for grading, grade, count in self._sql(f"WITH {audits} SELECT grading_code, grade_code, count(*) FROM grades GROUP BY ALL", params)
        }
        unknown = sorted(set(groups) - {(characteristic, value) for characteristic, _, value, _ in self.characteristics})
        if unknown:
            raise FeedError(f"fct_audit holds characteristics dim_child_characteristic does not: {unknown}")

        grade_codes = [code for code, _, _ in self.grades]
        # The year's grades in each grading, the breakdown's column totals. A practice area's are
        # this quarter's (practice_area_grades.csv) and the earlier quarters' (no file shows them,
        # but in Q1 a reader knows they are none); the earlier quarters grade in each area as many
        # audits as they hold.
        for grade in grade_codes:
            c.cells[f"year.grade.{grade}"].total = SUBTOTAL
        for area, _ in self.areas:
            for grade in grade_codes:
                c.add(f"year.area.{area}.{grade}", in_year.get((area, grade), 0), total=SUBTOTAL)
                c.add(
                    f"earlier.area.{area}.{grade}", in_year.get((area, grade), 0) - c.cells[f"area.{area}.{grade}"].value,
                    published=False, known=self.quarter == 1,
                )
                c.relate(
                    {f"year.area.{area}.{grade}": 1, f"area.{area}.{grade}": -1, f"earlier.area.{area}.{grade}": -1},
                    f"the year to date in {area} is this quarter and the ones before",
                )
            c.relate({"year.audits": 1, **{f"year.area.{area}.{grade}": -1 for grade in grade_codes}}, f"the year's audits graded once in {area}")
            c.relate(
                {**{f"earlier.area.{area}.{grade}": 1 for grade in grade_codes}, **{f"earlier.grade.{grade}": -1 for grade in grade_codes}},
                f"the earlier quarters' audits graded once in {area}",
            )

        by_characteristic: dict[str, list[str]] = {}
        for characteristic, _, value, _ in self.characteristics:
            by_characteristic.setdefault(characteristic, []).append(value)
            group = c.add(f"equality.{characteristic}.{value}.audits", groups.get((characteristic, value), 0), total=SUBTOTAL)
            for grading, _ in self.gradings:
                cells = [
                    c.add(f"equality.{characteristic}.{value}.{grading}.{grade}", counts.get((characteristic, value, grading, grade), 0))
                    for grade in grade_codes
                ]
                c.relate({group: 1, **{cell: -1 for cell in cells}}, f"the grades of {characteristic} {value} add up to its audits")
        for characteristic, values in by_characteristic.items():
            c.relate(
                {"year.audits": 1, **{f"equality.{characteristic}.{value}.audits": -1 for value in values}},
                f"the {characteristic} groups add up to the year's audits",
            )
            for grading, _ in self.gradings:
                for grade in grade_codes:
                    c.relate(
                        {self.year_grade(grading, grade): 1,
                         **{f"equality.{characteristic}.{value}.{grading}.{grade}": -1 for value in values}},
                        f"the {characteristic} groups add up to the year's grades in {grading}",
                    )

    @staticmethod
    def year_grade(grading: str, grade: int) -> str:
        """The cell of the year's count of a grade, overall or in a practice area."""
        return f"year.grade.{grade}" if grading == OVERALL else f"year.area.{grading}.{grade}"

    # -- rendering ----------------------------------------------------------------------------

    def count(self, key: str) -> int | str:
        shown = self.control.shown(key)
        return SUPPRESSED if shown is None else shown

    def percent(self, key: str, total: str) -> float | str:
        """A percentage to one decimal place, shown only where its count and its total are."""
        count, whole = self.control.shown(key), self.control.shown(total)
        if count is None or whole is None:
            return SUPPRESSED
        if whole == 0:
            return NOT_APPLICABLE
        return round(100 * count / whole, 1)

    def change(self, key: str, total: str, base_key: str, base_total: str) -> float | str:
        now, then = self.percent(key, total), self.percent(base_key, base_total)
        if SUPPRESSED in (now, then):
            return SUPPRESSED
        if NOT_APPLICABLE in (now, then):
            return NOT_APPLICABLE
        count, whole = self.control.shown(key), self.control.shown(total)
        base_count, base_whole = self.control.shown(base_key), self.control.shown(base_total)
        return round(100 * (count / whole - base_count / base_whole), 1)


def _geography(councils: list[str]) -> tuple[str, str]:
    if len(councils) == 1:
        return "Local authority", councils[0]
    return f"{len(councils)} local authorities combined", ";".join(councils)


def write_feed(warehouse: Path, la: str, period: str, out: Path) -> Feed:
    """Write the feed's files and README into `out`; nothing is written if a check fails."""
    if not warehouse.exists():
        raise FeedError(f"no published warehouse at {warehouse}: run `cfa run` first, or give --warehouse")
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        councils = _councils(connection, la)
        tables = _Tables(connection, councils, period)
        as_at = connection.execute(
            "SELECT la_code, figures_as_at, published_at FROM ops.build_info WHERE la_code IN (SELECT unnest(?)) ORDER BY 1",
            [councils],
        ).fetchall()
        names = council_names(connection, councils)
    level, codes = _geography(councils)
    inadequate = next(code for code, label, _ in tables.grades if label == "Inadequate")
    front = [period, level, codes]
    front_header = ["time_period", "geographic_level", "la_code"]
    rows: dict[str, tuple[list[str], list[list[object]]]] = {}

    summary_rows = [
        ("case_file_audits_completed", "Case file audits completed (counted: the record is whole)", "quarter.audits", None),
        ("audit_activities", "Pieces of audit activity: audit, peer review and moderation", "summary.audit_activities", None),
        ("good_or_better", "Audits graded Outstanding or Good", "summary.good_or_better", "quarter.audits"),
        ("good_or_requires_improvement", "Audits graded Good or Requires Improvement", "summary.good_or_requires_improvement", "quarter.audits"),
        ("inadequate", "Audits graded Inadequate", f"quarter.grade.{inadequate}", "quarter.audits"),
        ("targeted_audits", "Targeted audits with a child's record completed in the quarter", "summary.targeted_audits", None),
        ("targeted_audit_children", "Children's records completed in targeted audits", "summary.targeted_audit_children", None),
        ("actions_raised", "Actions raised (cancelled ones excluded)", "summary.actions_raised", None),
        ("actions_completed", "Actions completed", "summary.actions_completed", None),
    ]
    rows["quarterly_summary.csv"] = (
        [*front_header, "measure", "description", "value", "percent_of_audits"],
        [
            [*front, measure, description, tables.count(key), tables.percent(key, total) if total else NOT_APPLICABLE]
            for measure, description, key, total in summary_rows
        ],
    )
    rows["overall_grades.csv"] = (
        [*front_header, "grade", "audits", "percent"],
        [[*front, label, tables.count(f"quarter.grade.{code}"), tables.percent(f"quarter.grade.{code}", "quarter.audits")]
         for code, label, _ in tables.grades]
        + [[*front, "Total", tables.count("quarter.audits"), tables.percent("quarter.audits", "quarter.audits")]],
    )
    rows["practice_area_grades.csv"] = (
        [*front_header, "practice_area", "grade", "audits", "percent"],
        [
            [*front, name, label, tables.count(f"area.{area}.{code}"), tables.percent(f"area.{area}.{code}", "quarter.audits")]
            for area, name in tables.areas
            for code, label, _ in tables.grades
        ]
        + [[*front, name, "Total", tables.count("quarter.audits"), tables.percent("quarter.audits", "quarter.audits")]
           for _, name in tables.areas],
    )
    year_period = f"{tables.year} Q1" + (f" to Q{tables.quarter}" if tables.quarter > 1 else "")
    rows["year_to_date.csv"] = (
        ["time_period", "comparison_period", "geographic_level", "la_code", "grade",
         "year_to_date_audits", "year_to_date_percent", "previous_year_audits", "previous_year_percent", "change_percentage_points"],
        [
            [year_period, tables.previous_year, level, codes, label,
             tables.count(f"year.grade.{code}"), tables.percent(f"year.grade.{code}", "year.audits"),
             tables.count(f"previous.grade.{code}"), tables.percent(f"previous.grade.{code}", "previous.audits"),
             tables.change(f"year.grade.{code}", "year.audits", f"previous.grade.{code}", "previous.audits")]
            for code, label, _ in tables.grades
        ]
        + [[year_period, tables.previous_year, level, codes, "Total",
            tables.count("year.audits"), tables.percent("year.audits", "year.audits"),
            tables.count("previous.audits"), tables.percent("previous.audits", "previous.audits"), NOT_APPLICABLE]],
    )

    rows["equality_grades_year_to_date.csv"] = (
        ["time_period", "geographic_level", "la_code", "characteristic", "group", "grading", "grade",
         "audits", "percent_of_group"],
        [
            [year_period, level, codes, characteristic_name, value_name, grading_name, label,
             tables.count(cell), tables.percent(cell, group)]
            for characteristic, characteristic_name, value, value_name in [("all", "All children", None, "All children"), *tables.characteristics]
            for grading, grading_name in tables.gradings
            for group in [f"equality.{characteristic}.{value}.audits" if value else "year.audits"]
            for cell, label in [
                *(
                    (f"equality.{characteristic}.{value}.{grading}.{code}" if value else tables.year_grade(grading, code), label)
                    for code, label, _ in tables.grades
                ),
                (group, "Total"),
            ]
        ],
    )

    out.mkdir(parents=True, exist_ok=True)
    written, suppressed = [], {}
    for name, (header, body) in rows.items():
        path = out / name
        write_rows(path, header, body)
        written.append(path)
        suppressed[name] = sum(1 for row in body for value in row if value == SUPPRESSED)
    readme = out / "README.md"
    readme.write_text(_readme(tables, councils, names, as_at, suppressed), encoding="utf-8")
    written.append(readme)
    return Feed(out, written, councils, period, suppressed, names)


def council_names(connection: duckdb.DuckDBPyConnection, councils: list[str]) -> dict[str, str]:
    """la_code -> the council's name in dim_local_authority, for the codes it knows."""
    if not has_table(connection, "marts", "dim_local_authority"):
        return {}
    return dict(connection.execute(
        "SELECT la_code, la_name FROM marts.dim_local_authority WHERE la_code IN (SELECT unnest(?)) AND la_name IS NOT NULL",
        [councils],
    ).fetchall())


def _readme(tables: _Tables, councils: list[str], names: dict[str, str], as_at: list[tuple], suppressed: dict[str, int]) -> str:
    rounded = tables.control.rounded
    figures_as_at = "; ".join(f"{code}: {date}" for code, date, _ in as_at) or "not recorded"
    published = max((when for _, _, when in as_at), default=None)
    named = [f"{names[code]} ({code})" if code in names else code for code in councils]
    title = f"{named[0]}, " if len(councils) == 1 else ""
    lines = [
        f"# Case file audit figures, {title}{tables.period}",
        "",
        ("Council: " if len(councils) == 1 else "Councils: ") + ", ".join(named)
        + (" (figures summed across them)" if rounded else "") + ".",
        f"Figures as at (the newest extract each council delivered): {figures_as_at}.",
        f"From the warehouse published {published} UTC; written {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC by `cfa export`.",
        "",
        "## Files",
        "",
        "- `quarterly_summary.csv`: the quarter's headline figures.",
        "- `overall_grades.csv`: final (moderated) overall grades of the quarter's counted case file audits.",
        "- `practice_area_grades.csv`: their final grades in each of the seven practice areas.",
        f"- `year_to_date.csv`: overall grades for {tables.year} to date against the whole of {tables.previous_year}.",
        f"- `equality_grades_year_to_date.csv`: {tables.year} to date, the overall grade and each practice area's",
        "  grade (Embracing Diversity first) by the audited child's age band (at the audit), sex, ethnic group",
        "  (the DfE's major groups), disability and status at the audit. `Not recorded` counts the audits whose",
        "  extract did not carry the characteristic; `percent_of_group` is of the group's audits (its Total row);",
        "  the All children rows are the year's figures. Small groups mean many `c`: read it beside",
        "  `year_to_date.csv`, and compare shares only between groups whose figures are shown.",
        "",
        "CSV files are UTF-8 with a byte-order mark (Excel opens them as they are), every field quoted.",
        "",
        "## Symbols",
        "",
        "- `c`: suppressed to protect confidentiality (see below).",
        "- `z`: not applicable (a percentage of no audits, or a change between totals).",
        "- `0`: a true zero. Zeros are never suppressed.",
        "",
        "## What was suppressed, and why",
        "",
        "These figures follow the convention of the Department for Education's published children's",
        "social care statistics, so that no child can be identified from them:",
        "",
        "1. Every count from 1 to 5 is shown as `c`.",
        "2. Further counts are shown as `c` wherever a suppressed count could otherwise be worked out",
        "   from the figures shown and the totals that tie them together (secondary suppression).",
        "3. A percentage is shown only where both its count and its total are; a change in",
        "   percentage points only where both its percentages are.",
    ]
    if rounded:
        lines += [
            "4. These figures are summed across councils and rounded to the nearest 10 (after step 1);",
            "   percentages are computed from the rounded figures.",
        ]
    lines += [
        "",
        "Cells suppressed in each file:",
        "",
        *[f"- `{name}`: {count}" for name, count in suppressed.items()],
        "",
        "How the tables tie together (and so what was checked): the grades in `overall_grades.csv` add",
        "up to its Total, which is the quarter's `case_file_audits_completed`; `audit_activities` is three",
        "per audit; `good_or_better` is Outstanding plus Good, `good_or_requires_improvement` Good plus",
        "Requires Improvement, `inadequate` the Inadequate row; in `practice_area_grades.csv` each practice",
        "area's grades add up to the same Total; in `year_to_date.csv` each column's grades add up to its",
        "Total, and the year to date is this quarter plus the year's earlier quarters. In",
        "`equality_grades_year_to_date.csv` a group's grades add up to its Total (the same Total in every",
        "grading), and each characteristic's groups add up to the All children rows: their Total is the",
        "year to date's audits, their overall grades are `year_to_date.csv`'s, their grades in a practice",
        "area are this quarter's (`practice_area_grades.csv`) plus the earlier quarters'. A count sits in",
        "several of these at once, so secondary suppression covers all of them together. Before writing,",
        "every suppressed cell was checked: given all of these, across all the files, it can still take",
        "more than one value.",
        "",
        "Each feed is protected on its own. Do not publish figures from this feed next to unsuppressed",
        "figures for the same councils and periods, or next to an earlier feed's figures for the same year:",
        "the difference between two years to date is a quarter's figures.",
        "",
    ]
    return "\n".join(lines)
