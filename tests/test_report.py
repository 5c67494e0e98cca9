"""The quarterly executive summary (`cfa report`, and the nightly job's asset after publishing).

Every figure on the page is read back from the HTML and checked against the published marts;
the sample's 2022-23 Q2 report gives the seed report's figures; the page renders in headless
Chromium without a console message; a council or quarter without audits is a clear refusal.
The sample's report is the one the shared `sample_run` wrote: no extra Dagster run.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from orchestration.report.stats import (
    Proportion,
    difference_interval,
    largest_remainder_percentages,
    wilson_interval,
    within_chance,
)
from orchestration.settings import REPO_ROOT

LA_CODE = "885"
PERIOD = "2022-23 Q2"
SIX_AREAS = [
    "voice_of_child", "quality_of_plans", "management_oversight", "partnership_working",
    "strengths_based_practice", "embracing_diversity",
]
# Kept after the run for a person to look at (git-ignored).
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
]


# ---------------------------------------------------------------------------------------------
# Reading the page
# ---------------------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
BLOCKS = {"p", "li", "td", "th", "caption", "h1", "h2", "h3", "figcaption"}
HIDDEN = {"head", "style", "script", "svg", "title"}


class ReportPage(HTMLParser):
    """The figures of the page (data-figure spans) with the block each stands in, the practice
    areas each narrative span names, the text outside any figure, and the whole visible text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.figures: list[dict] = []
        self.narratives: dict[str, list[str]] = {}
        self.loose_text: list[str] = []
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self._blocks = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag in VOID:
            return
        if tag in BLOCKS:
            self._blocks += 1
            attributes = {**attributes, "_block": self._blocks}
        if "data-figure" in attributes:
            block = next((a["_block"] for _, a in reversed(self.stack) if "_block" in a), None)
            self.figures.append({"key": attributes["data-figure"], "kind": attributes["data-kind"], "text": "", "block": block})
            attributes = {**attributes, "_figure": len(self.figures) - 1}
        if "data-practice-area" in attributes:
            for _, outer in self.stack:
                if "data-narrative" in outer:
                    self.narratives.setdefault(outer["data-narrative"], []).append(attributes["data-practice-area"])
        if "data-narrative" in attributes:
            self.narratives.setdefault(attributes["data-narrative"], [])
        self.stack.append((tag, attributes))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        if any(tag in HIDDEN for tag, _ in self.stack):
            return
        self.text.append(data)
        figure = next((a["_figure"] for _, a in reversed(self.stack) if "_figure" in a), None)
        if figure is None:
            self.loose_text.append(data)
        else:
            self.figures[figure]["text"] += data

    @property
    def plain_text(self) -> str:
        return " ".join("".join(self.text).split())


# ---------------------------------------------------------------------------------------------
# What the marts say each figure is
# ---------------------------------------------------------------------------------------------


def _rows(connection, sql: str, params: list) -> list[dict]:
    relation = connection.execute(sql, params)
    columns = [c[0] for c in relation.description]
    return [dict(zip(columns, row)) for row in relation.fetchall()]


