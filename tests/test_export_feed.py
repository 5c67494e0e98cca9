"""The disclosure-controlled feed (`cfa export`) and CSV safety.

The proof that no suppressed value can be recovered does not trust the feed's own bookkeeping:
it reads the files written, rebuilds every relation between their figures that a reader knows
(rows adding up to totals, the summary's figures as sums of grades, three activities per audit,
the year to date as this quarter plus earlier ones, the equality breakdown's groups adding up
to each other file's totals), all the files together, and for every `c` solves for the smallest
and largest whole number it can be, given every figure shown. A value is recoverable when the
two are equal. It does this for the sample's feed and for generated edge cases (one council
each, in one generated warehouse of audits with the children's characteristics), including
figures summed across councils and rounded.
"""

from __future__ import annotations

import csv
import math
import random
import re
from pathlib import Path

import duckdb
import numpy as np
import pytest

from orchestration.export.feed import FeedError, write_feed
from orchestration.safe_csv import BOM, neutralise, would_run_as_formula, write_rows

GRADES = ["Outstanding", "Good", "Requires Improvement", "Inadequate"]
GOOD_OR_BETTER = ["Outstanding", "Good"]
GOOD_OR_RI = ["Good", "Requires Improvement"]


def read_feed_csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(BOM), f"{path.name} has no byte-order mark"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------------------------------------
# The attacker: every relation a reader of the files knows, solved for each suppressed cell
# ---------------------------------------------------------------------------------------------


class Reader:
    """What a reader of a feed's files can know: one unknown per figure, bounded by what is
    shown, tied by the relations the README states."""

    def __init__(self, rounded: bool):
        self.rounded = rounded
        self.names: list[str] = []
        self.bounds: list[tuple[float, float]] = []
        self.relations: list[dict[int, int]] = []
        self.suppressed: list[int] = []

    def figure(self, name: str, shown: str) -> int:
        index = len(self.names)
        self.names.append(name)
        if shown == "c":
            self.bounds.append((1, math.inf))  # 0 is never suppressed
            self.suppressed.append(index)
        else:
            value = int(shown)
            if not self.rounded or value == 0:
                self.bounds.append((value, value))
            else:
                assert value % 10 == 0, f"{name}: {value} is not rounded to 10"
                self.bounds.append((max(value - 5, 6), value + 4))
        return index

    def latent(self, name: str, known_zero: bool = False) -> int:
        self.names.append(name)
        self.bounds.append((0, 0) if known_zero else (0, math.inf))
        return len(self.names) - 1

    def sums_to(self, total: int, parts: list[int]) -> None:
        relation = {total: 1}
        for part in parts:
            relation[part] = relation.get(part, 0) - 1
        self.relations.append(relation)

    def equal(self, a: int, b: int, times: int = 1) -> None:
        self.relations.append({a: 1, b: -times})

    def recoverable(self) -> dict[str, int]:
        """Every `c` the figures pin to one value. Two whole-number solutions that differ in a
        cell prove it can take two values: after a first solution of the cells tied together,
        one pushing every unproved `c` away from it at once, while that proves more; then each
        `c` still unproved is solved for its smallest and largest value. Figures shown exactly
        are substituted in first; only the unknowns tied to a cell go to the solver."""
        from scipy import sparse
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse.csgraph import connected_components

        triples = [(row, column, value) for row, relation in enumerate(self.relations) for column, value in relation.items()]
        rows, columns, values = zip(*triples)
        matrix = sparse.csr_array((values, (rows, columns)), shape=(len(self.relations), len(self.names)), dtype=float)
        lower = np.array([low for low, _ in self.bounds], dtype=float)
        # A ceiling far above any figure keeps every programme bounded (a reader allowing less
        # can only find more recoverable: the proof stays a proof).
        ceiling = 10 * sum(high for _, high in self.bounds if high < math.inf) + 1000
        upper = np.array([min(high, ceiling) for _, high in self.bounds], dtype=float)
        unknown = np.flatnonzero(lower < upper)
        rhs = -(matrix[:, lower == upper] @ lower[lower == upper])
        reduced = matrix[:, unknown].tocsc()
        _, labels = connected_components(sparse.bmat([[None, reduced], [reduced.T, None]], format="csr") != 0, directed=False)
        row_labels, labels = labels[:len(self.relations)], labels[len(self.relations):]
        component_of = dict(zip(unknown, labels))
        suppressed = set(self.suppressed)
        first: dict[int, np.ndarray] = {}  # component -> its first solution
        moved: set[int] = set()  # cells two solutions differ in

        def solve(component: int, weights: np.ndarray, any_solution: bool = False) -> int:
            """Solve, note the cells moved from the first solution; how many are newly moved.
            The linear relaxation first: a whole-number answer of it is the answer. With
            `any_solution` the best whole-number one found in 20 nodes will do (it is checked)."""
            members, relations = np.flatnonzero(labels == component), np.flatnonzero(row_labels == component)
            part = reduced[relations][:, members]
            constraints = [LinearConstraint(part, rhs[relations], rhs[relations])] if len(relations) else []
            bounds = Bounds(lower[unknown[members]], upper[unknown[members]])
            for integrality in (0, 1):
                result = milp(weights, constraints=constraints, bounds=bounds, integrality=np.full(len(members), integrality),
                              options={"node_limit": 20} if any_solution and integrality else {})
                if result.x is None:
                    assert any_solution and result.status == 1, f"the files contradict themselves ({result.message})"
                    return 0
                assert result.status == 0 or any_solution, f"the files contradict themselves ({result.message})"
                if np.allclose(result.x, np.round(result.x), atol=1e-7):
                    break
            solution = np.round(result.x)
            assert np.allclose(part @ solution, rhs[relations]) and np.all((bounds.lb <= solution) & (solution <= bounds.ub))
            first.setdefault(component, solution)
            before = len(moved)
            moved.update(unknown[members][solution != first[component]])
            return len(moved) - before

        found = {}
        for index in self.suppressed:
            component = component_of[index]
            cells = unknown[labels == component]
            if component not in first:
                solve(component, np.zeros(len(cells)))
                for direction in (1.0, -1.0):
                    while True:
                        weights = np.array([0.0 if cell not in suppressed or cell in moved
                                            else direction * (-1.0 if value <= lower[cell] else 1.0)
                                            for cell, value in zip(cells, first[component])])
                        if not weights.any() or not solve(component, weights, any_solution=True):
                            break
            for sign in (1.0, -1.0):
                if index in moved:
                    break
                solve(component, np.where(cells == index, sign, 0.0))
            if index not in moved:
                found[self.names[index]] = int(first[component][np.flatnonzero(cells == index)[0]])
        return found


