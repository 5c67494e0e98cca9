"""The report's charts: Altair specifications rendered offline to SVG by vl-convert, inlined.

Colours are distinguishable by colour-blind readers (ColorBrewer's RdBu, marked colour-blind
safe, for the four grades; blue against grey for the two periods), every bar is labelled with
its figure, and every chart has a title, axis titles and a table beside it in the page.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import vl_convert
from markupsafe import Markup

from orchestration.report.figures import ReportFigures

GRADE_COLOURS = {"Outstanding": "#0571b0", "Good": "#92c5de", "Requires Improvement": "#f4a582", "Inadequate": "#ca0020"}
PREVIOUS_COLOUR = "#a3a3a3"
CURRENT_COLOUR = "#0571b0"
DIRECTION_COLOURS = {"Up to a better grade": "#0571b0", "Down to a worse grade": "#ca0020"}
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
WIDTH = 300


def _configured(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (
        chart.configure(font=FONT)
        .configure_title(fontSize=13, anchor="start", subtitleFontSize=11, subtitleColor="#333333")
        .configure_axis(labelFontSize=11, titleFontSize=11, labelColor="#222222", titleColor="#222222", labelLimit=190)
        .configure_legend(labelFontSize=11, titleFontSize=11, orient="bottom", direction="vertical", labelLimit=260)
        .configure_view(stroke=None)
    )


def to_svg(chart: alt.TopLevelMixin) -> Markup:
    """The chart as an inline <svg>: no script, no network, nothing to load when the page opens.
    A screen reader announces it as one image, by its description (the table beside it holds
    the figures)."""
    # The specification is built here from known fields: validating it against the schema
    # again costs more than drawing it.
    spec = _configured(chart).to_dict(validate=False)
    svg = vl_convert.vegalite_to_svg(spec)
    label = Markup(' role="img" aria-label="{}"').format(spec.get("description", ""))
    return Markup(svg.replace("<svg", "<svg" + str(label), 1))


def _period_comparison_chart(rows: list[dict], title: str, subtitle: str, category: str, description: str) -> alt.TopLevelMixin:
    """Bars of two periods' shares per category, with each share's 95% interval as a line."""
    data = pd.DataFrame(rows)
    periods = list(dict.fromkeys(data["period"]))
    colour = alt.Color(
        "period:N", title="Period", sort=periods, scale=alt.Scale(domain=periods, range=[PREVIOUS_COLOUR, CURRENT_COLOUR][-len(periods):])
    )
    categories = list(dict.fromkeys(data["category"]))
    y = alt.Y("category:N", title=category, sort=categories)
    y_offset = alt.YOffset("period:N", sort=periods)
    base = alt.Chart(data).encode(y=y, yOffset=y_offset)
    bars = base.mark_bar(height={"band": 0.9}).encode(
        x=alt.X("share:Q", title="Share of audits (95% interval as a line)", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", tickCount=5)),
        color=colour,
    )
    intervals = base.mark_rule(color="#111111", strokeWidth=1.2).encode(x="low:Q", x2="high:Q")
    labels = base.mark_text(align="left", dx=3, fontSize=10, color="#111111").encode(x="high:Q", text="label:N")
    return (bars + intervals + labels).properties(
        width=WIDTH, title=alt.TitleParams(title, subtitle=subtitle), description=description
    )


def overall_grades_chart(figures: ReportFigures, current_percent: dict[int, int], previous_percent: dict[int, int] | None) -> Markup:
    current_name = f"{figures.fiscal_year} to Q{figures.fiscal_quarter} ({figures.audits} audits)"
    rows = []
    for grade in figures.overall:
        if grade.previous is not None and previous_percent is not None:
            low, high = grade.previous.interval
            rows.append({
                "category": grade.grade_label, "period": f"{figures.previous_fiscal_year} ({grade.previous.base} audits)",
                "share": grade.previous.share, "low": low, "high": high, "label": f"{previous_percent[grade.grade_code]}%",
            })
        low, high = grade.current.interval
        rows.append({
            "category": grade.grade_label, "period": current_name, "share": grade.current.share,
            "low": low, "high": high, "label": f"{current_percent[grade.grade_code]}%",
        })
    compared = f" against {figures.previous_fiscal_year}" if figures.has_previous_year else ""
    return to_svg(
        _period_comparison_chart(
            rows,
            title=f"Overall grades: {figures.fiscal_year} to Q{figures.fiscal_quarter}{compared}",
            subtitle="Final (moderated) overall grade of each case file audit",
            category="Overall grade",
            description=f"Bar chart of the share of case file audits given each overall grade, {figures.fiscal_year} to date{compared}.",
        )
    )


def practice_areas_chart(figures: ReportFigures, percents: dict[tuple[str, str], list[int]]) -> Markup:
    """Each practice area's grades, stacked to 100%, for the comparison quarter and the year to date."""
    current_name = f"{figures.fiscal_year} to Q{figures.fiscal_quarter}"
    rows = []
    period_names = []
    for area in figures.practice_areas:
        for period, name in (("previous", figures.comparison_quarter_label), ("current", current_name)):
            proportions = [g.previous if period == "previous" else g.current for g in area.grades]
            if any(p is None for p in proportions):
                continue
            if name not in period_names:
                period_names.append(name)
            for grade, proportion, percent in zip(area.grades, proportions, percents[(area.code, period)]):
                rows.append({
                    "area": area.name, "period": name, "grade": grade.grade_label, "order": grade.grade_code,
                    "share": proportion.share, "label": f"{percent}%" if percent >= 8 else "",
                })
    data = pd.DataFrame(rows)
    grades = list(GRADE_COLOURS)
    base = alt.Chart(data).encode(
        y=alt.Y("period:N", title=None, sort=period_names, axis=alt.Axis(labelFontSize=10)),
        x=alt.X("sum(share):Q", title="Share of audits", stack="normalize", axis=alt.Axis(format="%", tickCount=5)),
        order=alt.Order("order:Q"),
    )
    bars = base.mark_bar().encode(
        color=alt.Color("grade:N", title="Grade", sort=grades, scale=alt.Scale(domain=grades, range=list(GRADE_COLOURS.values()))),
    )
    labels = base.mark_text(dx=-3, align="right", fontSize=10, color="#111111").encode(
        x=alt.X("sum(share):Q", stack="normalize", bandPosition=1), text="label:N", detail="grade:N",
    )
    chart = (
        alt.layer(bars, labels, data=data)
        .properties(width=WIDTH, height=alt.Step(14))
        .facet(row=alt.Row("area:N", title=None, sort=[a.name for a in figures.practice_areas], header=alt.Header(labelAngle=0, labelAlign="left", labelAnchor="start", labelFontSize=11, labelFontWeight="bold", labelOrient="top")))
        .properties(
            title=alt.TitleParams(
                f"Practice-area grades: {current_name} against {figures.comparison_quarter_label}",
                subtitle="Final (moderated) grade in each of the seven areas of practice",
            ),
            description=f"Stacked bar chart of the grades in each practice area, {figures.comparison_quarter_label} and {current_name}.",
        )
        .configure_facet(spacing=6)
    )
    return to_svg(chart)