def expected_figures(warehouse: Path, la_code: str, quarter: str) -> dict[str, tuple[str, object]]:
    """Every figure the report for this council and quarter should show, keyed as the page
    keys them, straight from the marts."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        [s] = _rows(connection, "SELECT * FROM marts.mart_summary_year_to_date_by_quarter WHERE la_code = ? AND quarter_label = ?", [la_code, quarter])
        overall = _rows(connection, "SELECT * FROM marts.mart_overall_grades_year_to_date_by_quarter WHERE la_code = ? AND quarter_label = ? ORDER BY grade_code", [la_code, quarter])
        areas = _rows(connection, "SELECT * FROM marts.mart_subsection_grades_year_to_date_by_quarter WHERE la_code = ? AND quarter_label = ? ORDER BY practice_area_sort_order, grade_code", [la_code, quarter])
        moderation = _rows(connection, "SELECT * FROM marts.mart_moderation_changes_year_to_date_by_quarter WHERE la_code = ? AND quarter_label = ?", [la_code, quarter])
        developments = _rows(
            connection,
            "SELECT * FROM marts.fct_practice_development WHERE la_code = ? AND fiscal_year = ? AND fiscal_quarter <= ?",
            [la_code, s["fiscal_year"], s["fiscal_quarter"]],
        )
    audits = s["case_file_audits_completed"]
    e: dict[str, tuple[str, object]] = {
        "council": ("text", la_code),
        "fiscal_year": ("text", s["fiscal_year"]),
        "period_end": ("month", s["period_end_date"]),
        "figures_as_at": ("date", s["figures_as_at"]),
        "audits": ("count", audits),
        "activities": ("count", s["audit_activities"]),
        "good_or_ri.count": ("count", s["good_or_requires_improvement_count"]),
        "good_or_ri.share": ("share", s["good_or_requires_improvement_share"]),
        "good_or_ri.interval": ("interval", (s["good_or_requires_improvement_count"], audits)),
        "inadequate": ("count", s["inadequate_count"]),
        "targeted_audits": ("count", s["targeted_audits"]),
        "targeted_children": ("count", s["targeted_audit_children"]),
        "actions.as_at": ("date", s["actions_as_at"]),
        "actions.raised": ("count", s["actions_raised"]),
        "actions.completed": ("count", s["actions_completed"]),
        "actions.open": ("count", s["actions_open"]),
        "actions.overdue": ("count", s["actions_overdue"]),
        "actions.earlier_open": ("count", s["earlier_actions_open"]),
        "actions.earlier_overdue": ("count", s["earlier_actions_overdue"]),
        "actions.completion.share": ("share", s["actions_completion_rate"]),
        "actions.completion.interval": ("interval", (s["actions_completed"], s["actions_raised"])),
        "moderated.count": ("count", s["audits_moderated"]),
        "moderated.base": ("count", audits + s["audits_held_back"]),
        "moderated.share": ("share", s["audits_moderated"] / (audits + s["audits_held_back"])),
        "moderated.interval": ("interval", (s["audits_moderated"], audits + s["audits_held_back"])),
        "overall.current.base": ("count", audits),
        "previous_fiscal_year": ("text", overall[0]["previous_fiscal_year"]),
    }
    if s["fiscal_quarter"] < 4:
        e["fiscal_quarter"] = ("text", f"Q{s['fiscal_quarter']}")
    if s["period_start_date"].year != s["period_end_date"].year:
        e["period_start"] = ("month", s["period_start_date"])
    first, last = s["first_completed_date"], s["last_completed_date"]
    if (first.year, first.month) == (last.year, last.month):
        e["first_completed"] = ("month", first)
    else:
        e["last_completed"] = ("month", last)
        if first.year != last.year:
            e["first_completed"] = ("month", first)
    if s["audit_activities"] == 3 * audits:
        e["activities_per_audit"] = ("count", 3)
    if s["audits_held_back"]:
        e["held_back"] = ("count", s["audits_held_back"])

    def grades(prefix: str, rows: list[dict], base_prefix: str, with_change, with_share) -> None:
        for period, columns in (("current", ("year_to_date_count", "year_to_date_audits", "year_to_date_share")),
                                ("previous", (f"{base_prefix}_count", f"{base_prefix}_audits", f"{base_prefix}_share"))):
            if rows[0][columns[1]] is None:
                continue
            percents = largest_remainder_percentages([r[columns[0]] for r in rows])
            for row, percent in zip(rows, percents):
                key = f"{prefix}.{row['grade_code']}.{period}"
                e[f"{key}.count"] = ("count", row[columns[0]])
                e[f"{key}.percent"] = ("percent", percent)
                if with_share(row):
                    e[f"{key}.share"] = ("share", row[columns[2]])
                e[f"{key}.interval"] = ("interval", (row[columns[0]], row[columns[1]]))
        for row in rows:
            if row["change_percentage_points"] is not None and with_change(row):
                e[f"{prefix}.{row['grade_code']}.change"] = ("change", row["change_percentage_points"])

    grades("overall", overall, "previous_year", lambda row: True, lambda row: True)
    if overall[0]["previous_year_audits"] is not None:
        e["overall.previous.base"] = ("count", overall[0]["previous_year_audits"])
    percents = dict(zip([r["grade_label"] for r in overall], largest_remainder_percentages([r["year_to_date_count"] for r in overall])))
    e["note.good_percent"] = ("percent", percents["Good"])
    e["note.requires_improvement_percent"] = ("percent", percents["Requires Improvement"])
    e["note.rounded_sum"] = ("percent", percents["Good"] + percents["Requires Improvement"])

    e["comparison_quarter"] = ("text", areas[0]["comparison_quarter_label"])
    for code in dict.fromkeys(r["practice_area_code"] for r in areas):
        area_rows = [r for r in areas if r["practice_area_code"] == code]
        # The table of all grades gives counts and whole percentages; Good's exact shares are in
        # the table comparing Good with the previous Q4, when there is one.
        compared = areas[0]["comparison_quarter_audits"] is not None
        is_good = lambda row: row["grade_label"] == "Good"  # noqa: E731
        grades(f"areas.{code}", area_rows, "comparison_quarter", is_good, lambda row: compared and is_good(row))
    if areas[0]["comparison_quarter_audits"] is not None:
        e["areas.current.base"] = ("count", audits)
        e["areas.previous.base"] = ("count", areas[0]["comparison_quarter_audits"])

    for row in moderation:
        key = f"moderation.{row['grading_code']}"
        e.update({
            f"{key}.moderated": ("count", row["gradings_moderated"]), f"{key}.changed": ("count", row["grades_changed"]),
            f"{key}.up": ("count", row["moderated_up"]), f"{key}.down": ("count", row["moderated_down"]),
            f"{key}.share": ("share", row["changed_share"]), f"{key}.interval": ("interval", (row["grades_changed"], row["gradings_moderated"])),
        })
    area_rows = [r for r in moderation if r["grading_code"] != "overall"]
    moderated, changed = sum(r["gradings_moderated"] for r in area_rows), sum(r["grades_changed"] for r in area_rows)
    e.update({
        "moderation.practice_areas.moderated": ("count", moderated), "moderation.practice_areas.changed": ("count", changed),
        "moderation.practice_areas.up": ("count", sum(r["moderated_up"] for r in area_rows)),
        "moderation.practice_areas.down": ("count", sum(r["moderated_down"] for r in area_rows)),
        "moderation.practice_areas.share": ("share", changed / moderated),
        "moderation.practice_areas.interval": ("interval", (changed, moderated)),
    })

    if developments:
        e["developments.count"] = ("count", len(developments))
    for category in {d["development_category"] for d in developments}:
        e[f"developments.{category}.count"] = ("count", sum(d["development_category"] == category for d in developments))
    for d in developments:
        e[f"development.{d['development_id']}.title"] = ("text", d["title"])
        e[f"development.{d['development_id']}.date"] = ("date", d["published_date"])
    return e


def _half_up(value: float, places: int) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def shown_as(kind: str, text: str, value: object) -> bool:
    """Whether the page's text is the mart's value, as a figure of that kind is written."""
    if kind == "count":
        return int(text.replace(",", "")) == value
    if kind == "percent":
        return text == f"{value}%"
    if kind == "share":
        return text.endswith("%") and Decimal(text[:-1]) == _half_up(100 * value, 1)
    if kind == "interval":
        low, high = (int(n) for n in re.fullmatch(r"(\d+)%?(?: to |\u2013)(\d+)%", text).groups())
        exact_low, exact_high = wilson_interval(*value)
        return (low, high) == (_half_up(100 * exact_low, 0), _half_up(100 * exact_high, 0))
    if kind == "change":
        return Decimal(text.replace("\u2212", "-")) == _half_up(value, 1)
    if kind == "date":
        return text == f"{value.day} {value:%B %Y}"
    if kind == "month":
        return text == f"{value:%B %Y}"
    return text == value


def check_every_figure(page: ReportPage, expected: dict[str, tuple[str, object]]) -> None:
    wrong = [
        (f["key"], f["text"], expected.get(f["key"]))
        for f in page.figures
        if f["key"] not in expected or expected[f["key"]][0] != f["kind"] or not shown_as(f["kind"], f["text"], expected[f["key"]][1])
    ]
    assert wrong == [], f"figures on the page that are not the marts': {wrong[:10]}"
    assert set(expected) - {f["key"] for f in page.figures} == set(), "figures of the marts missing from the page"
    # Every share and percentage carries its 95% interval, in the same sentence or cell.
    intervals = {(f["key"], f["block"]) for f in page.figures if f["kind"] == "interval"}
    for f in page.figures:
        if f["kind"] in ("share", "percent") and not f["key"].startswith("note."):
            assert (f["key"].rsplit(".", 1)[0] + ".interval", f["block"]) in intervals, f["key"]
    # No number on the page but the figures (and the method's constants: 95% intervals, percentages adding up to 100).
    loose = re.sub(r"95% intervals?|add up to 100 ", "", " ".join(page.loose_text))
    assert not re.search(r"\d", loose), re.findall(r".{30}\d.{30}", loose)[:5]


@pytest.fixture(scope="module")
def sample_report(sample_run) -> Path:
    """The report the nightly job's asset wrote after publishing the sample."""
    assert sample_run.exit_code == 0, sample_run.output
    path = sample_run.paths.warehouse.parent / "reports" / f"executive-summary-{LA_CODE}-2022-23-Q2.html"
    assert f"Executive summary: {path}" in sample_run.output
    return path


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------