def audit_feed(folder: Path) -> tuple[Reader, dict[str, dict]]:
    """Rebuild a reader's knowledge from all the feed's files together."""
    summary = {row["measure"]: row for row in read_feed_csv(folder / "quarterly_summary.csv")}
    overall = {row["grade"]: row for row in read_feed_csv(folder / "overall_grades.csv")}
    areas = read_feed_csv(folder / "practice_area_grades.csv")
    year = {row["grade"]: row for row in read_feed_csv(folder / "year_to_date.csv")}
    equality = read_feed_csv(folder / "equality_grades_year_to_date.csv")
    rounded = overall["Total"]["geographic_level"] != "Local authority"
    reader = Reader(rounded)

    quarter = {grade: reader.figure(f"overall {grade}", overall[grade]["audits"]) for grade in GRADES}
    audits = reader.figure("overall Total", overall["Total"]["audits"])
    reader.sums_to(audits, list(quarter.values()))
    summary_audits = reader.figure("summary audits", summary["case_file_audits_completed"]["value"])
    reader.equal(summary_audits, audits)
    reader.equal(reader.figure("summary activities", summary["audit_activities"]["value"]), audits, times=3)
    reader.sums_to(reader.figure("summary good_or_better", summary["good_or_better"]["value"]), [quarter[g] for g in GOOD_OR_BETTER])
    reader.sums_to(reader.figure("summary good_or_ri", summary["good_or_requires_improvement"]["value"]), [quarter[g] for g in GOOD_OR_RI])
    reader.equal(reader.figure("summary inadequate", summary["inadequate"]["value"]), quarter["Inadequate"])
    for measure in ("targeted_audits", "targeted_audit_children", "actions_raised", "actions_completed"):
        reader.figure(f"summary {measure}", summary[measure]["value"])

    quarter_areas = {}
    for area in sorted({row["practice_area"] for row in areas}):
        rows = {row["grade"]: row for row in areas if row["practice_area"] == area}
        quarter_areas[area] = {grade: reader.figure(f"{area} {grade}", rows[grade]["audits"]) for grade in GRADES}
        area_total = reader.figure(f"{area} Total", rows["Total"]["audits"])
        reader.sums_to(area_total, list(quarter_areas[area].values()))
        reader.equal(area_total, audits)

    first_quarter = not re.search(r" to Q[2-4]$", year["Total"]["time_period"])
    this_year = {grade: reader.figure(f"year {grade}", year[grade]["year_to_date_audits"]) for grade in GRADES}
    year_total = reader.figure("year Total", year["Total"]["year_to_date_audits"])
    reader.sums_to(year_total, list(this_year.values()))
    previous = {grade: reader.figure(f"previous {grade}", year[grade]["previous_year_audits"]) for grade in GRADES}
    reader.sums_to(reader.figure("previous Total", year["Total"]["previous_year_audits"]), list(previous.values()))
    earlier_quarters = {}
    for grade in GRADES:
        earlier_quarters[grade] = reader.latent(f"earlier quarters {grade}", known_zero=first_quarter)
        reader.sums_to(this_year[grade], [quarter[grade], earlier_quarters[grade]])

    # The equality breakdown: each group's grades add up to its Total, the same in every grading;
    # a characteristic's groups add up to All children, whose overall grades are the year's
    # above, whose practice-area grades are this quarter's and earlier quarters' (graded once
    # each), and whose Total is the year's audits.
    cells = {(row["characteristic"], row["group"], row["grading"], row["grade"]): row for row in equality}
    assert len(cells) == len(equality), "a row of the equality breakdown is repeated"
    assert {row["time_period"] for row in equality} == {year["Total"]["time_period"]}
    gradings = sorted({row["grading"] for row in equality})
    assert len(gradings) == 1 + len(quarter_areas) and "Overall grade" in gradings
    everyone = {(grading, grade): reader.figure(f"All children/{grading}/{grade}", cells["All children", "All children", grading, grade]["audits"])
                for grading in gradings for grade in [*GRADES, "Total"]}
    earlier_areas = {grading: [reader.latent(f"earlier quarters {grading} {grade}", known_zero=first_quarter) for grade in GRADES]
                     for grading in quarter_areas}
    for grading in gradings:
        reader.sums_to(everyone[grading, "Total"], [everyone[grading, grade] for grade in GRADES])
        reader.equal(everyone[grading, "Total"], year_total)
        for grade in GRADES:
            if grading == "Overall grade":
                reader.equal(everyone[grading, grade], this_year[grade])
            else:
                reader.sums_to(everyone[grading, grade], [quarter_areas[grading][grade], earlier_areas[grading][GRADES.index(grade)]])
        if grading != "Overall grade":
            reader.relations.append({**{cell: 1 for cell in earlier_areas[grading]}, **{earlier_quarters[g]: -1 for g in GRADES}})
    for characteristic in sorted({row["characteristic"] for row in equality} - {"All children"}):
        groups = sorted({row["group"] for row in equality if row["characteristic"] == characteristic})
        figures = {(group, grading, grade): reader.figure(f"{characteristic}/{group}/{grading}/{grade}",
                                                          cells[characteristic, group, grading, grade]["audits"])
                   for group in groups for grading in gradings for grade in [*GRADES, "Total"]}
        for group in groups:
            for grading in gradings:
                reader.sums_to(figures[group, grading, "Total"], [figures[group, grading, grade] for grade in GRADES])
                if grading != gradings[0]:
                    reader.equal(figures[group, grading, "Total"], figures[group, gradings[0], "Total"])
        for grading in gradings:
            for grade in [*GRADES, "Total"]:
                reader.sums_to(everyone[grading, grade], [figures[group, grading, grade] for group in groups])

    # A percentage is shown only where its count and its total are, and is their ratio.
    def check_percent(count: str, total: str, percent: str, where: str) -> None:
        if "c" in (count, total):
            assert percent == "c", f"{where}: a percentage is shown beside a suppressed count or total"
        elif int(total) == 0:
            assert percent == "z", where
        else:
            assert float(percent) == round(100 * int(count) / int(total), 1), where

    for grade in [*GRADES, "Total"]:
        check_percent(overall[grade]["audits"], overall["Total"]["audits"], overall[grade]["percent"], f"overall {grade}")
        check_percent(year[grade]["year_to_date_audits"], year["Total"]["year_to_date_audits"], year[grade]["year_to_date_percent"], f"year {grade}")
    for row in areas:
        check_percent(row["audits"], overall["Total"]["audits"], row["percent"], f"{row['practice_area']} {row['grade']}")
    for measure in ("good_or_better", "good_or_requires_improvement", "inadequate"):
        check_percent(summary[measure]["value"], overall["Total"]["audits"], summary[measure]["percent_of_audits"], measure)
    for (characteristic, group, grading, grade), row in cells.items():
        total = cells[characteristic, group, grading, "Total"]["audits"]
        check_percent(row["audits"], total, row["percent_of_group"], f"{characteristic} {group} {grading} {grade}")
    return reader, {"summary": summary, "overall": overall, "areas": areas, "year": year, "equality": cells}


