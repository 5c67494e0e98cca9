"""Honest numbers for small samples: Wilson score intervals, Newcombe's interval for a change
between two shares, and whole-number percentages that add up to 100 (largest remainder).

Everything is computed from counts, never from rounded shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

CONFIDENCE = 0.95
# The two-sided 95% point of the standard normal distribution.
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Proportion:
    """count of base, with its exact share and 95% Wilson interval (None when base is 0)."""

    count: int
    base: int

    @property
    def share(self) -> float | None:
        return self.count / self.base if self.base else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.count, self.base)


def wilson_interval(count: int, base: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for count successes in base trials: unlike the textbook
    p ± z·se it stays within 0 and 1 and keeps its coverage at small samples and extreme shares."""
    if base <= 0:
        return None
    if not 0 <= count <= base:
        raise ValueError(f"a count of {count} out of {base} is not a proportion")
    p = count / base
    z2 = z * z
    denominator = 1 + z2 / base
    centre = (p + z2 / (2 * base)) / denominator
    half_width = (z / denominator) * math.sqrt(p * (1 - p) / base + z2 / (4 * base * base))
    # At 0 and at base the exact bound is 0 or 1; floating point would leave a hair's breadth.
    low = 0.0 if count == 0 else max(0.0, centre - half_width)
    high = 1.0 if count == base else min(1.0, centre + half_width)
    return low, high


def difference_interval(current: Proportion, previous: Proportion) -> tuple[float, float] | None:
    """95% interval for current.share - previous.share from two independent samples:
    Newcombe's hybrid score method (1998, method 10), built from the two Wilson intervals."""
    if not current.base or not previous.base:
        return None
    p1, p2 = current.share, previous.share
    low1, high1 = current.interval
    low2, high2 = previous.interval
    difference = p1 - p2
    low = difference - math.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    high = difference + math.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return low, high


def within_chance(current: Proportion, previous: Proportion) -> bool | None:
    """True when a change of this size could come from chance alone at these sample sizes:
    the 95% interval for the difference includes no change. None when there is nothing to compare."""
    interval = difference_interval(current, previous)
    if interval is None:
        return None
    low, high = interval
    return low <= 0 <= high


def largest_remainder_percentages(counts: Sequence[int]) -> list[int] | None:
    """Whole-number percentages of counts that sum to exactly 100 (Hamilton's largest remainder
    method): each part gets its floor, and the points left go to the largest remainders. A tie
    goes to the larger count, then to the earlier part, so the result never depends on floating
    point. None when the counts add up to nothing."""
    total = sum(counts)
    if total <= 0:
        return None
    exact = [Fraction(100 * count, total) for count in counts]
    floors = [math.floor(value) for value in exact]
    left = 100 - sum(floors)
    order = sorted(range(len(counts)), key=lambda i: (-(exact[i] - floors[i]), -counts[i], i))
    for index in order[:left]:
        floors[index] += 1
    return floors
