"""The quarterly executive summary, written from the published warehouse's marts.

`write_report` reads the marts (figures.py), writes sentences from them (narrative.py), draws
the charts (charts.py) and fills the page template (templates/); `cfa report` and the Dagster
asset after publishing both call it.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestration.report.figures import ReportUnavailable, check_period, gather_figures, latest_quarters, open_marts

FORMATS = ("html", "pdf")


def default_report_path(warehouse: Path, la_code: str, quarter_label: str, fmt: str = "html") -> Path:
    """Beside the warehouse: reports/executive-summary-885-2022-23-Q2.html."""
    name = f"executive-summary-{la_code}-{quarter_label.replace(' ', '-')}.{fmt}"
    return Path(warehouse).resolve().parent / "reports" / name


def write_report(
    warehouse: Path, la_code: str, period: str, out: Path | None = None, fmt: str = "html", council_name: str | None = None
) -> Path:
    """Write the report for a council and quarter (the financial year to date through it);
    ReportUnavailable says why when there is nothing to report."""
    if fmt not in FORMATS:
        raise ReportUnavailable(f"format {fmt!r} is not one of {', '.join(FORMATS)}.")
    # Charts and templates are imported here, not when Dagster loads its definitions.
    from orchestration.report.render import render_html, write_pdf

    quarter_label = check_period(period)
    with open_marts(Path(warehouse)) as connection:
        figures = gather_figures(connection, la_code, quarter_label)
    html = render_html(figures, council_name)
    out = Path(out) if out else default_report_path(warehouse, la_code, quarter_label, fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside, then renamed: a reader never opens half a report.
    partial = out.with_name(f".{out.name}.partial")
    if fmt == "pdf":
        write_pdf(html, partial)
    else:
        partial.write_text(html, encoding="utf-8")
    os.replace(partial, out)
    return out


def write_latest_reports(warehouse: Path, directory: Path | None = None) -> list[Path]:
    """The report for each council's latest quarter with case file audits."""
    with open_marts(Path(warehouse)) as connection:
        latest = latest_quarters(connection)
    written = []
    for la_code, quarter_label in latest:
        out = (Path(directory) / default_report_path(warehouse, la_code, quarter_label).name) if directory else None
        written.append(write_report(warehouse, la_code, quarter_label, out))
    return written


__all__ = ["FORMATS", "ReportUnavailable", "default_report_path", "write_latest_reports", "write_report"]