def true_figures(warehouse: Path, councils: list[str], period: str) -> dict[str, int]:
    """The unsuppressed figures, straight from the marts, keyed as the reader names them."""
    year_label, quarter = period.split(" Q")
    previous_year = f"{int(year_label[:4]) - 1}-{int(year_label[:4]) % 100:02d}"
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        def grades(where: str, params: list) -> dict[str, int]:
            rows = dict(connection.execute(
                f"SELECT g.grade_label, sum(audit_count) FROM marts.mart_audit_grades_by_quarter JOIN marts.dim_grade AS g USING (grade_code)"
                f" WHERE la_code IN (SELECT unnest(?)) AND {where} GROUP BY 1", [councils, *params]).fetchall())
            return {grade: int(rows.get(grade) or 0) for grade in GRADES}

        quarter_grades = grades("quarter_label = ?", [period])
        figures = {f"overall {g}": v for g, v in quarter_grades.items()}
        figures["overall Total"] = sum(quarter_grades.values())
        figures.update({f"year {g}": v for g, v in grades("fiscal_year = ? AND fiscal_quarter <= ?", [year_label, int(quarter)]).items()})
        figures.update({f"previous {g}": v for g, v in grades("fiscal_year = ?", [previous_year]).items()})
        for area, grade, count in connection.execute(
            "SELECT a.practice_area_name, g.grade_label, sum(audit_count) FROM marts.mart_subsection_grades_by_quarter"
            " JOIN marts.dim_practice_area AS a USING (practice_area_code) JOIN marts.dim_grade AS g USING (grade_code)"
            " WHERE la_code IN (SELECT unnest(?)) AND quarter_label = ? GROUP BY ALL", [councils, period]).fetchall():
            figures[f"{area} {grade}"] = int(count)
        summary = connection.execute(
            "SELECT sum(targeted_audits), sum(targeted_audit_children), sum(actions_raised), sum(actions_completed)"
            " FROM marts.mart_quarterly_summary WHERE la_code IN (SELECT unnest(?)) AND quarter_label = ?",
            [councils, period]).fetchall()[0]
    for measure, value in zip(("targeted_audits", "targeted_audit_children", "actions_raised", "actions_completed"), summary):
        figures[f"summary {measure}"] = int(value or 0)
    figures.update(true_equality_figures(warehouse, councils, year_label, int(quarter)))
    return figures


