"""Disclosure control for figures that leave the council, after the DfE's convention for its
published children's social care statistics.

- A count from 1 to 5 is suppressed (shown as `c`): primary suppression.
- 0 stays 0: a zero is never suppressed, so a reader knows every `c` is at least 1.
- Figures summed across councils are rounded to the nearest 10 (after suppressing 1 to 5).
- Secondary suppression: no suppressed cell may be worked out from the figures that are shown
  and the totals that tie them together (a table's rows add up to its total, a summary figure
  is the sum of two grades, and so on).

The tables are given as cells with their true values and the linear relations between them
(each relation a sum of cells times whole coefficients that is zero). What a reader knows is
modelled exactly: a shown count is its value (or, rounded, the ten values that round to it); a
`c` is a whole number of at least 1; a quantity no file shows (a latent cell, such as the
quarters of a year before the one published) is a whole number of at least 0, unless it is
known. A suppressed cell is recoverable when that knowledge leaves it one possible value: found
by solving the integer programme "smallest and largest value of the cell subject to every
relation and every bound" (scipy's HiGHS). Secondary suppression first makes sure no relation
has a suppressed cell as its only unknown, then suppresses a non-zero shown cell tied to any
cell the solver can still work out (a cell inside a table before a total, then the one that
leaves fewest recoverable, then the smallest), and solves again, until none can be.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

SMALLEST_SHOWN = 6  # counts from 1 to 5 are suppressed
ROUND_TO = 10


class DisclosureError(Exception):
    """The figures cannot be protected (nothing is written)."""


@dataclass
class Cell:
    key: str
    value: int
    published: bool = True  # False: a latent quantity the relations need but no file shows
    known: bool = False  # for a latent cell: whether a reader knows its value anyway
    total: bool = False  # a table's total: suppressed only when nothing inside the table will do
    suppressed: bool = False


def round_to_ten(value: int) -> int:
    """To the nearest 10, halves up (15 -> 20)."""
    return ROUND_TO * math.floor((value + ROUND_TO / 2) / ROUND_TO)


class DisclosureControl:
    def __init__(self, rounded: bool = False):
        self.rounded = rounded
        self.cells: dict[str, Cell] = {}
        self.relations: list[dict[str, int]] = []

    # -- the tables ---------------------------------------------------------------------------

    def add(self, key: str, value: int, published: bool = True, known: bool = False, total: bool = False) -> str:
        if key in self.cells:
            raise ValueError(f"cell {key} added twice")
        if value < 0 or int(value) != value:
            raise DisclosureError(f"{key} is {value}: a count must be a whole number, not negative")
        self.cells[key] = Cell(key, int(value), published, known, total)
        return key

    def relate(self, terms: dict[str, int], what: str) -> None:
        """Record that the sum of coefficient x cell over `terms` is zero; the values must agree."""
        total = sum(coefficient * self.cells[key].value for key, coefficient in terms.items())
        if total != 0:
            described = " + ".join(f"{coefficient} x {key} ({self.cells[key].value})" for key, coefficient in terms.items())
            raise DisclosureError(f"the marts disagree: {what} should hold, but {described} = {total}, not 0")
        self.relations.append(dict(terms))

    # -- what is shown ------------------------------------------------------------------------

    def is_suppressed(self, key: str) -> bool:
        return self.cells[key].suppressed

    def shown(self, key: str) -> int | None:
        """The figure a file shows, or None for `c`."""
        cell = self.cells[key]
        if cell.suppressed:
            return None
        return round_to_ten(cell.value) if self.rounded else cell.value

    def suppressed_cells(self) -> list[str]:
        return [key for key, cell in self.cells.items() if cell.published and cell.suppressed]

    # -- protection ---------------------------------------------------------------------------

    def protect(self) -> None:
        for cell in self.cells.values():
            if cell.published and 1 <= cell.value < SMALLEST_SHOWN:
                cell.suppressed = True
        self._no_lone_unknowns()
        for _ in range(len(self.cells) + 1):
            key = self.first_recoverable()
            if key is None:
                return
            self._suppress_next_to(key)
        raise DisclosureError("secondary suppression did not settle")  # pragma: no cover - bounded above

    def _unknown(self, key: str) -> bool:
        cell = self.cells[key]
        return cell.suppressed if cell.published else not cell.known

    def _no_lone_unknowns(self) -> None:
        """The usual first pass: wherever a suppressed cell is the only unknown of a relation
        (a row whose total is shown, say), suppress another of its cells: not a total if
        anything else will do, then one tied into fewest relations (it unsettles least), then
        the smallest. The solver then finds what this pass cannot see (bounds, chains)."""
        ties = {key: sum(key in relation for relation in self.relations) for key in self.cells}
        order = list(self.cells)
        settled = False
        while not settled:
            settled = True
            for relation in self.relations:
                unknown = [key for key in relation if self._unknown(key)]
                if len(unknown) != 1 or not self.cells[unknown[0]].published:
                    continue
                candidates = [
                    self.cells[key]
                    for key in relation
                    if self.cells[key].published and not self.cells[key].suppressed and self.cells[key].value > 0
                ]
                if candidates:
                    min(candidates, key=lambda cell: (cell.total, ties[cell.key], cell.value, order.index(cell.key))).suppressed = True
                    settled = False

    def _suppress_next_to(self, key: str) -> None:
        """Suppress a shown non-zero cell tied to `key`: a cell inside a table before a total
        (the totals are the figures people look for), then the one that leaves fewest suppressed
        cells recoverable, then the smallest. When every cell next to it is zero or suppressed
        already, look further out."""
        seen, ring = {key}, {key}
        order = list(self.cells)
        while ring:
            neighbours = {other for relation in self.relations if ring & relation.keys() for other in relation} - seen
            candidates = [
                self.cells[other]
                for other in neighbours
                if self.cells[other].published and not self.cells[other].suppressed and self.cells[other].value > 0
            ]
            if candidates:
                outcomes = []
                for candidate in candidates:
                    candidate.suppressed = True
                    outcomes.append(
                        (candidate.total, len(self.recoverable()), candidate.value, order.index(candidate.key), candidate)
                    )
                    candidate.suppressed = False
                min(outcomes, key=lambda outcome: outcome[:4])[4].suppressed = True
                return
            seen |= neighbours
            ring = neighbours
        raise DisclosureError(f"{key} can be worked out from the totals and no other figure can be suppressed to stop it")

    def knowledge(self, key: str) -> tuple[float, float]:
        """The bounds a reader of the files knows the cell's value within."""
        cell = self.cells[key]
        if not cell.published:
            return (cell.value, cell.value) if cell.known else (0, math.inf)
        if cell.suppressed:
            return (1, math.inf)
        if not self.rounded:
            return (cell.value, cell.value)
        shown = round_to_ten(cell.value)
        if shown == 0:
            return (0, 0)
        return (max(shown - ROUND_TO // 2, SMALLEST_SHOWN), shown + ROUND_TO // 2 - 1)

    def _can_be_worked_out(self, key: str) -> bool:
        low, high = self.range_of(key)
        return not low < high

    def first_recoverable(self) -> str | None:
        return next((key for key in self.suppressed_cells() if self._can_be_worked_out(key)), None)

    def recoverable(self) -> list[str]:
        """Suppressed cells whose value a reader could work out."""
        return [key for key in self.suppressed_cells() if self._can_be_worked_out(key)]

    def range_of(self, key: str) -> tuple[float, float]:
        """Smallest and largest whole value the cell can take, given what a reader knows."""
        keys = list(self.cells)
        bounds = [self.knowledge(name) for name in keys]
        return integer_range(keys, self.relations, bounds, key)


def integer_range(keys: list[str], relations: Iterable[dict[str, int]], bounds: list[tuple[float, float]], target: str) -> tuple[float, float]:
    """min and max of `target` over whole-number assignments that satisfy every relation
    (sum of coefficient x cell = 0) and every bound; math.inf when unbounded above."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    index = {key: position for position, key in enumerate(keys)}
    relations = list(relations)
    constraints = []
    if relations:
        matrix = np.zeros((len(relations), len(keys)))
        for row, relation in enumerate(relations):
            for key, coefficient in relation.items():
                matrix[row, index[key]] += coefficient
        constraints.append(LinearConstraint(matrix, 0, 0))
    lower = np.array([low for low, _ in bounds], dtype=float)
    upper = np.array([high for _, high in bounds], dtype=float)
    integrality = np.ones(len(keys))
    found = []
    for sign in (1, -1):
        objective = np.zeros(len(keys))
        objective[index[target]] = sign
        result = milp(objective, constraints=constraints, bounds=Bounds(lower, upper), integrality=integrality)
        if result.status == 2:
            raise DisclosureError(f"no whole numbers fit the figures shown around {target}: the tables contradict themselves")
        if result.status != 0 or result.x is None:
            found.append(math.inf if sign == -1 else -math.inf)
            continue
        found.append(round(result.x[index[target]]))
    return found[0], found[1]