def moderation_chart(figures: ReportFigures) -> Markup:
    rows = []
    for grading in figures.moderation:
        for direction, count in (("Up to a better grade", grading.moderated_up), ("Down to a worse grade", grading.moderated_down)):
            rows.append({"grading": grading.name, "direction": direction, "count": count, "base": grading.moderated})
    data = pd.DataFrame(rows)
    directions = list(DIRECTION_COLOURS)
    names = [m.name for m in figures.moderation]
    most = max([m.changed for m in figures.moderation] + [1])
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("grading:N", title="Grade moderated", sort=names),
            x=alt.X("sum(count):Q", title="Grades changed by moderation", scale=alt.Scale(domain=[0, most]), axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color("direction:N", title="Moderation changed it", sort=directions, scale=alt.Scale(domain=directions, range=list(DIRECTION_COLOURS.values()))),
            order=alt.Order("direction:N", sort="descending"),
        )
        .properties(
            width=WIDTH,
            title=alt.TitleParams(
                "How often moderation changed the auditor's grade",
                subtitle=f"{figures.fiscal_year} to Q{figures.fiscal_quarter}, {figures.audits} audits: overall grade and each practice area",
            ),
            description="Bar chart of the grades moderation changed, up or down, for the overall grade and each practice area.",
        )
    )
    return to_svg(chart)