def true_equality_figures(warehouse: Path, councils: list[str], year: str, quarter: int) -> dict[str, int]:
    """The equality breakdown counted from the facts, named as the reader names its figures."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            """WITH audits AS (
                   SELECT * FROM marts.fct_audit WHERE is_counted AND la_code IN (SELECT unnest(?)) AND fiscal_year = ? AND fiscal_quarter <= ?
               ), grades AS (
                   SELECT audit_key, 'Overall grade' AS grading, final_overall_grade_code AS grade_code FROM audits
                   UNION ALL
                   SELECT audit_key, practice_area_name, grade_code FROM marts.fct_subsection_grade
                   JOIN marts.dim_practice_area USING (practice_area_code) WHERE audit_key IN (SELECT audit_key FROM audits)
               ), groups AS (
                   UNPIVOT (SELECT audit_key, child_age_band AS age_band, child_sex AS sex, child_ethnic_group AS ethnic_group,
                                   child_disability AS disability, child_status FROM audits)
                   ON age_band, sex, ethnic_group, disability, child_status INTO NAME characteristic VALUE value_code
               ), named AS (
                   SELECT audit_key, characteristic_name, value_name FROM groups JOIN marts.dim_child_characteristic USING (characteristic, value_code)
                   UNION ALL  -- UNPIVOT drops a NULL: the characteristic was not recorded
                   SELECT audit_key, characteristic_name, value_name FROM audits CROSS JOIN marts.dim_child_characteristic
                   WHERE value_code = 'not_recorded' AND NOT EXISTS (
                       SELECT 1 FROM groups WHERE groups.audit_key = audits.audit_key AND groups.characteristic = dim_child_characteristic.characteristic)
                   UNION ALL
                   SELECT audit_key, 'All children', 'All children' FROM audits
               )
               SELECT characteristic_name, value_name, grading, coalesce(grade_label, 'Total'), count(*)
               FROM named JOIN grades USING (audit_key) JOIN marts.dim_grade USING (grade_code)
               GROUP BY GROUPING SETS ((characteristic_name, value_name, grading, grade_label), (characteristic_name, value_name, grading))""",
            [councils, year, quarter],
        ).fetchall()
    figures = {}
    for characteristic, group, grading, grade, count in rows:
        name = f"All children/{grading}/{grade}" if characteristic == "All children" else f"{characteristic}/{group}/{grading}/{grade}"
        figures[name] = int(count)
    return figures


def assert_protected(warehouse: Path, councils: list[str], period: str, folder: Path) -> Reader:
    reader, _ = audit_feed(folder)
    truth = true_figures(warehouse, councils, period)
    # The truth is one of the answers the reader's equations allow (so they are the right ones)...
    index = {name: position for position, name in enumerate(reader.names)}
    for name, value in truth.items():
        if name in index:
            low, high = reader.bounds[index[name]]
            assert low <= value <= high, f"{folder.name}: {name} is {value}, outside what the file says ({low}-{high})"
    # ...every count from 1 to 5 is suppressed, every 0 shown as 0...
    for name, value in truth.items():
        if name in index:
            shown = reader.bounds[index[name]]
            if 1 <= value <= 5:
                assert index[name] in reader.suppressed, f"{name} = {value} is shown"
            if value == 0:
                assert shown == (0, 0), f"{name} = 0 is not shown as 0"
    # ...and no suppressed cell has only one possible value.
    assert reader.recoverable() == {}, f"{folder}: recoverable from the totals"
    return reader


# ---------------------------------------------------------------------------------------------
# The sample: 2022-23 Q2
# ---------------------------------------------------------------------------------------------


def test_the_samples_2022_23_q2_feed_hides_every_count_from_1_to_5_and_none_can_be_recovered(sample_run, tmp_path):
    from tests.conftest import run_cli

    out = tmp_path / "feed"
    code, output = run_cli(
        ["export", "--la", "885", "--period", "2022-23 Q2", "--out", str(out), "--warehouse", str(sample_run.paths.warehouse)],
        sample_run.dagster_storage,
    )
    assert code == 0, output
    assert sorted(path.name for path in out.iterdir()) == [
        "README.md", "equality_grades_year_to_date.csv", "overall_grades.csv", "practice_area_grades.csv",
        "quarterly_summary.csv", "year_to_date.csv",
    ]
    reader = assert_protected(sample_run.paths.warehouse, ["885"], "2022-23 Q2", out)
    _, files = audit_feed(out)
    overall = {grade: row["audits"] for grade, row in files["overall"].items()}
    # 12 audits: no Outstanding, 4 Good and 1 Inadequate (suppressed), 7 Requires Improvement.
    assert overall == {"Outstanding": "0", "Good": "c", "Requires Improvement": "7", "Inadequate": "c", "Total": "12"}
    # Good plus Requires Improvement (11) less the 7 shown would give Good: it is suppressed too.
    assert files["summary"]["good_or_requires_improvement"]["value"] == "c"
    assert files["summary"]["case_file_audits_completed"]["value"] == "12"
    assert files["summary"]["audit_activities"]["value"] == "36"
    # Voice of the Child: 5 Good, 7 Requires Improvement of 12: the 7 goes too, or 12 - 7 = 5.
    voice = {row["grade"]: row["audits"] for row in files["areas"] if row["practice_area"] == "Voice of the Child"}
    assert voice == {"Outstanding": "0", "Good": "c", "Requires Improvement": "c", "Inadequate": "0", "Total": "12"}
    year = {grade: (row["year_to_date_audits"], row["previous_year_audits"]) for grade, row in files["year"].items()}
    assert year["Inadequate"] == ("c", "c") and year["Total"] == ("22", "236")
    assert len(reader.suppressed) >= 20
    # The equality breakdown is the mart's (2022-23 Q2 is the sample's latest quarter, so the
    # mart's year to date is the feed's). The sample's extracts carry no characteristics: every
    # child is Not recorded, so that group's figures are the year's, suppressed as they are.
    with duckdb.connect(str(sample_run.paths.warehouse), read_only=True) as connection:
        mart = {
            (characteristic, group, grading, grade): (count, group_audits)
            for characteristic, group, grading, grade, count, group_audits in connection.execute(
                """SELECT characteristic_name, value_name, grading_name, grade_label, audit_count, group_audits
                   FROM marts.mart_equality_grades_year_to_date WHERE la_code = '885' AND fiscal_year = '2022-23'"""
            ).fetchall()
        }
    equality = files["equality"]
    assert len(mart) == 26 * 8 * 4 and len(equality) == (26 + 1) * 8 * 5
    for (characteristic, group, grading, grade), (count, group_audits) in mart.items():
        shown = equality[characteristic, group, grading, grade]["audits"]
        assert shown in ("c", str(count)), (characteristic, group, grading, grade)
        assert shown == "c" or not 1 <= count <= 5
        assert equality[characteristic, group, grading, "Total"]["audits"] == str(group_audits)
    not_recorded = {grade: equality["Sex", "Not recorded", "Overall grade", grade]["audits"] for grade in [*GRADES, "Total"]}
    assert not_recorded == {grade: row["year_to_date_audits"] for grade, row in files["year"].items()}
    assert not_recorded["Inadequate"] == "c" and not_recorded["Total"] == "22"
    readme = (out / "README.md").read_text()
    assert "Every count from 1 to 5 is shown as `c`" in readme and "secondary suppression" in readme
    assert "Figures as at (the newest extract each council delivered): 885: 2022-08-05" in readme
    assert "# Case file audit figures, Worcestershire (885), 2022-23 Q2" in readme
    assert "`equality_grades_year_to_date.csv`" in readme
    assert f"2022-23 Q2 for 885: " in output


def test_export_refuses_a_council_or_period_it_has_no_figures_for(sample_run, tmp_path):
    warehouse = sample_run.paths.warehouse
    with pytest.raises(FeedError, match="holds no figures for council 999; it holds 885"):
        write_feed(warehouse, "999", "2022-23 Q2", tmp_path / "a")
    with pytest.raises(FeedError, match="no figures for 885 in 2023-24 Q1; quarters with figures: 2021-22 Q1"):
        write_feed(warehouse, "885", "2023-24 Q1", tmp_path / "b")
    with pytest.raises(FeedError, match="give a quarter like 2022-23 Q2"):
        write_feed(warehouse, "885", "Q2 2022", tmp_path / "c")
    assert not any((tmp_path / name).exists() for name in "abc")


# ---------------------------------------------------------------------------------------------
# Generated edge cases: one council each in one generated warehouse
# ---------------------------------------------------------------------------------------------

AREAS = [
    "voice_of_child", "assessment_analysis", "quality_of_plans", "management_oversight",
    "partnership_working", "strengths_based_practice", "embracing_diversity",
]


def _split(total: int, parts: int, rng: random.Random, small: bool) -> list[int]:
    """`total` split into `parts` whole numbers, often with small ones."""
    weights = [rng.choice([0, 0.2, 1, 3]) if small else rng.random() + 0.1 for _ in range(parts)]
    if not any(weights):
        weights[rng.randrange(parts)] = 1
    counts = [int(total * w / sum(weights)) for w in weights]
    for _ in range(total - sum(counts)):
        counts[rng.choices(range(parts), weights=[w or 0.01 for w in weights])[0]] += 1
    return counts


def _council(code: str, rng: random.Random, q2: list[int] | None = None, small: bool = True,
             characteristics: bool = True, q1: list[int] | None = None) -> dict:
    """A council's grade counts by quarter (2021-22 Q1 to 2022-23 Q2) and its Q2 practice areas;
    `characteristics`: whether its extracts carry the children's (a version-1 extract does not)."""
    quarters = {}
    for label in ("2021-22 Q1", "2021-22 Q2", "2021-22 Q3", "2021-22 Q4", "2022-23 Q1"):
        quarters[label] = _split(rng.choice([0, 3, 8, 15, 40]), 4, rng, small)
    if q1 is not None:
        quarters["2022-23 Q1"] = q1
    quarters["2022-23 Q2"] = q2 if q2 is not None else _split(rng.choice([1, 2, 4, 7, 9, 12, 20]), 4, rng, small)
    audits = sum(quarters["2022-23 Q2"])
    areas = {}
    for area in AREAS:
        areas[area] = _split(audits, 4, rng, small)
    return {"code": code, "quarters": quarters, "areas": areas, "characteristics": characteristics,
            "targeted": (rng.choice([0, 1, 3, 14]), rng.choice([0, 2, 5, 40])), "actions": (rng.randrange(0, 12), rng.randrange(0, 12))}


