"""A national-scale synthetic drop: many councils, several financial years, written in seconds.

`cfa sample DIR --councils N --years Y` writes, for the first N councils of `LA_CODES`
(Worcestershire first), every month of the Y financial years ending with 2022-23:
- about 20 completed case file audits a month (15 to 25), each with its audit, peer review and
  moderation and both gradings' seven practice-area grades, and 0 to 3 actions;
- a few audits a year started and cancelled, and a few still in progress at the end;
- a targeted audit of 10 to 30 children in about one month in three;
- one or two practice developments a month;
- for every audited child, the characteristics contract v2 allows: date of birth (degraded to an
  age band at ingestion), sex, DfE ethnicity code, disability and status at the audit.
It is the contract's v2 format: every file carries la_code, in the same files the bundled
sample writes for one council (`generator.py`, v1), except that the actions are a CSV rather
than a workbook sheet. Identifiers still start with the council's code and the month
(885-CFA-202204-001), so the drop also reads as one flat set of records (bench/floor.sql).

Every column is drawn at once with numpy from one seeded generator, and DuckDB formats and
writes the files: the cost is per column, not per row, so 153 councils over five years take
seconds. The bundled sample (`generator.py`) is a different, hand-tuned drop and is untouched.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from orchestration.sample.generator import GRADE_LABELS, PRACTICE_AREAS, PRACTICE_DEVELOPMENTS, ROLES, SERVICE_TEAMS, TARGETED_AUDITS

SEED = 885
# The last financial year of a national sample is 2022-23, the bundled sample's year; the drop
# is as at 5 April 2023, after that year's last completion.
LAST_FINANCIAL_YEAR_START = 2022
AS_AT = dt.date(2023, 4, 5)
# Contract dates start on 1 April 2000, and audits start up to 40 days before they complete.
MAX_YEARS = LAST_FINANCIAL_YEAR_START - 2000

# The 153 English local authorities with children's services, by DfE LA code: Worcestershire
# (the bundled sample's council) first, then in code order.
LA_CODES = (
    "885",
    "201", "202", "203", "204", "205", "206", "207", "208", "209", "210", "211", "212", "213",
    "301", "302", "303", "304", "305", "306", "307", "308", "309", "310", "311", "312", "313",
    "314", "315", "316", "317", "318", "319", "320",
    "330", "331", "332", "333", "334", "335", "336", "340", "341", "342", "343", "344",
    "350", "351", "352", "353", "354", "355", "356", "357", "358", "359",
    "370", "371", "372", "373", "380", "381", "382", "383", "384", "390", "391", "392", "393", "394",
    "420",
    "800", "801", "802", "803", "805", "806", "807", "808", "810", "811", "812", "813", "815", "816",
    "821", "822", "823", "825", "826", "830", "831", "838", "839", "840", "841", "845", "846",
    "850", "851", "852", "855", "856", "857", "860", "861", "865", "866", "867", "868", "869",
    "870", "871", "872", "873", "874", "876", "877", "878", "879", "880", "881", "882", "883",
    "884", "886", "887", "888", "889", "890", "891", "892", "893", "894", "895", "896",
    "908", "916", "919", "921", "925", "926", "929", "931", "933", "935", "936", "937", "938",
    "940", "941", "942", "943",
)

ACTIVITY_TYPES = ("audit", "peer_review", "moderation")
# Short team names per service area, in SERVICE_TEAMS' order; each council has three of each.
TEAM_STEMS = (
    "Front Door", "A&I", "Family Support", "Children in Care", "Care Leavers", "SFF",
    "Disabled Children's", "Fostering", "Adoption",
)
# Months in which a council starts an audit it later cancels (as the bundled sample does).
CANCELLATION_MONTHS = (7, 11, 2)
# Audits still open at the end of the drop: days before its last day each started, and how many
# of its activities are done.
IN_PROGRESS = ((33, 2), (24, 2), (17, 1), (10, 1), (3, 0))
# Overall grade shares before a council's own tilt: Outstanding, Good, Requires Improvement, Inadequate.
OVERALL_GRADE_SHARES = (0.03, 0.40, 0.50, 0.07)
ACTION_COUNTS = (0, 1, 1, 2, 3)
# The audited child's characteristics (contract v2), drawn from a generator of their own so that
# every other column is what it was before they were added.
SEXES = ("Male", "Female", "Not known")
SEX_SHARES = (0.52, 0.47, 0.01)
ETHNICITIES = ("WBRI", "WIRI", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN", "AOTH",
               "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT")
ETHNICITY_SHARES = (0.66, 0.01, 0.05, 0.01, 0.02, 0.01, 0.02, 0.03, 0.02, 0.03, 0.01, 0.01,
                    0.02, 0.03, 0.01, 0.01, 0.03, 0.01, 0.01)
DISABLED_SHARE = 0.12
# Status at the audit by service area (SERVICE_TEAMS' order): child in need (CIN), child
# protection plan (CP), child looked after (CLA), care leaver; Family Support's children are on
# a plan one time in three. Care leavers are 16 to 20, other children 0 to 17.
STATUSES = ("CIN", "CP", "CLA", "Care leaver")
STATUS_BY_SERVICE_AREA = (0, 0, 0, 2, 3, 0, 0, 2, 2)
FAMILY_SUPPORT = 2
CARE_LEAVERS = 4
ACTION_DUE_DAYS = (28, 42, 56, 90)
STAFF_PER_COUNCIL = 40
EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class DropShape:
    councils: int
    months: int
    rows: dict[str, int]


def financial_year_months(years: int) -> list[tuple[int, int]]:
    """Every (year, month) of the `years` financial years ending with 2022-23, in order."""
    first = LAST_FINANCIAL_YEAR_START - years + 1
    return [(start + (month < 4), month) for start in range(first, LAST_FINANCIAL_YEAR_START + 1) for month in (*range(4, 13), 1, 2, 3)]


def write_national_sample(directory: Path, councils: int = len(LA_CODES), years: int = 5, seed: int = SEED) -> list[Path]:
    """The first `councils` councils' audits over `years` financial years, as at 5 April 2023."""
    if not 1 <= councils <= len(LA_CODES):
        raise ValueError(f"councils must be 1 to {len(LA_CODES)}, not {councils}")
    if not 1 <= years <= MAX_YEARS:
        raise ValueError(f"years must be 1 to {MAX_YEARS}, not {years}")
    return write_drop(directory, LA_CODES[:councils], financial_year_months(years), AS_AT, seed)