def test_every_figure_on_the_page_is_the_marts_for_any_quarter(sample_run, sample_report, tmp_path):
    from orchestration.report import write_report

    page = ReportPage(sample_report.read_text(encoding="utf-8"))
    check_every_figure(page, expected_figures(sample_run.paths.warehouse, LA_CODE, PERIOD))
    assert len(page.figures) > 300
    # Other quarters: one where a change is beyond chance, one with nothing to compare with.
    for period, says in [
        ("2022-23 Q1", "the increase in Management Oversight is larger than chance alone would give"),
        ("2021-22 Q1", "There are no counted case file audits from 2020-21 to compare with."),
    ]:
        path = write_report(sample_run.paths.warehouse, LA_CODE, period, tmp_path / f"{period}.html")
        other = ReportPage(path.read_text(encoding="utf-8"))
        check_every_figure(other, expected_figures(sample_run.paths.warehouse, LA_CODE, period))
        assert says in other.plain_text
    # Each change the narrative names goes the way it says.
    for text in (page.plain_text, other.plain_text):
        for direction, grade, sign in re.findall(r"(an increase|a reduction) in ([A-Za-z ]+?) \(([+\u2212])[\d.]+ percentage points\)", text):
            assert (direction == "an increase") == (sign == "+"), (direction, grade)