def _audits(council: dict, rng: random.Random, groups: dict[str, list[str]]) -> tuple[list[tuple], list[tuple]]:
    """fct_audit and fct_subsection_grade rows for the council's counts: a child's characteristics
    drawn with some groups small and some not recorded (none when the council's extract does not
    carry them), and one audit not counted (its record is not whole), which nothing may count."""
    audit_rows, grade_rows = [], []
    for label, counts in council["quarters"].items():
        year, quarter = label.split(" Q")
        overall = [grade for grade, count in enumerate(counts, start=1) for _ in range(count)]
        area_grades = {}
        for area in AREAS:
            if label == "2022-23 Q2":  # the quarter's practice areas as designed, shared out among its audits
                area_grades[area] = [grade for grade, count in enumerate(council["areas"][area], start=1) for _ in range(count)]
                rng.shuffle(area_grades[area])
            else:
                area_grades[area] = rng.choices([1, 2, 3, 4], weights=[1, 6, 4, 2], k=len(overall))
        counted = [True] * len(overall) + ([False] if label == "2022-23 Q2" else [])
        for number, is_counted in enumerate(counted):
            key = f"{council['code']}-{label}-{number}"
            child = [
                rng.choices([*values, None], weights=[*(rng.choice([0.2, 1, 4]) for _ in values), 0.3])[0]
                if council["characteristics"] else None
                for values in groups.values()
            ]
            audit_rows.append((key, council["code"], year, int(quarter), label, overall[number] if is_counted else 4, is_counted, *child))
            grade_rows += [(key, area, area_grades[area][number] if is_counted else 4, is_counted) for area in AREAS]
    return audit_rows, grade_rows