def write_month_drop(directory: Path, la_codes: tuple[str, ...], year: int, month: int, seed: int = SEED) -> list[Path]:
    """One month's audits of some councils, as at the 5th of the month after: a nightly drop."""
    as_at = dt.date(year + month // 12, month % 12 + 1, 5)
    return write_drop(directory, la_codes, [(year, month)], as_at, seed + year * 100 + month)


def write_drop(directory: Path, la_codes: tuple[str, ...], months: list[tuple[int, int]], as_at: dt.date, seed: int) -> list[Path]:
    frames = _draw(list(la_codes), months, seed)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = as_at.isoformat()
    paths = {
        entity: directory / f"{entity}_{stamp}.csv"
        for entity in ("audits", "audit_activities", "audit_subsection_grades", "audit_actions", "practice_developments")
    }
    with duckdb.connect() as connection:
        connection.execute("SET enable_progress_bar = false")
        for name, frame in frames.items():
            connection.register(f"{name}_frame", frame)
        _write_files(connection, la_codes, paths)
    return list(paths.values())


def drop_shape(paths: list[Path]) -> DropShape:
    """Rows per entity of a written drop (for the tests and the benchmark)."""
    with duckdb.connect() as connection:
        rows = {
            path.stem.rsplit("_", 1)[0]: connection.execute(
                "SELECT count(*) FROM read_csv(?, all_varchar = true, header = true)", [str(path)]
            ).fetchone()[0]
            for path in paths
        }
        councils, months = connection.execute(
            "SELECT count(DISTINCT la_code), count(DISTINCT split_part(audit_id, '-', 3)) FROM read_csv(?, all_varchar = true, header = true)"
            " WHERE audit_type = 'case_file'",
            [str(next(path for path in paths if path.name.startswith("audits_")))],
        ).fetchone()
    return DropShape(councils=councils, months=months, rows=rows)


# ---------------------------------------------------------------------------------------------
# Drawing the columns
# ---------------------------------------------------------------------------------------------


def _day_number(date: dt.date) -> int:
    return (date - EPOCH).days


def _within_group(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2... within each run of equal values of a sorted array."""
    return np.arange(len(groups)) - np.searchsorted(groups, groups, side="left")


def _explode(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For parents with `counts` children each: each child's parent and its position among them."""
    parents = np.repeat(np.arange(len(counts)), counts)
    return parents, _within_group(parents)


def _draw(la_codes: list[str], months: list[tuple[int, int]], seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    council_count, month_count = len(la_codes), len(months)
    month_starts = np.array([_day_number(dt.date(year, month, 1)) for year, month in months])
    month_ends = np.array([_day_number(dt.date(year + month // 12, month % 12 + 1, 1)) - 1 for year, month in months])
    month_labels = np.array([year * 100 + month for year, month in months])
    month_numbers = np.array([month for _, month in months])
    drop_end = month_ends[-1]

    # Cells are (council, month), council-major: cell = council * month_count + month.
    cell_council = np.repeat(np.arange(council_count), month_count)
    cell_month = np.tile(np.arange(month_count), council_count)
    # Councils differ: each has its own lean towards Good (taken from Requires Improvement).
    good_tilt = rng.uniform(-0.12, 0.12, council_count)

    # Case file audits: completed ones by completion day, then cancelled, then still in progress.
    completed_cells = np.repeat(np.arange(council_count * month_count), rng.integers(15, 26, council_count * month_count))
    completed_day = month_starts[cell_month[completed_cells]] + np.floor(
        rng.random(len(completed_cells)) * (month_ends - month_starts + 1)[cell_month[completed_cells]]
    ).astype(np.int64)
    completed_day = completed_day[np.lexsort((completed_day, completed_cells))]
    completed_start = completed_day - rng.integers(14, 41, len(completed_cells))

    cancelled_cells = np.flatnonzero(np.isin(month_numbers[cell_month], CANCELLATION_MONTHS))
    cancelled_start = month_starts[cell_month[cancelled_cells]] + 2

    last_cells = np.arange(council_count) * month_count + month_count - 1
    progress_cells = np.repeat(last_cells, len(IN_PROGRESS))
    progress_start = drop_end - np.tile([days for days, _ in IN_PROGRESS], council_count)
    progress_activities = np.tile([done for _, done in IN_PROGRESS], council_count)

    cells = np.concatenate([completed_cells, cancelled_cells, progress_cells])
    status = np.concatenate([
        np.full(len(completed_cells), 0), np.full(len(cancelled_cells), 1), np.full(len(progress_cells), 2)
    ])  # 0 completed, 1 cancelled, 2 in progress
    start = np.concatenate([completed_start, cancelled_start, progress_start])
    completed = np.concatenate([completed_day, np.full(len(cancelled_cells) + len(progress_cells), -1)])
    activity_count = np.concatenate([np.full(len(completed_cells), 3), np.full(len(cancelled_cells), 1), progress_activities])
    order = np.argsort(cells, kind="stable")
    cells, status, start, completed, activity_count = (a[order] for a in (cells, status, start, completed, activity_count))
    audit_count = len(cells)
    council = cell_council[cells]

    shares = np.array(OVERALL_GRADE_SHARES)
    thresholds = np.cumsum(
        np.column_stack([np.full(council_count, shares[0]), shares[1] + good_tilt, shares[2] - good_tilt]), axis=1
    )[council]
    draw = rng.random(audit_count)[:, None]
    final_overall = 1 + (draw >= thresholds).sum(axis=1)
    final_areas = np.clip(final_overall[:, None] + rng.choice([-1, 0, 0, 0, 1], (audit_count, len(PRACTICE_AREAS))), 1, 4)
    # Moderation sometimes changes the auditor's grade: the auditor's may differ by one step.
    auditor_overall = np.where(
        rng.random(audit_count) < 0.15, np.clip(final_overall + rng.choice([-1, 1], audit_count), 1, 4), final_overall
    )
    auditor_areas = np.where(
        rng.random(final_areas.shape) < 0.1, np.clip(final_areas + rng.choice([-1, 1], final_areas.shape), 1, 4), final_areas
    )
    audits = pd.DataFrame({
        "row": np.arange(audit_count),
        "council": council,
        "month_label": month_labels[cell_month[cells]],
        "sequence": _within_group(cells) + 1,
        "child": rng.integers(0, 1_000_000, audit_count),
        "service_area": rng.integers(0, len(SERVICE_TEAMS), audit_count),
        "team": rng.integers(1, 4, audit_count),
        "status": status,
        "start_day": start,
        "completed_day": completed,
    })

    # Activities: the first activity_count of audit, peer review, moderation.
    activity_audit, activity_type = _explode(activity_count)
    last_day = np.where(completed >= 0, completed, drop_end)[activity_audit]
    audit_day = np.minimum(last_day, start[activity_audit] + rng.integers(2, 7, len(activity_audit)))
    peer_day = np.minimum(last_day, audit_day + rng.integers(3, 9, len(activity_audit)))
    activity_overall = np.select(
        [activity_type == 0, activity_type == 2], [auditor_overall[activity_audit], final_overall[activity_audit]], 0
    )
    activities = pd.DataFrame({
        "row": np.arange(len(activity_audit)),
        "audit_row": activity_audit,
        "activity_type": activity_type,
        "role": activity_type * 2 + rng.integers(0, 2, len(activity_audit)),
        "staff": rng.integers(1, STAFF_PER_COUNCIL + 1, len(activity_audit)),
        "activity_day": np.select([activity_type == 0, activity_type == 1], [audit_day, peer_day], last_day),
        "overall_grade": activity_overall,
    })

    # Practice-area grades of the graded activities (audit and moderation), seven each.
    graded = np.flatnonzero(activity_type != 1)
    grade_activity = np.repeat(graded, len(PRACTICE_AREAS))
    area = np.tile(np.arange(len(PRACTICE_AREAS)), len(graded))
    grade_audit = activity_audit[grade_activity]
    grade = np.where(activity_type[grade_activity] == 0, auditor_areas[grade_audit, area], final_areas[grade_audit, area])
    # Exports spell things in several accepted ways; the warehouse normalises them.
    subsection_grades = pd.DataFrame({
        "row": np.arange(len(grade_activity)),
        "activity_row": grade_activity,
        "practice_area": area,
        "area_as_code": rng.random(len(grade_activity)) < 0.1,
        "grade": grade,
        "grade_as_ri": (grade == 3) & (rng.random(len(grade_activity)) < 0.2),
    })

    # Actions arising from completed audits, judged as at the end of the drop's last month.
    completed_audits = np.flatnonzero(status == 0)
    action_parent, action_number = _explode(rng.choice(ACTION_COUNTS, len(completed_audits)))
    action_audit = completed_audits[action_parent]
    raised = completed[action_audit]
    due = raised + rng.choice(ACTION_DUE_DAYS, len(action_audit))
    roll = rng.random(len(action_audit))
    completed_on_time = raised + np.floor(rng.random(len(action_audit)) * (due - raised + 8)).astype(np.int64) + 7
    completed_early = raised + rng.integers(3, 21, len(action_audit))
    action_status = np.select([roll < 0.05, (due <= drop_end) & (roll < 0.85), (due > drop_end) & (roll < 0.3)], [2, 1, 1], 0)
    action_completed = np.where(
        action_status == 1, np.minimum(drop_end, np.where(due <= drop_end, completed_on_time, completed_early)), -1
    )
    actions = pd.DataFrame({
        "row": np.arange(len(action_audit)),
        "audit_row": action_audit,
        "number": action_number + 1,
        "practice_area": np.where(rng.random(len(action_audit)) < 0.8, rng.integers(0, len(PRACTICE_AREAS), len(action_audit)), -1),
        "raised_day": raised,
        "due_day": due,
        "completed_day": action_completed,
        "status": action_status,
    })

    # Targeted audits: in about one month in three, 10 to 30 children, started on the 1st.
    targeted_cells = np.flatnonzero(rng.random(council_count * month_count) < 1 / 3)
    child_cell_index, child_number = _explode(rng.integers(10, 31, len(targeted_cells)))
    child_cells = targeted_cells[child_cell_index]
    month_length = (month_ends - month_starts + 1)[cell_month[child_cells]]
    targeted = pd.DataFrame({
        "row": np.arange(len(child_cells)),
        "council": cell_council[child_cells],
        "month_label": month_labels[cell_month[child_cells]],
        "child_number": child_number + 1,
        "theme": rng.integers(0, len(TARGETED_AUDITS), len(targeted_cells))[child_cell_index],
        "child": rng.integers(0, 1_000_000, len(child_cells)),
        "service_area": rng.integers(0, len(SERVICE_TEAMS), len(child_cells)),
        "start_day": month_starts[cell_month[child_cells]],
        "completed_day": month_starts[cell_month[child_cells]] + np.floor(rng.random(len(child_cells)) * month_length).astype(np.int64),
    })

    # Practice developments: one or two a month.
    development_cell_index, development_number = _explode(rng.integers(1, 3, council_count * month_count))
    development_month = cell_month[development_cell_index]
    developments = pd.DataFrame({
        "row": np.arange(len(development_cell_index)),
        "council": cell_council[development_cell_index],
        "month_label": month_labels[development_month],
        "number": development_number + 1,
        "published_day": month_starts[development_month]
        + np.floor(rng.random(len(development_month)) * (month_ends - month_starts + 1)[development_month]).astype(np.int64),
        "kind": rng.integers(0, len(PRACTICE_DEVELOPMENTS), len(development_month)),
    })
    _draw_children(audits, seed)
    _draw_children(targeted, seed + 1)
    return {
        "audits": audits,
        "activities": activities,
        "subsection_grades": subsection_grades,
        "actions": actions,
        "targeted": targeted,
        "developments": developments,
    }


def _draw_children(frame: pd.DataFrame, seed: int) -> None:
    """The audited children's characteristics, as columns of `frame` (one row per audit, with
    its service_area and start_day): age in days at the audit's start, sex, ethnicity, disability
    and status."""
    rng = np.random.default_rng([seed, 11])
    count = len(frame)
    service_area = frame["service_area"].to_numpy()
    status = np.array(STATUS_BY_SERVICE_AREA)[service_area]
    status = np.where((service_area == FAMILY_SUPPORT) & (rng.random(count) < 1 / 3), 1, status)
    age_years = np.where(service_area == CARE_LEAVERS, rng.integers(16, 21, count), rng.integers(0, 18, count))
    frame["age_days"] = age_years * 365 + rng.integers(0, 365, count)
    frame["sex"] = rng.choice(len(SEXES), count, p=SEX_SHARES)
    frame["ethnicity"] = rng.choice(len(ETHNICITIES), count, p=np.array(ETHNICITY_SHARES) / sum(ETHNICITY_SHARES))
    frame["disabled"] = (rng.random(count) < DISABLED_SHARE) | (service_area == 6)
    frame["child_status"] = status


# ---------------------------------------------------------------------------------------------
# Writing the files
# ---------------------------------------------------------------------------------------------


def _sql_list(values) -> str:
    """A DuckDB list literal of constants (indexed from 1 in SQL)."""
    return "[" + ", ".join("'" + str(value).replace("'", "''") + "'" for value in values) + "]"


def _date(day_column: str, format: str = "%Y-%m-%d") -> str:
    return f"CASE WHEN {day_column} >= 0 THEN strftime(DATE '1970-01-01' + CAST({day_column} AS INTEGER), '{format}') END"


def _write_files(connection: duckdb.DuckDBPyConnection, la_codes: tuple[str, ...], paths: dict[str, Path]) -> None:
    councils = _sql_list(la_codes)
    service_areas = _sql_list(SERVICE_TEAMS)
    team_stems = _sql_list(TEAM_STEMS)
    themes = _sql_list(theme for theme, _, _ in TARGETED_AUDITS)
    area_codes = _sql_list(code for code, _ in PRACTICE_AREAS)
    area_names = _sql_list(name for _, name in PRACTICE_AREAS)
    grades = _sql_list(GRADE_LABELS[code] for code in sorted(GRADE_LABELS))
    activity_types = _sql_list(ACTIVITY_TYPES)
    roles = _sql_list(role for activity_type in ACTIVITY_TYPES for role in ROLES[activity_type])
    statuses = _sql_list(["completed", "cancelled", "in_progress"])
    action_statuses = _sql_list(["open", "completed", "cancelled"])
    development_categories = _sql_list(category for _, category, _ in PRACTICE_DEVELOPMENTS)
    development_titles = _sql_list(title for _, _, title in PRACTICE_DEVELOPMENTS)
    sexes, ethnicities, child_statuses = _sql_list(SEXES), _sql_list(ETHNICITIES), _sql_list(STATUSES)
    child_columns = f"""
        {_date('start_day - age_days', '%d/%m/%Y')} AS date_of_birth,
        {sexes}[sex + 1] AS sex,
        {ethnicities}[ethnicity + 1] AS ethnicity,
        CASE WHEN disabled THEN 'Yes' ELSE 'No' END AS disability,
        {child_statuses}[child_status + 1] AS child_status"""

    connection.execute(f"""
        CREATE TEMP TABLE case_file_audits AS
        SELECT
            row,
            {councils}[council + 1] AS la_code,
            printf('%s-CFA-%d-%03d', {councils}[council + 1], month_label, sequence) AS audit_id,
            *
        FROM audits_frame
    """)
    connection.execute(f"""
        CREATE TEMP TABLE activity_ids AS
        SELECT
            activities_frame.*,
            case_file_audits.audit_id,
            case_file_audits.la_code,
            case_file_audits.audit_id || '-' || ['AUD', 'PEER', 'MOD'][activity_type + 1] AS activity_id
        FROM activities_frame
        JOIN case_file_audits ON case_file_audits.row = activities_frame.audit_row
    """)
    connection.execute(f"""
        COPY (
            SELECT
                audit_id, la_code, child_id, service_area, team, audit_type, targeted_audit_id, audit_theme,
                audit_start_date, audit_completed_date, status, date_of_birth, sex, ethnicity, disability, child_status
            FROM (
                SELECT
                    0 AS part, row, audit_id, la_code,
                    printf('P%s%06d', la_code, child) AS child_id,
                    {service_areas}[service_area + 1] AS service_area,
                    {team_stems}[service_area + 1] || ' Team ' || team AS team,
                    'case_file' AS audit_type,
                    NULL AS targeted_audit_id,
                    NULL AS audit_theme,
                    {_date('start_day', '%d/%m/%Y')} AS audit_start_date,
                    {_date('completed_day', '%d/%m/%Y')} AS audit_completed_date,
                    {statuses}[status + 1] AS status,
                    {child_columns}
                FROM case_file_audits
                UNION ALL
                SELECT
                    1, row,
                    printf('%s-TA-%d-%03d', {councils}[council + 1], month_label, child_number),
                    {councils}[council + 1],
                    printf('P%s%06d', {councils}[council + 1], child),
                    {service_areas}[service_area + 1],
                    NULL,
                    'targeted',
                    printf('%s-TA-%d', {councils}[council + 1], month_label),
                    {themes}[theme + 1],
                    {_date('start_day', '%d/%m/%Y')},
                    {_date('completed_day', '%d/%m/%Y')},
                    'completed',
                    {child_columns}
                FROM targeted_frame
            )
            ORDER BY part, row
        ) TO '{paths["audits"]}' (HEADER, DELIMITER ',')
    """)
    # The activity export uses display headers, as a case management system's report might.
    connection.execute(f"""
        COPY (
            SELECT
                activity_id AS "Activity ID",
                la_code AS "LA Code",
                audit_id AS "Audit ID",
                {activity_types}[activity_type + 1] AS "Activity Type",
                {roles}[role + 1] AS "Completed By Role",
                printf('S%s%03d', la_code, staff) AS "Completed By ID",
                {_date('activity_day')} AS "Activity Date",
                CASE WHEN overall_grade > 0 THEN {grades}[overall_grade] END AS "Overall Grade"
            FROM activity_ids
            ORDER BY row
        ) TO '{paths["audit_activities"]}' (HEADER, DELIMITER ',')
    """)
    connection.execute(f"""
        COPY (
            SELECT
                activity_ids.activity_id,
                activity_ids.la_code,
                CASE WHEN area_as_code THEN {area_codes} ELSE {area_names} END[practice_area + 1] AS practice_area,
                CASE WHEN grade_as_ri THEN 'RI' ELSE {grades}[grade] END AS grade
            FROM subsection_grades_frame
            JOIN activity_ids ON activity_ids.row = subsection_grades_frame.activity_row
            ORDER BY subsection_grades_frame.row
        ) TO '{paths["audit_subsection_grades"]}' (HEADER, DELIMITER ',')
    """)
    connection.execute(f"""
        COPY (
            SELECT
                case_file_audits.audit_id || '-ACN' || actions_frame.number AS action_id,
                case_file_audits.la_code,
                case_file_audits.audit_id,
                CASE WHEN actions_frame.practice_area >= 0 THEN {area_codes}[actions_frame.practice_area + 1] END AS practice_area,
                {_date('raised_day')} AS raised_date,
                {_date('due_day')} AS due_date,
                {_date('actions_frame.completed_day')} AS completed_date,
                {action_statuses}[actions_frame.status + 1] AS status
            FROM actions_frame
            JOIN case_file_audits ON case_file_audits.row = actions_frame.audit_row
            ORDER BY actions_frame.row
        ) TO '{paths["audit_actions"]}' (HEADER, DELIMITER ',')
    """)
    # Newsletters are titled by their month; other developments reuse the bundled sample's titles.
    connection.execute(f"""
        COPY (
            SELECT
                printf('%s-DEV-%d-%02d', {councils}[council + 1], month_label, number) AS development_id,
                {councils}[council + 1] AS la_code,
                {_date('published_day')} AS published_date,
                {development_categories}[kind + 1] AS category,
                CASE
                    WHEN {development_categories}[kind + 1] = 'newsletter'
                    THEN 'Principal Social Worker Newsletter: ' || strftime(DATE '1970-01-01' + CAST(published_day AS INTEGER), '%B %Y')
                    ELSE {development_titles}[kind + 1]
                END AS title
            FROM developments_frame
            ORDER BY row
        ) TO '{paths["practice_developments"]}' (HEADER, DELIMITER ',')
    """)
