"""The disclosure-controlled feed (`cfa export`) and CSV safety.

The proof that no suppressed value can be recovered does not trust the feed's own bookkeeping:
it reads the files written, rebuilds every relation between their figures that a reader knows
(rows adding up to totals, the summary's figures as sums of grades, three activities per audit,
the year to date as this quarter plus earlier ones), and for every `c` solves for the smallest
and largest whole number it can be, given every figure shown. A value is recoverable when the
two are equal. It does this for the sample's feed and for generated edge cases (one council
each, in one generated warehouse), including figures summed across councils and rounded.
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

    def range_of(self, target: int) -> tuple[float, float]:
        from scipy.optimize import Bounds, LinearConstraint, milp

        size = len(self.names)
        matrix = np.zeros((len(self.relations), size))
        for row, relation in enumerate(self.relations):
            for column, coefficient in relation.items():
                matrix[row, column] += coefficient
        lower = np.array([b[0] for b in self.bounds], dtype=float)
        upper = np.array([b[1] for b in self.bounds], dtype=float)
        found = []
        for sign in (1, -1):
            objective = np.zeros(size)
            objective[target] = sign
            result = milp(objective, constraints=[LinearConstraint(matrix, 0, 0)], bounds=Bounds(lower, upper),
                          integrality=np.ones(size))
            assert result.status != 2, "the files contradict themselves"
            found.append(round(result.x[target]) if result.status == 0 else sign * -math.inf)
        return found[0], found[1]

    def recoverable(self) -> dict[str, int]:
        found = {}
        for index in self.suppressed:
            low, high = self.range_of(index)
            if low == high:
                found[self.names[index]] = low
        return found


def audit_feed(folder: Path) -> tuple[Reader, dict[str, dict]]:
    """Rebuild a reader's knowledge from the feed's four files."""
    summary = {row["measure"]: row for row in read_feed_csv(folder / "quarterly_summary.csv")}
    overall = {row["grade"]: row for row in read_feed_csv(folder / "overall_grades.csv")}
    areas = read_feed_csv(folder / "practice_area_grades.csv")
    year = {row["grade"]: row for row in read_feed_csv(folder / "year_to_date.csv")}
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

    for area in sorted({row["practice_area"] for row in areas}):
        rows = {row["grade"]: row for row in areas if row["practice_area"] == area}
        parts = [reader.figure(f"{area} {grade}", rows[grade]["audits"]) for grade in GRADES]
        area_total = reader.figure(f"{area} Total", rows["Total"]["audits"])
        reader.sums_to(area_total, parts)
        reader.equal(area_total, audits)

    first_quarter = not re.search(r" to Q[2-4]$", year["Total"]["time_period"])
    this_year = {grade: reader.figure(f"year {grade}", year[grade]["year_to_date_audits"]) for grade in GRADES}
    reader.sums_to(reader.figure("year Total", year["Total"]["year_to_date_audits"]), list(this_year.values()))
    previous = {grade: reader.figure(f"previous {grade}", year[grade]["previous_year_audits"]) for grade in GRADES}
    reader.sums_to(reader.figure("previous Total", year["Total"]["previous_year_audits"]), list(previous.values()))
    for grade in GRADES:
        earlier = reader.latent(f"earlier quarters {grade}", known_zero=first_quarter)
        reader.sums_to(this_year[grade], [quarter[grade], earlier])

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
    return reader, {"summary": summary, "overall": overall, "areas": areas, "year": year}


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
        "README.md", "overall_grades.csv", "practice_area_grades.csv", "quarterly_summary.csv", "year_to_date.csv",
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
    readme = (out / "README.md").read_text()
    assert "Every count from 1 to 5 is shown as `c`" in readme and "secondary suppression" in readme
    assert "Figures as at (the newest extract each council delivered): 885: 2022-08-05" in readme
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


def _council(code: str, rng: random.Random, q2: list[int] | None = None, small: bool = True) -> dict:
    """A council's grade counts by quarter (2021-22 Q1 to 2022-23 Q2) and its Q2 practice areas."""
    quarters = {}
    for label in ("2021-22 Q1", "2021-22 Q2", "2021-22 Q3", "2021-22 Q4", "2022-23 Q1"):
        quarters[label] = _split(rng.choice([0, 3, 8, 15, 40]), 4, rng, small)
    quarters["2022-23 Q2"] = q2 if q2 is not None else _split(rng.choice([1, 2, 4, 7, 9, 12, 20]), 4, rng, small)
    audits = sum(quarters["2022-23 Q2"])
    areas = {}
    for area in AREAS:
        areas[area] = _split(audits, 4, rng, small)
    return {"code": code, "quarters": quarters, "areas": areas,
            "targeted": (rng.choice([0, 1, 3, 14]), rng.choice([0, 2, 5, 40])), "actions": (rng.randrange(0, 12), rng.randrange(0, 12))}


def _write_warehouse(path: Path, sample_warehouse: Path, councils: list[dict]) -> None:
    grades_rows, area_rows, summary_rows = [], [], []
    labels = dict(enumerate(GRADES, start=1))
    for council in councils:
        for quarter_label, counts in council["quarters"].items():
            year, quarter = quarter_label.split(" Q")
            if sum(counts):
                grades_rows += [(council["code"], year, int(quarter), quarter_label, code, labels[code], count)
                                for code, count in enumerate(counts, start=1)]
            targeted, children = council["targeted"] if quarter_label == "2022-23 Q2" else (0, 0)
            raised, completed = council["actions"] if quarter_label == "2022-23 Q2" else (0, 0)
            summary_rows.append((council["code"], year, int(quarter), quarter_label, sum(counts), 3 * sum(counts),
                                 targeted, children, raised, completed))
        for area, counts in council["areas"].items():
            if sum(counts):
                area_rows += [(council["code"], "2022-23 Q2", area, code, count) for code, count in enumerate(counts, start=1)]
    with duckdb.connect(str(path)) as connection:
        connection.execute(f"ATTACH '{sample_warehouse}' AS sample (READ_ONLY)")
        connection.execute("CREATE SCHEMA marts")
        connection.execute("CREATE SCHEMA ops")
        for table in ("dim_grade", "dim_practice_area"):
            connection.execute(f"CREATE TABLE marts.{table} AS SELECT * FROM sample.marts.{table}")
        connection.execute("""CREATE TABLE marts.mart_audit_grades_by_quarter (la_code VARCHAR, fiscal_year VARCHAR,
            fiscal_quarter INTEGER, quarter_label VARCHAR, grade_code INTEGER, grade_label VARCHAR, audit_count INTEGER)""")
        connection.executemany("INSERT INTO marts.mart_audit_grades_by_quarter VALUES (?, ?, ?, ?, ?, ?, ?)", grades_rows)
        connection.execute("""CREATE TABLE marts.mart_subsection_grades_by_quarter (la_code VARCHAR, quarter_label VARCHAR,
            practice_area_code VARCHAR, grade_code INTEGER, audit_count INTEGER)""")
        connection.executemany("INSERT INTO marts.mart_subsection_grades_by_quarter VALUES (?, ?, ?, ?, ?)", area_rows)
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
    councils = [_council(code, rng, q2) for code, q2 in designed.items()]
    councils += [_council(f"9{10 + n}", rng, small=n % 2 == 0) for n in range(6)]
    warehouse = tmp_path / "edge" / "cfa.duckdb"
    warehouse.parent.mkdir()
    _write_warehouse(warehouse, sample_run.paths.warehouse, councils)

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