def _load(connection: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], rows: list[tuple]) -> None:
    """Rows into a new table in one statement (DuckDB's executemany is a row at a time)."""
    import pandas as pd

    data = pd.DataFrame.from_records(rows, columns=list(columns))  # noqa: F841 (DuckDB reads it by name)
    casts = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in columns.items())
    connection.execute(f"CREATE TABLE {table} AS SELECT {casts} FROM data")


def _write_warehouse(path: Path, sample_warehouse: Path, councils: list[dict], rng: random.Random) -> None:
    """A published warehouse of the councils' audits: the facts, and the marts the feed reads
    summed from them."""
    with duckdb.connect(str(path)) as connection:
        connection.execute(f"ATTACH '{sample_warehouse}' AS sample (READ_ONLY)")
        connection.execute("CREATE SCHEMA marts")
        connection.execute("CREATE SCHEMA ops")
        for table in ("dim_grade", "dim_practice_area", "dim_child_characteristic", "dim_local_authority"):
            connection.execute(f"CREATE TABLE marts.{table} AS SELECT * FROM sample.marts.{table}")
        groups: dict[str, list[str]] = {}
        for characteristic, value in connection.execute(
            "SELECT characteristic, value_code FROM marts.dim_child_characteristic WHERE value_code <> 'not_recorded'"
            " ORDER BY characteristic_order, value_order"
        ).fetchall():
            groups.setdefault(characteristic, []).append(value)
        assert list(groups) == ["age_band", "sex", "ethnic_group", "disability", "child_status"]
        audit_rows, grade_rows, summary_rows = [], [], []
        for council in councils:
            audits, grades = _audits(council, rng, groups)
            audit_rows += audits
            grade_rows += grades
            for label, counts in council["quarters"].items():
                year, quarter = label.split(" Q")
                targeted, children = council["targeted"] if label == "2022-23 Q2" else (0, 0)
                raised, completed = council["actions"] if label == "2022-23 Q2" else (0, 0)
                summary_rows.append((council["code"], year, int(quarter), label, sum(counts), 3 * sum(counts),
                                     targeted, children, raised, completed))
        _load(connection, "marts.fct_audit", {
            "audit_key": "VARCHAR", "la_code": "VARCHAR", "fiscal_year": "VARCHAR", "fiscal_quarter": "INTEGER",
            "quarter_label": "VARCHAR", "final_overall_grade_code": "INTEGER", "is_counted": "BOOLEAN", "child_age_band": "VARCHAR",
            "child_sex": "VARCHAR", "child_ethnic_group": "VARCHAR", "child_disability": "VARCHAR", "child_status": "VARCHAR",
        }, audit_rows)
        _load(connection, "marts.fct_subsection_grade",
              {"audit_key": "VARCHAR", "practice_area_code": "VARCHAR", "grade_code": "INTEGER", "is_counted": "BOOLEAN"}, grade_rows)
        connection.execute("""CREATE TABLE marts.mart_audit_grades_by_quarter AS
            SELECT la_code, fiscal_year, fiscal_quarter, quarter_label, final_overall_grade_code AS grade_code, grade_label,
                   count(*) AS audit_count
            FROM marts.fct_audit JOIN marts.dim_grade ON grade_code = final_overall_grade_code WHERE is_counted GROUP BY ALL""")
        connection.execute("""CREATE TABLE marts.mart_subsection_grades_by_quarter AS
            SELECT la_code, quarter_label, practice_area_code, grade_code, count(*) AS audit_count
            FROM marts.fct_subsection_grade JOIN marts.fct_audit USING (audit_key) WHERE fct_audit.is_counted GROUP BY ALL""")
        connection.execute("""CREATE TABLE marts.mart_quarterly_summary (la_code VARCHAR, fiscal_year VARCHAR, fiscal_quarter INTEGER,
            quarter_label VARCHAR, case_file_audits_completed INTEGER, audit_activities INTEGER, targeted_audits INTEGER,
            targeted_audit_children INTEGER, actions_raised INTEGER, actions_completed INTEGER)""")
        connection.executemany("INSERT INTO marts.mart_quarterly_summary VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", summary_rows)
        connection.execute("CREATE TABLE ops.build_info AS SELECT DISTINCT la_code, DATE '2022-08-05' AS figures_as_at,"
                           " TIMESTAMP '2022-08-06 02:00:00' AS published_at FROM marts.mart_quarterly_summary")