def test_the_sample_report_gives_the_seed_reports_figures(sample_report):
    html = sample_report.read_text(encoding="utf-8")
    page = ReportPage(html)
    text = page.plain_text
    for seed_figure in [
        "our case file audit programme has completed 22 case file audits between June and July 2022",
        "each case file audit includes 3 pieces of audit activity, 66 individual pieces of auditing activity in all",
        "We also undertook 14 targeted audits on specific areas of practice, auditing 258 children's experiences",
        "The majority of case work was graded Good or Requires Improvement: 21 of 22 audits, 95.5%",
        "9 were judged Good: 41%",
        "1 case had an overall judgement of Inadequate",
        "we see an increase in Good (+2.8 percentage points), a reduction in Requires Improvement (\u22122.2 percentage points)",
        "Every case file audit completed in the year to date was moderated: 22 of 22, 100.0%",
        # The honest footnote: from the counts, not the rounded parts the seed added up to 96%.
        "computed from the counts (21 of 22, 95.5% (95% interval 78% to 99%)), not by adding the rounded percentages "
        "(41% Good and 55% Requires Improvement make 96%)",
        "With 22 audits against 236, every one of these changes is within what chance alone could give",
        "Learning from Practice: Social Care & Safeguarding End-to-End Leadership Event (14 July 2022)",
    ]:
        assert seed_figure in text, seed_figure
    assert (
        "we see an increase in Good judgements in Voice of the Child, Quality of Plans, Management Oversight, "
        "Partnership Working, Strengths-Based Practice and Embracing Diversity, and a reduction in Assessment and Analysis."
    ) in text
    assert page.narratives == {"good-increase": SIX_AREAS, "good-reduction": ["assessment_analysis"]}
    assert "With 22 audits against 64, every one of these changes is within what chance alone could give" in text
    categories = {f["key"]: f["text"] for f in page.figures if re.fullmatch(r"developments\.\w+\.count", f["key"])}
    assert categories == {
        "developments.briefing.count": "5", "developments.newsletter.count": "3", "developments.presentation.count": "1",
        "developments.practice_guidance.count": "6", "developments.system_change.count": "5",
    }
    # One self-contained file: inline SVG charts (no script, nothing fetched), a table beside each.
    assert [t for t, _ in page.tags if t in ("script", "link", "img", "iframe", "object")] == []
    assert not [a for _, a in page.tags if any(k in ("src", "href") for k in a)]
    charts = re.findall(r'<div class="chart-and-table">\s*<figure class="chart"><svg role="img" aria-label="[^"]+"', html)
    assert len(charts) == 3 and html.count("<svg") == 3
    assert html.count('<div class="chart-and-table">') == 3
    for block in html.split('<div class="chart-and-table">')[1:]:
        assert block.index("<table") < block.index("</div>\n  </div>"), "a chart without its table"
    assert [t for t, _ in page.tags if t in ("h1", "h2")][:7] == ["h1", "h2", "h2", "h2", "h2", "h2", "h2"]
    assert "@page { size: A4" in html
    # The council by its name in dim_local_authority, its code beside it.
    assert "Worcestershire (local authority 885)" in text and "Local authority 885" not in text
    assert "<title>Case file audits: executive summary, Worcestershire, 2022-23 Q2</title>" in html


