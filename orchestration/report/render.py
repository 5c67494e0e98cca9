"""The report as one self-contained HTML page (Jinja2 template, inline CSS and SVG charts), or
the same document as an A4 PDF (WeasyPrint)."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import jinja2

from orchestration.contract import load_contract
from orchestration.report import charts, narrative
from orchestration.report.figures import GOOD, REQUIRES_IMPROVEMENT, ReportFigures
from orchestration.report.formatting import FigureWriter
from orchestration.report.stats import largest_remainder_percentages, within_chance

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# The summary's headings for the contract's development categories; a category added to the
# contract later is headed by its contract label until it is given one here.
DEVELOPMENT_HEADINGS = {
    "briefing": "Learning briefings",
    "newsletter": "Newsletters",
    "presentation": "Presentations",
    "practice_guidance": "Practice standards, guidance and procedures",
    "system_change": "Developments to the case management system",
}


def _development_categories(figures: ReportFigures) -> list[dict]:
    """Developments grouped by category, in the contract's order of categories."""
    contract_labels = {value.code: value.label for value in load_contract().categories["development_category"].values}
    labels = {**contract_labels, **DEVELOPMENT_HEADINGS}
    order = list(contract_labels)
    grouped: dict[str, list] = {}
    for development in figures.developments:
        grouped.setdefault(development.category, []).append(development)
    return [
        {"code": code, "label": labels.get(code, code.replace("_", " ").capitalize()), "items": items}
        for code, items in sorted(grouped.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))
    ]


def report_context(figures: ReportFigures, council_name: str | None = None) -> dict:
    """`council_name` overrides the warehouse's name for the council (dim_local_authority)."""
    writer = FigureWriter()
    overall_current = dict(zip([g.grade_code for g in figures.overall], largest_remainder_percentages([g.current.count for g in figures.overall])))
    overall_previous = None
    if figures.has_previous_year:
        overall_previous = dict(zip([g.grade_code for g in figures.overall], largest_remainder_percentages([g.previous.count for g in figures.overall])))
    area_percents: dict[tuple[str, str], list[int]] = {}
    for area in figures.practice_areas:
        area_percents[(area.code, "current")] = largest_remainder_percentages([g.current.count for g in area.grades])
        if all(g.previous is not None for g in area.grades):
            area_percents[(area.code, "previous")] = largest_remainder_percentages([g.previous.count for g in area.grades])
    good_percent, improvement_percent, rounded_sum = narrative.rounded_parts_example(figures, overall_current)
    return {
        "f": figures,
        "w": writer,
        "council_name": council_name or figures.la_name,
        "generated_on": dt.date.today(),
        "period": narrative.period_phrase(figures, writer),
        "overall_current": overall_current,
        "overall_previous": overall_previous,
        "area_percents": area_percents,
        "good": GOOD,
        "requires_improvement": REQUIRES_IMPROVEMENT,
        "within_chance": within_chance,
        "rounded_parts": {"good": good_percent, "requires_improvement": improvement_percent, "sum": rounded_sum},
        "headline": narrative.headline(figures, writer, overall_current),
        "overall_text": narrative.overall_comparison(figures, writer),
        "areas_text": narrative.practice_area_comparison(figures, writer),
        "moderation_text": narrative.moderation(figures, writer),
        "actions_text": narrative.actions(figures, writer),
        "development_categories": _development_categories(figures),
        "overall_chart": charts.overall_grades_chart(figures, overall_current, overall_previous),
        "areas_chart": charts.practice_areas_chart(figures, area_percents),
        "moderation_chart": charts.moderation_chart(figures),
    }


def render_html(figures: ReportFigures, council_name: str | None = None) -> str:
    return _environment().get_template("report.html.j2").render(**report_context(figures, council_name))


def write_pdf(html: str, out: Path) -> None:
    """The same document as an A4 PDF (the page's print styles set the paper)."""
    import weasyprint

    weasyprint.HTML(string=html, base_url=str(TEMPLATES)).write_pdf(str(out))