def test_generated_edge_cases_hide_every_count_from_1_to_5_and_none_can_be_recovered(sample_run, tmp_path):
    rng = random.Random(20220805)
    designed = {
        "901": [0, 1, 0, 0],    # one audit
        "902": [0, 0, 0, 0],    # no counted audits, only actions and targeted audits
        "903": [0, 5, 0, 1],    # every count small
        "904": [0, 6, 0, 1],    # one small count beside one that is not
        "905": [0, 12, 0, 0],   # nothing small: nothing suppressed but what ties to the small ones
        "906": [1, 1, 0, 0],    # two ones: their total is 2, so each is 1 unless the total is hidden
        "907": [3, 9, 14, 2],
        "908": [0, 40, 27, 1],
    }
    version_1 = {"902", "904", "905"}  # extracts without the children's characteristics
    councils = [_council(code, rng, q2, characteristics=code not in version_1, q1=[1, 6, 4, 2] if code == "907" else None)
                for code, q2 in designed.items()]
    councils += [_council(f"9{10 + n}", rng, small=n % 2 == 0, characteristics=n < 2) for n in range(6)]
    warehouse = tmp_path / "edge" / "cfa.duckdb"
    warehouse.parent.mkdir()
    _write_warehouse(warehouse, sample_run.paths.warehouse, councils, rng)

    cases = [([council["code"]], "2022-23 Q2") for council in councils]
    cases += [(["907"], "2022-23 Q1")]  # the year to date is the quarter itself
    cases += [(["901", "903", "906"], "2022-23 Q2"), ([c["code"] for c in councils], "2022-23 Q2")]  # summed, rounded
    suppressed_any = 0
    for number, (codes, period) in enumerate(cases):
        out = tmp_path / f"feed-{number}"
        write_feed(warehouse, ",".join(codes), period, out)
        reader = assert_protected(warehouse, codes, period, out)
        suppressed_any += bool(reader.suppressed)
        if len(codes) > 1:
            shown = [bound for bound in reader.bounds if bound[0] == bound[1]]
            assert all(value % 10 == 0 for value, _ in shown), "a figure summed across councils is not rounded to 10"
            assert "rounded to the nearest 10" in (out / "README.md").read_text()
    assert suppressed_any >= len(cases) - 3  # the cases do exercise suppression

    # The designed ones, as the convention says:
    one = audit_feed(tmp_path / "feed-0")[1]
    assert one["overall"]["Total"]["audits"] == "c" and one["overall"]["Good"]["audits"] == "c"
    assert one["overall"]["Outstanding"]["audits"] == "0"
    none = audit_feed(tmp_path / "feed-1")[1]
    assert none["overall"]["Total"]["audits"] == "0" and none["overall"]["Total"]["percent"] == "z"
    plenty = audit_feed(tmp_path / "feed-4")[1]
    assert plenty["overall"]["Good"]["audits"] == "12" and plenty["overall"]["Total"]["audits"] == "12"
    # A version-1 council's children are all Not recorded: that group is All children, the rest 0.
    for (characteristic, group, grading, grade), row in plenty["equality"].items():
        if characteristic != "All children":
            everyone = plenty["equality"]["All children", "All children", grading, grade]["audits"]
            assert row["audits"] == (everyone if group == "Not recorded" else "0"), (characteristic, group, grading, grade)
    # In the year's first quarter the year's practice-area grades are the quarter's, so they
    # are protected together: a figure shown in both is the same.
    first = audit_feed(tmp_path / f"feed-{len(councils)}")[1]
    pairs = [(row["audits"], first["equality"]["All children", "All children", row["practice_area"], row["grade"]]["audits"])
             for row in first["areas"]]
    assert all("c" in pair or pair[0] == pair[1] for pair in pairs) and any("c" not in pair for pair in pairs)
    small = audit_feed(tmp_path / "feed-2")[1]["equality"]  # 903: a handful of children, most groups of 1 to 5
    assert sum(row["audits"] == "c" for row in small.values()) > 100


