"""The quarterly executive summary, written from the published warehouse's marts.

`write_report` reads the marts (figures.py), writes sentences from them (narrative.py), draws
the charts (charts.py) and fills the page template (templates/); `cfa report` and the Dagster
asset after publishing both call it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.publish.atomic import write_json
from orchestration.report.figures import ReportUnavailable, check_period, gather_figures, latest_quarters, open_marts, quarter_rows

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
    quarter_label = check_period(period)
    with open_marts(Path(warehouse)) as connection:
        figures = gather_figures(connection, la_code, quarter_label)
    out = Path(out) if out else default_report_path(warehouse, la_code, quarter_label, fmt)
    _render(figures, out, fmt, council_name)
    return out


def _render(figures, out: Path, fmt: str = "html", council_name: str | None = None) -> None:
    # Charts and templates are imported here, not when Dagster loads its definitions.
    from orchestration.report.render import render_html, write_pdf

    html = render_html(figures, council_name)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside, then renamed: a reader never opens half a report.
    partial = out.with_name(f".{out.name}.partial")
    if fmt == "pdf":
        write_pdf(html, partial)
    else:
        partial.write_text(html, encoding="utf-8")
    os.replace(partial, out)


@dataclass
class LatestReports:
    written: list[Path] = field(default_factory=list)
    """Reports written this time: new, or a figure on them changed."""
    unchanged: list[Path] = field(default_factory=list)
    """Reports already on disk with exactly these figures, left as they were."""

    @property
    def paths(self) -> list[Path]:
        return sorted(self.written + self.unchanged)


FINGERPRINTS = ".fingerprints.json"


def _renderer_version() -> str:
    """A hash of the report's own code and templates: a change to how a report looks rewrites them all."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*package.glob("*.py"), *package.glob("templates/**/*")]):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def write_latest_reports(warehouse: Path, directory: Path | None = None) -> LatestReports:
    """The report for each council's latest quarter with case file audits. A report whose figures
    are all what they were when it was written is left as it is: a night that brings one
    council's audits rewrites that council's report, not every council's."""
    version = _renderer_version()
    result = LatestReports()
    with open_marts(Path(warehouse)) as connection:
        latest = latest_quarters(connection)
        prefetched = quarter_rows(connection, latest)
        for la_code, quarter_label in latest:
            out = default_report_path(warehouse, la_code, quarter_label)
            out = Path(directory) / out.name if directory else out
            ledger_path = out.parent / FINGERPRINTS
            ledger = json.loads(ledger_path.read_text(encoding="utf-8")) if ledger_path.is_file() else {}
            figures = gather_figures(connection, la_code, quarter_label, prefetched)
            fingerprint = hashlib.sha256(f"{version}\n{figures!r}".encode()).hexdigest()
            if out.is_file() and ledger.get(out.name) == fingerprint:
                result.unchanged.append(out)
                continue
            _render(figures, out)
            ledger[out.name] = fingerprint
            write_json(ledger_path, ledger)
            result.written.append(out)
    return result


__all__ = ["FORMATS", "LatestReports", "ReportUnavailable", "default_report_path", "write_latest_reports", "write_report"]
