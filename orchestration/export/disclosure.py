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
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

SMALLEST_SHOWN = 6  # counts from 1 to 5 are suppressed
ROUND_TO = 10
# How much a cell is a total, and so how late secondary suppression takes it: a cell inside a
# table, a subtotal (a row's total that is itself a part of a larger total), a headline total.
INSIDE, SUBTOTAL, TOTAL = 0, 1, 2
# Branch-and-bound nodes for a solution that only has to differ from the truth, not be the best
# (a count of nodes, not a time limit: the same warehouse gives the same feed on any machine).
QUICK_NODES = 20
EXACT_UP_TO = 12  # protecting a large table, the unproved cells each solved for when no more are left


class DisclosureError(Exception):
    """The figures cannot be protected (nothing is written)."""


@dataclass
class Cell:
    key: str
    value: int
    published: bool = True  # False: a latent quantity the relations need but no file shows
    known: bool = False  # for a latent cell: whether a reader knows its value anyway
    total: int = INSIDE  # a table's total (SUBTOTAL, TOTAL): suppressed only when nothing inside the table will do
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

    def add(self, key: str, value: int, published: bool = True, known: bool = False, total: int = INSIDE) -> str:
        if key in self.cells:
            raise ValueError(f"cell {key} added twice")
        if value < 0 or int(value) != value:
            raise DisclosureError(f"{key} is {value}: a count must be a whole number, not negative")
        self.cells[key] = Cell(key, int(value), published, known, int(total))
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

    def protect(self, careful: bool = True) -> None:
        """Suppress until no suppressed cell can be worked out. `careful`: one cell at a time,
        each candidate tried (the choice that leaves fewest recoverable), which costs solving
        for every recoverable cell per candidate: right for tables of a hundred cells. Otherwise
        (a breakdown of a thousand cells tied to them) a neighbour of each recoverable cell is
        suppressed by the plain order, all at once, and everything is checked again."""
        for cell in self.cells.values():
            if cell.published and 1 <= cell.value < SMALLEST_SHOWN:
                cell.suppressed = True
        self._no_lone_unknowns(careful)
        for _ in range(len(self.cells) + 1):
            if careful:
                recoverable = self.recoverable()
                if not recoverable:
                    return
                self._suppress_next_to(recoverable[0], recoverable)
                continue
            # Cells no solution moves from their value are all but always recoverable (small
            # groups pin their cells: each `c` is at least 1); solving for each one's range is
            # worth it only when few are left.
            unproved = self._recoverable_among(self.suppressed_cells(), exact=False)
            if not unproved:
                return
            if len(unproved) <= EXACT_UP_TO or not self._suppress_next_to_each(unproved):
                recoverable = self._recoverable_among(unproved)
                if not recoverable:
                    return
                if not self._suppress_next_to_each(recoverable):
                    raise DisclosureError(f"{recoverable[0]} can be worked out from the totals and no other figure can be suppressed to stop it")
            self._no_lone_unknowns(careful)
        raise DisclosureError("secondary suppression did not settle")  # pragma: no cover - bounded above

    def _unknown(self, key: str) -> bool:
        cell = self.cells[key]
        return cell.suppressed if cell.published else not cell.known

    def _no_lone_unknowns(self, careful: bool = True) -> None:
        """The usual first pass: wherever a suppressed cell is the only unknown of a relation
        (a row whose total is shown, say), suppress another of its cells: not a total if
        anything else will do, then (careful) one tied into fewest relations (it unsettles
        least) or (otherwise) the one that settles most other relations and unsettles fewest,
        then the smallest. The solver then finds what this pass cannot see (bounds, chains)."""
        choice = self._choice(careful)
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
                    min(candidates, key=choice).suppressed = True
                    settled = False

    def _relations_of(self) -> dict[str, list[dict[str, int]]]:
        relations_of: dict[str, list[dict[str, int]]] = {key: [] for key in self.cells}
        for relation in self.relations:
            for key in relation:
                relations_of[key].append(relation)
        return relations_of

    def _choice(self, careful: bool):
        """The order candidates for secondary suppression are taken in (the first is taken)."""
        order = {key: index for index, key in enumerate(self.cells)}
        relations_of = self._relations_of()
        if careful:
            return lambda cell: (cell.total, len(relations_of[cell.key]), cell.value, order[cell.key])

        def cascade(cell: Cell) -> int:
            # Each relation of the cell with no unknown gets one (a new lone unknown to settle);
            # each with one unknown is settled by it. (Ties into a big table cost most here.)
            unknowns = [sum(self._unknown(key) for key in relation) for relation in relations_of[cell.key]]
            return unknowns.count(0) - unknowns.count(1)

        return lambda cell: (cell.total, cascade(cell), cell.value, order[cell.key])

    def _suppress_next_to_each(self, recoverable: list[str]) -> bool:
        """For each recoverable cell, suppress a shown non-zero cell tied to it, in the order
        of `_choice`. A cell tied to one suppressed in this pass waits for the next check (that
        one may have settled it); so is one left with nothing around it to suppress. Whether
        anything was suppressed."""
        choice = self._choice(careful=False)
        relations_of = self._relations_of()
        settled: set[str] = set()
        suppressed_any = False
        for key in recoverable:
            if key in settled:
                continue
            seen, ring = {key}, {key}
            while ring:
                neighbours = {other for cell in ring for relation in relations_of[cell] for other in relation} - seen
                candidates = [
                    self.cells[other]
                    for other in neighbours
                    if self.cells[other].published and not self.cells[other].suppressed and self.cells[other].value > 0
                ]
                if candidates:
                    chosen = min(candidates, key=choice)
                    chosen.suppressed = True
                    suppressed_any = True
                    settled |= {other for relation in relations_of[chosen.key] for other in relation}
                    break
                seen |= neighbours
                ring = neighbours
        return suppressed_any

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

    def recoverable(self) -> list[str]:
        """Suppressed cells whose value a reader could work out, in the order they were added."""
        return self._recoverable_among(self.suppressed_cells())

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

    def _recoverable_among(self, keys: list[str], trying: str | None = None, exact: bool = True) -> list[str]:
        """Which of `keys` (suppressed cells) a reader can work out. While `trying` a cell's
        suppression, what is proved holds only for that trial, and a cell not tied to the tried
        one is as it was (recoverable, if asked about). Not `exact`: the cells no solution found
        by pushing them all at once moves (a few of which might move when solved for one by one)."""
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

        def prove_from(cells: np.ndarray, values: np.ndarray) -> int:
            moved = {keys_in_order[cell] for cell in cells[values != truth[cells]] if self.cells[keys_in_order[cell]].suppressed}
            before = len(proven)
            proven.update(moved)
            return len(proven) - before

        pushed: set[int] = set()
        found = []
        for key in keys:
            if key in proven:
                continue
            component = system.component_of(position[key])
            if component is None or (trying and component != tried_component):
                found.append(key)  # known exactly; or, while trying, untouched by the trial
                continue
            if component not in pushed:
                # Push every unproved suppressed cell of the component away from its true value
                # at once (up from its lowest possible value, down otherwise), while that proves
                # more; then once the other way.
                pushed.add(component)
                cells = system.cells_of(component)
                for direction in (1.0, -1.0):
                    while True:
                        weights = np.array([
                            0.0 if not self.cells[keys_in_order[cell]].suppressed or keys_in_order[cell] in proven
                            else direction * (-1.0 if truth[cell] <= lower[cell] else 1.0)
                            for cell in cells
                        ])
                        values = system.solve(component, weights, any_solution=True) if weights.any() else None
                        if values is None or not prove_from(cells, values):
                            break
            if key in proven:
                continue
            if not exact:
                found.append(key)
                continue
            cells = system.cells_of(component)
            for sign in (1.0, -1.0):  # its smallest possible value, then its largest
                weights = np.where(cells == position[key], sign, 0.0)
                prove_from(cells, system.solve(component, weights))
                if key in proven:
                    break
            else:
                found.append(key)
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

    def component_of(self, cell: int) -> int | None:
        column = self.column_of.get(cell)
        return None if column is None else int(self.labels[column])

    def cells_of(self, component: int) -> np.ndarray:
        return self.unknown[self.labels == component]

    def solve(self, component: int, weights: np.ndarray, any_solution: bool = False) -> np.ndarray | None:
        """A whole-number solution of the component (its cells' values, in cells_of's order)
        that makes the weighted sum of its cells smallest. The linear relaxation is tried first:
        where its answer is whole numbers it is the answer (these tables mostly are), and it is
        several times quicker to find. With `any_solution` the best whole-number solution found
        in QUICK_NODES nodes will do (checked against the relations; None if there is none)."""
        from scipy.optimize import Bounds, LinearConstraint, milp

        columns = np.flatnonzero(self.labels == component)
        rows = np.flatnonzero(self.row_labels == component)
        cells = self.unknown[columns]
        constraints = [LinearConstraint(self.matrix[rows][:, columns], self.rhs[rows], self.rhs[rows])] if len(rows) else []
        bounds = Bounds(self.lower[cells], self.upper[cells])
        for integrality in (np.zeros(len(columns)), np.ones(len(columns))):
            quick = any_solution and integrality.any()
            result = milp(weights, constraints=constraints, bounds=bounds, integrality=integrality,
                          options={"node_limit": QUICK_NODES} if quick else {})
            if result.status == 2:
                raise DisclosureError("no whole numbers fit the figures shown: the tables contradict themselves")
            if quick and result.x is not None:
                break
            if quick:
                return None
            if result.status != 0 or result.x is None:
                raise DisclosureError(f"the solver could not settle whether a suppressed figure can be worked out ({result.message})")
            if np.allclose(result.x, np.round(result.x), atol=1e-7):
                break
        values = np.round(result.x)
        if len(rows) and not np.array_equal(constraints[0].A @ values, self.rhs[rows]):
            if any_solution:
                return None
            raise DisclosureError("the solver's whole-number answer does not fit the figures")  # pragma: no cover
        return values