# ---------------------------------------------------------------------------------------------
# CSV injection: every CSV the project writes shows a formula as text
# ---------------------------------------------------------------------------------------------

NASTY = ["=HYPERLINK(\"http://x\",\"click\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1+1", " =1",
         "\r=1", "\uff1d1+1", "plain", "a=b", "", "say \"hi\""]


def test_the_csv_rule_is_the_same_in_python_and_duckdb():
    with duckdb.connect() as connection:
        in_sql = [row[0] for row in connection.execute(
            f"SELECT regexp_matches(x, ?) FROM (SELECT unnest(?) AS x, generate_subscripts(?, 1) AS i) ORDER BY i",
            [__import__("orchestration.safe_csv", fromlist=["SQL_RULE"]).SQL_RULE, NASTY, NASTY]).fetchall()]
    assert in_sql == [would_run_as_formula(text) for text in NASTY]
    assert in_sql == [True] * 8 + [False] * 4
    assert [neutralise(text)[:1] for text in NASTY[:8]] == ["'"] * 8


def runs_as_formula(cell: str) -> bool:
    """What Excel would run: a formula start, unless the cell is a plain number (-1.5 is a number)."""
    return would_run_as_formula(cell) and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", cell)


def test_every_csv_the_project_writes_shows_a_formula_as_text(workspace, ingest, tmp_path):
    """The error report from a delivered file full of formulas; an export from a mart holding
    them; a feed's rows. Read back as Excel would, no cell starts a formula."""
    import datetime as dt

    from orchestration.export.bi_files import write_exports
    from orchestration.ingest.error_report import write_error_report
    from tests.conftest import AUDIT_HEADER, audit_row, write_csv

    write_csv(workspace.landing_dir, "audits_2022-06-30.csv", AUDIT_HEADER, [
        audit_row(f"A{n}", la_code=text, team=text) for n, text in enumerate(NASTY[:8])
    ])
    ingest(run_id="night-1", today=dt.date(2022, 8, 5))
    report, rejections = write_error_report(workspace, "night-1")
    assert rejections == 8

    warehouse = tmp_path / "published" / "cfa.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("CREATE SCHEMA marts")
        connection.execute("CREATE TABLE marts.fct_audit AS SELECT unnest(?) AS team_name, -1.5 AS change, DATE '2022-07-01' AS day", [NASTY])
    write_exports(warehouse, tmp_path / "exports", dt.datetime(2022, 8, 6, 2), "run")

    feed_like = tmp_path / "rows.csv"
    write_rows(feed_like, ["=label", "value"], [[text, -3] for text in NASTY])

    files = [report, workspace.outstanding_rejections, tmp_path / "exports" / "csv" / "fct_audit.csv", feed_like]
    for path in files:
        assert path.read_bytes().startswith(BOM), path
        with path.open(encoding="utf-8-sig", newline="") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert not [cell for cell in cells if runs_as_formula(cell)], path
    with (tmp_path / "exports" / "csv" / "fct_audit.csv").open(encoding="utf-8-sig", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert [row["team_name"] for row in exported if row["team_name"].startswith("'")]  # kept, shown as text
    assert {row["change"] for row in exported} == {"-1.5"} and {row["day"] for row in exported} == {"2022-07-01"}
    with report.open(encoding="utf-8-sig", newline="") as handle:
        values = {row["value"] for row in csv.DictReader(handle)}
    assert "'=HYPERLINK(\"http://x\",\"click\")" in values and "'-2+3" in values


def test_the_sample_drop_has_no_cell_a_spreadsheet_would_run(sample_run):
    """The sample stands in for a case system's extract, written as a case system would: it must
    not need the neutralising the project's own CSVs get."""
    for path in sample_run.sample_files:
        if path.suffix == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as handle:
                assert not [cell for row in csv.reader(handle) for cell in row if runs_as_formula(cell)], path.name
