"""How figures are written in the report, and how each is marked in the HTML.

Every figure the page shows goes through a `FigureWriter`: it is written in a `<span>` whose
`data-figure` names where it comes from (for example `overall.2.current.count`), so a test
can read every figure back from the page and check it against the marts.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

from orchestration.report.stats import Proportion

MINUS = "\u2212"


def half_up(value: float, places: int = 0) -> Decimal:
    """Rounded half away from zero, as people round (Python's round() rounds half to even)."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def count_text(value: int) -> str:
    return f"{value:,}"


def share_text(share: float) -> str:
    return f"{half_up(100 * share, 1)}%"


def percent_text(percent: int) -> str:
    return f"{percent}%"


def interval_text(interval: tuple[float, float], compact: bool = False) -> str:
    low, high = interval
    if compact:
        return f"{half_up(100 * low)}\u2013{half_up(100 * high)}%"
    return f"{half_up(100 * low)}% to {half_up(100 * high)}%"


def change_text(points: float) -> str:
    rounded = half_up(points, 1)
    if rounded == 0:
        return "0.0"
    return f"+{rounded}" if rounded > 0 else f"{MINUS}{-rounded}"


def points_text(points: float) -> str:
    """A change's size, without its sign (the sentence says which way)."""
    return f"{half_up(abs(points), 1)}"


def date_text(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def month_text(day: dt.date) -> str:
    return f"{day:%B %Y}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return singular if count == 1 else (plural_form or f"{singular}s")


class FigureWriter:
    """Writes figures as marked-up spans: `kind` tells a reader of the HTML how to parse it."""

    def _span(self, key: str, kind: str, text: str) -> Markup:
        return Markup('<span class="figure" data-figure="{}" data-kind="{}">{}</span>').format(key, kind, text)

    def count(self, key: str, value: int) -> Markup:
        return self._span(key, "count", count_text(value))

    def share(self, key: str, proportion: Proportion, compact: bool = False) -> Markup:
        """An exact share to one decimal place, with its 95% interval."""
        return Markup("{} {}").format(
            self._span(f"{key}.share", "share", share_text(proportion.share)), self.interval(key, proportion, compact)
        )

    def percent(self, key: str, percent: int, proportion: Proportion) -> Markup:
        """A whole-number percentage of a whole (largest remainder), with its 95% interval."""
        return Markup("{} {}").format(self._span(f"{key}.percent", "percent", percent_text(percent)), self.interval(key, proportion))

    def bare_percent(self, key: str, percent: int) -> Markup:
        """A whole-number percentage that is not a share of anything (a sum of rounded parts)."""
        return self._span(key, "percent", percent_text(percent))

    def interval(self, key: str, proportion: Proportion, compact: bool = False) -> Markup:
        """The 95% interval; compact in tables, whose captions say what the brackets hold."""
        figure = self._span(f"{key}.interval", "interval", interval_text(proportion.interval, compact))
        if compact:
            return Markup('<span class="interval">({})</span>').format(figure)
        return Markup('<span class="interval">(95% interval {})</span>').format(figure)

    def distribution_cell(self, key: str, proportion: Proportion, percent: int, exact: bool = True) -> Markup:
        """A table cell's part of a whole: count, whole-number percentage, exact share, interval."""
        parts = [
            Markup('<span class="nowrap">{} &middot; {}</span>').format(self.count(f"{key}.count", proportion.count), self._span(f"{key}.percent", "percent", percent_text(percent)))
        ]
        if exact:
            parts.append(Markup('<span class="exact">exactly {}</span>').format(self._span(f"{key}.share", "share", share_text(proportion.share))))
        parts.append(self.interval(key, proportion, compact=True))
        return Markup("<br>").join(parts)

    def change(self, key: str, points: float) -> Markup:
        return self._span(key, "change", change_text(points))

    def points(self, key: str, points: float) -> Markup:
        return self._span(key, "points", points_text(points))

    def date(self, key: str, day: dt.date) -> Markup:
        return self._span(key, "date", date_text(day))

    def month(self, key: str, day: dt.date) -> Markup:
        return self._span(key, "month", month_text(day))

    def text(self, key: str, value: str) -> Markup:
        return self._span(key, "text", escape(value))


def join_phrases(phrases: list[Markup]) -> Markup:
    """A, B and C."""
    if not phrases:
        return Markup("")
    if len(phrases) == 1:
        return phrases[0]
    return Markup(", ").join(phrases[:-1]) + Markup(" and ") + phrases[-1]
