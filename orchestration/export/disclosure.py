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

Tables can be protected in stages: `protect()` again after adding cells and relations protects
the new cells and re-checks every suppressed cell against everything now shown (the feed
protects its quarter's tables, then the equality breakdown tied to them).

The solving is kept small enough for tables of a thousand cells. Figures a reader knows exactly
are substituted into the relations, and only the cells tied to the one asked about (its
component) go to the solver. Any whole-number solution that differs from the true figures in a
cell proves that cell can take two values, and suppressing more only widens what a reader must
allow for, so such a proof stands until a cell or relation is added: each solution found is used
for every cell it proves, and a cell proved once is not solved for again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

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
        self._matrix: sparse.csr_array | None = None  # relations x cells, built when first solved
        self._proven: set[str] = set()  # suppressed cells shown to take two values as things stand

    # -- the tables ---------------------------------------------------------------------------

    def add(self, key: str, value: int, published: bool = True, known: bool = False, total: bool = False) -> str:
        if key in self.cells:
            raise ValueError(f"cell {key} added twice")
        if value < 0 or int(value) != value:
            raise DisclosureError(f"{key} is {value}: a count must be a whole number, not negative")
        self.cells[key] = Cell(key, int(value), published, known, total)
        self._tables_changed()
        return key

    def _tables_changed(self) -> None:
        # A new figure shown, or a new relation known, can make a proved cell recoverable again.
        self._matrix = None
        self._proven = set()

    def relate(self, terms: dict[str, int], what: str) -> None:
        """Record that the sum of coefficient x cell over `terms` is zero; the values must agree."""
        total = sum(coefficient * self.cells[key].value for key, coefficient in terms.items())
        if total != 0:
            described = " + ".join(f"{coefficient} x {key} ({self.cells[key].value})" for key, coefficient in terms.items())
            raise DisclosureError(f"the marts disagree: {what} should hold, but {described} = {total}, not 0")
        self.relations.append(dict(terms))
        self._tables_changed()

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
            recoverable = self.recoverable()
            if not recoverable:
                return
            self._suppress_next_to(recoverable[0], recoverable)
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

    def _suppress_next_to(self, key: str, recoverable: list[str]) -> None:
        """Suppress a shown non-zero cell tied to `key`: a cell inside a table before a total
        (the totals are the figures people look for), then the one that leaves fewest suppressed
        cells recoverable, then the smallest. When every cell next to it is zero or suppressed
        already, look further out. (`recoverable`: every suppressed cell recoverable now; only
        these and the candidate can be recoverable once it is suppressed.)"""
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
                    still = self._recoverable_among([*recoverable, candidate.key], trying=candidate.key)
                    outcomes.append((candidate.total, len(still), candidate.value, order.index(candidate.key), candidate))
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

    def first_recoverable(self) -> str | None:
        found = self._recoverable_among(self.suppressed_cells(), first_only=True)
        return found[0] if found else None

    def recoverable(self) -> list[str]:
        """Suppressed cells whose value a reader could work out, in the order they were added."""
        return self._recoverable_among(self.suppressed_cells())

    def range_of(self, key: str) -> tuple[float, float]:
        """Smallest and largest whole value the cell can take, given what a reader knows."""
        keys = list(self.cells)
        bounds = [self.knowledge(name) for name in keys]
        return integer_range(keys, self.relations, bounds, key)

    # -- solving ------------------------------------------------------------------------------

    def _relation_matrix(self) -> sparse.csr_array:
        if self._matrix is None:
            index = {key: position for position, key in enumerate(self.cells)}
            rows, columns, coefficients = [], [], []
            for row, relation in enumerate(self.relations):
                for key, coefficient in relation.items():
                    rows.append(row)
                    columns.append(index[key])
                    coefficients.append(coefficient)
            shape = (len(self.relations), len(self.cells))
            self._matrix = sparse.csr_array((coefficients, (rows, columns)), shape=shape, dtype=float)
        return self._matrix

    def _recoverable_among(self, keys: list[str], trying: str | None = None, first_only: bool = False) -> list[str]:
        """Which of `keys` (suppressed cells) a reader can work out. While `trying` a cell's
        suppression, what is proved holds only for that trial, and a cell not tied to the tried
        one is as it was (recoverable, if asked about)."""
        keys_in_order = list(self.cells)
        position = {key: index for index, key in enumerate(keys_in_order)}
        truth = np.array([cell.value for cell in self.cells.values()], dtype=float)
        bounds = [self.knowledge(key) for key in keys_in_order]
        # No whole-number answer needs more than this: an upper bound keeps every programme bounded,
        # and being above the truth it leaves every cell all the values that matter.
        ceiling = 10 * float(truth.sum()) + 100
        lower = np.array([low for low, _ in bounds], dtype=float)
        upper = np.array([min(high, ceiling) for _, high in bounds], dtype=float)
        system = _ReducedSystem(self._relation_matrix(), lower, upper)
        proven = set(self._proven) if trying else self._proven
        tried_component = system.component_of(position[trying]) if trying else None
        found = []
        for key in keys:
            if key in proven:
                continue
            component = system.component_of(position[key])
            if component is None or (trying and component != tried_component):
                found.append(key)  # known exactly; or, while trying, untouched by the trial
                if first_only:
                    break
                continue
            for objective in ("random", "min", "max"):
                if objective == "random" and component in system.tried_at_random:
                    continue
                cells, values = system.solve(component, position[key], objective)
                proven.update(
                    keys_in_order[cell] for cell in cells[values != truth[cells]] if self.cells[keys_in_order[cell]].suppressed
                )
                if key in proven:
                    break
            else:
                found.append(key)
                if first_only:
                    break
        return found


class _ReducedSystem:
    """The relations with every exactly-known figure substituted in, split into components:
    cells left unknown that are tied together, directly or through other unknown cells."""

    def __init__(self, matrix: sparse.csr_array, lower: np.ndarray, upper: np.ndarray):
        self.lower, self.upper = lower, upper
        unknown = lower < upper
        self.unknown = np.flatnonzero(unknown)
        known = matrix[:, np.flatnonzero(~unknown)]
        self.rhs = -(known @ lower[~unknown])
        self.matrix = matrix[:, self.unknown].tocsc()
        self.column_of = {cell: column for column, cell in enumerate(self.unknown)}
        rows, columns = self.matrix.shape
        # Cells and relations as the nodes of one graph: a relation links the cells in it.
        link = sparse.bmat([[None, self.matrix], [self.matrix.T, None]], format="csr") if rows and columns else None
        if link is None:
            self.labels = np.arange(columns)
            self.row_labels = np.full(rows, -1)
        else:
            _, labels = connected_components(link != 0, directed=False)
            self.row_labels, self.labels = labels[:rows], labels[rows:]
        self.tried_at_random: set[int] = set()
        self.random = np.random.default_rng(0)

    def component_of(self, cell: int) -> int | None:
        column = self.column_of.get(cell)
        return None if column is None else int(self.labels[column])

    def solve(self, component: int, cell: int, objective: str) -> tuple[np.ndarray, np.ndarray]:
        """A whole-number solution of the component, as its cells and their values: one making
        `cell` smallest or largest, or (first) one far out in a random direction, which proves
        many cells at once."""
        from scipy.optimize import Bounds, LinearConstraint, milp

        columns = np.flatnonzero(self.labels == component)
        rows = np.flatnonzero(self.row_labels == component)
        target = np.flatnonzero(self.unknown[columns] == cell)[0]
        weights = np.zeros(len(columns))
        if objective == "random":
            self.tried_at_random.add(component)
            weights = self.random.normal(size=len(columns))
        else:
            weights[target] = 1 if objective == "min" else -1
        cells = self.unknown[columns]
        constraints = []
        if len(rows):
            sub = self.matrix[rows][:, columns]
            constraints.append(LinearConstraint(sub, self.rhs[rows], self.rhs[rows]))
        result = milp(
            weights, constraints=constraints, bounds=Bounds(self.lower[cells], self.upper[cells]),
            integrality=np.ones(len(columns)),
        )
        if result.status == 2:
            raise DisclosureError("no whole numbers fit the figures shown: the tables contradict themselves")
        if result.status != 0 or result.x is None:
            raise DisclosureError(f"the solver could not settle whether a suppressed figure can be worked out ({result.message})")
        return cells, np.round(result.x)


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