def test_cfa_report_writes_the_same_page_and_an_a4_pdf(sample_run, sample_report, tmp_path, capsys):
    import pypdf

    from orchestration import cli

    warehouse = str(sample_run.paths.warehouse)
    out = tmp_path / "summary.html"
    assert cli.main(["report", "--la", LA_CODE, "--period", PERIOD, "--warehouse", warehouse, "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_bytes() == sample_report.read_bytes()  # the asset's report: same marts, same page

    pdf_path = tmp_path / "summary.pdf"
    assert cli.main(["report", "--la", LA_CODE, "--period", PERIOD, "--warehouse", warehouse, "--out", str(pdf_path), "--format", "pdf"]) == 0
    pdf = pypdf.PdfReader(pdf_path)
    assert len(pdf.pages) >= 3
    for page in pdf.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)  # A4 in points
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    for figure in ["95.5%", "66 individual pieces of auditing activity", "258 children", "Embracing Diversity", "Newcombe"]:
        assert figure in text, figure


def test_a_council_or_quarter_without_audits_is_a_clear_refusal(sample_run, tmp_path, capsys):
    from orchestration import cli

    warehouse = sample_run.paths.warehouse
    # A quarter whose year to date has no counted audits: the sample has none, so a copy of its
    # warehouse is made to say so.
    empty_quarter = tmp_path / "empty_quarter" / "cfa.duckdb"
    empty_quarter.parent.mkdir()
    shutil.copy(warehouse, empty_quarter)
    with duckdb.connect(str(empty_quarter)) as connection:
        connection.execute(
            "UPDATE marts.mart_summary_year_to_date_by_quarter SET case_file_audits_completed = 0 WHERE quarter_label = '2021-22 Q1'"
        )
    cases = [
        (warehouse, "999", PERIOD, "no report for council 999 in 2022-23 Q2: the warehouse has no figures for council 999; it has case file audits for council(s) 885."),
        (warehouse, LA_CODE, "2023-24 Q1", "the warehouse's figures for council 885 run from 2021-22 Q1 to 2022-23 Q2 (as at 5 August 2022), not 2023-24 Q1; reports can be written for 885 for 2021-22 Q1,"),
        (warehouse, LA_CODE, "Q2 2022", "'Q2 2022' is not a financial quarter: give it as the warehouse labels quarters, like '2022-23 Q2'"),
        (empty_quarter, LA_CODE, "2021-22 Q1", "no report for council 885 in 2021-22 Q1: no case file audits of council 885 were completed (and counted) in 2021-22 up to the end of Q1; reports can be written for 885 for 2021-22 Q2,"),
        (tmp_path / "none.duckdb", LA_CODE, PERIOD, f"there is no warehouse at {tmp_path / 'none.duckdb'}: run `cfa run`"),
    ]
    for path, la_code, period, message in cases:
        out = tmp_path / "refused.html"
        assert cli.main(["report", "--la", la_code, "--period", period, "--warehouse", str(path), "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert error.startswith("cfa report: ") and message in error and "Traceback" not in error, error
        assert not out.exists()


def test_a_report_is_rewritten_only_when_a_figure_on_it_changed(sample_run, tmp_path):
    """A night that brings one council's audits rewrites that council's report, not every one
    (issue 8, point 5): a report whose figures are all as they were is left as it is."""
    from orchestration.report import write_latest_reports

    warehouse = tmp_path / "cfa.duckdb"
    shutil.copy(sample_run.paths.warehouse, warehouse)
    reports = tmp_path / "reports"
    first = write_latest_reports(warehouse, reports)
    assert first.written and not first.unchanged
    path = next(p for p in first.written if f"-{LA_CODE}-" in p.name)
    before = path.read_text(encoding="utf-8")
    written_at = path.stat().st_mtime_ns

    again = write_latest_reports(warehouse, reports)
    assert again.written == [] and sorted(again.unchanged) == sorted(first.written)
    assert path.stat().st_mtime_ns == written_at

    # One figure of the council's latest quarter changes: its report, and only it, is rewritten.
    quarter = path.stem.removeprefix(f"executive-summary-{LA_CODE}-").replace("-Q", " Q")
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "UPDATE marts.mart_summary_year_to_date_by_quarter SET targeted_audits = targeted_audits + 1"
            " WHERE la_code = ? AND quarter_label = ?",
            [LA_CODE, quarter],
        )
    changed = write_latest_reports(warehouse, reports)
    assert changed.written == [path] and len(changed.unchanged) == len(first.written) - 1
    assert path.read_text(encoding="utf-8") != before


def test_actions_are_counted_as_they_stood_at_each_quarters_end(sample_run):
    """The summary mart's actions, recounted in Python from the facts for every quarter of the
    sample: an action completed after a quarter's end was open at it, and overdue if due before."""
    with duckdb.connect(str(sample_run.paths.warehouse), read_only=True) as connection:
        actions = connection.execute(
            "SELECT raised_date, due_date, completed_date FROM marts.fct_audit_action WHERE la_code = ? AND action_status <> 'cancelled'",
            [LA_CODE],
        ).fetchall()
        rows = _rows(connection, "SELECT * FROM marts.mart_summary_year_to_date_by_quarter WHERE la_code = ? ORDER BY quarter_label", [LA_CODE])
    as_at = rows[0]["figures_as_at"]
    completed_later = 0
    for row in rows:
        on = min(row["period_end_date"], as_at)
        raised = [a for a in actions if a[0] <= on]
        this_year = [a for a in raised if a[0] >= row["period_start_date"]]
        earlier = [a for a in raised if a[0] < row["period_start_date"]]
        is_open = lambda action: action[2] is None or action[2] > on  # noqa: E731
        expected = (
            on, len(this_year), sum(not is_open(a) for a in this_year), sum(is_open(a) for a in this_year),
            sum(is_open(a) and a[1] < on for a in this_year), sum(is_open(a) for a in earlier), sum(is_open(a) and a[1] < on for a in earlier),
        )
        assert tuple(row[c] for c in (
            "actions_as_at", "actions_raised", "actions_completed", "actions_open", "actions_overdue", "earlier_actions_open", "earlier_actions_overdue",
        )) == expected, row["quarter_label"]
        completed_later += sum(a[2] is not None and a[2] > on for a in this_year)
    assert completed_later > 0  # the sample has actions completed after a quarter's end: the case is exercised
    assert rows[-1]["quarter_label"] == PERIOD and rows[-1]["actions_as_at"] == as_at < rows[-1]["period_end_date"]


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def _chromium(url: str, screenshot: Path, profile: Path) -> str:
    """Headless Chromium renders the page and screenshots it; its console messages come back."""
    browser = shutil.which("chromium")
    if browser is None:
        pytest.fail("Debian's chromium is not installed: `make test` installs it (make test-system-packages)")
    result = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,7000", f"--screenshot={screenshot}", url],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return "\n".join(line for line in result.stderr.splitlines() if ":CONSOLE" in line)


def test_the_report_renders_in_headless_chromium_without_console_messages(sample_report, tmp_path):
    # The check can fail: a page that logs and throws is caught.
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><title>x</title><script>console.error('boom'); missingFunction();</script>")
    console = _chromium(broken.as_uri(), tmp_path / "broken.png", tmp_path / "profile-broken")
    assert "boom" in console and "missingFunction is not defined" in console

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / f"executive-summary-{LA_CODE}-2022-23-Q2.png"
    screenshot.unlink(missing_ok=True)
    console = _chromium(sample_report.as_uri(), screenshot, tmp_path / "profile-report")
    assert console == ""
    assert _png_size(screenshot) == (1280, 7000) and screenshot.stat().st_size > 100_000


def test_wilson_newcombe_and_largest_remainder_against_published_values():
    # Newcombe (1998), Statistics in Medicine 17: 81/263 has the Wilson interval 0.2553 to 0.3662,
    # 56/70 against 48/80 the hybrid score interval 0.0524 to 0.3339 for the difference.
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    low, high = difference_interval(Proportion(56, 70), Proportion(48, 80))
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    assert within_chance(Proportion(56, 70), Proportion(48, 80)) is False
    assert within_chance(Proportion(9, 22), Proportion(90, 236)) is True
    assert wilson_interval(0, 22)[0] == 0.0 and wilson_interval(22, 22)[1] == 1.0
    assert wilson_interval(0, 0) is None
    # The sample's grades: 9, 12 and 1 of 22 tie on .545 for the last point; the larger count wins.
    assert largest_remainder_percentages([0, 9, 12, 1]) == [0, 41, 55, 4]
    assert largest_remainder_percentages([1, 1, 1]) == [34, 33, 33]
    assert largest_remainder_percentages([0, 0]) is None
    for counts in ([4, 90, 134, 8], [1, 2, 3, 4, 5, 6, 7], [1, 0, 0, 998]):
        assert sum(largest_remainder_percentages(counts)) == 100
