"""The bundled sample: a deterministic, synthetic drop for local authority 885.

It is built to reproduce every figure of the Q1/Q2 2022-23 executive summary:
- 2021-22: a monthly case file audit programme (15 to 25 completed audits a month);
- 2022-23 Q1: 14 targeted audits covering 258 children (April to June 2022), and no case file
  audits in April or May 2022;
- June and July 2022: 22 completed case file audits, 3 activities each (66), final grades
  9 Good, 12 Requires Improvement, 1 Inadequate;
- 2021-22 as a whole: a little more Requires Improvement and a little less Good than that;
- practice-area grades whose Good share rises from 2021-22 Q4 to 2022-23 in six areas and not in
  Assessment and Analysis, whether Good is read alone or with Outstanding.
Grade counts are fixed by construction; the random generator (seeded) only orders them.
The drop is as at 5 August 2022: nothing completes after 31 July 2022.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

LA_CODE = "885"
AS_AT = dt.date(2022, 8, 5)
LAST_COMPLETION = dt.date(2022, 7, 31)
SEED = 885

GRADE_LABELS = {1: "Outstanding", 2: "Good", 3: "Requires Improvement", 4: "Inadequate"}
PRACTICE_AREAS = [
    ("voice_of_child", "Voice of the Child"),
    ("assessment_analysis", "Assessment and Analysis"),
    ("quality_of_plans", "Quality of Plans"),
    ("management_oversight", "Management Oversight"),
    ("partnership_working", "Partnership Working"),
    ("strengths_based_practice", "Strengths-Based Practice"),
    ("embracing_diversity", "Embracing Diversity"),
]

# Completed case file audits a month in 2021-22, April to March (236 in all).
MONTHLY_AUDITS_2021_22 = [18, 21, 19, 20, 16, 22, 21, 20, 15, 22, 19, 23]
# Final overall grades of those 236: Outstanding, Good, Requires Improvement, Inadequate.
OVERALL_GRADES_2021_22 = {1: 4, 2: 90, 3: 134, 4: 8}
# June and July 2022: 22 audits, 9 Good, 12 Requires Improvement, 1 Inadequate.
MONTHLY_AUDITS_2022_23 = {6: 10, 7: 12}
OVERALL_GRADES_2022_23 = {2: 9, 3: 12, 4: 1}
# Final practice-area grades, (Outstanding, Good, Inadequate) counts; the rest Requires Improvement.
AREA_GRADES_2021_22_Q4 = {  # of 64 audits
    "voice_of_child": (2, 26, 3),
    "assessment_analysis": (1, 24, 3),
    "quality_of_plans": (1, 23, 3),
    "management_oversight": (2, 28, 3),
    "partnership_working": (3, 31, 2),
    "strengths_based_practice": (1, 25, 3),
    "embracing_diversity": (2, 27, 2),
}
AREA_GRADES_2022_23 = {  # of 22 audits
    "voice_of_child": (0, 11, 1),
    "assessment_analysis": (0, 7, 2),
    "quality_of_plans": (0, 10, 1),
    "management_oversight": (0, 12, 1),
    "partnership_working": (0, 13, 0),
    "strengths_based_practice": (0, 11, 1),
    "embracing_diversity": (0, 12, 1),
}
TARGETED_AUDITS = [  # theme, children audited (258 in all), month completed in 2022
    ("Step-up and step-down", 25, 4),
    ("Strategy discussions", 18, 4),
    ("Section 47 enquiries", 22, 4),
    ("Repeat child protection plans", 15, 4),
    ("Transfer of care leavers", 20, 5),
    ("Supporting Families First", 17, 5),
    ("Contributions to EHCPs", 19, 5),
    ("Placement disruptions", 16, 5),
    ("Voice of the child in strategy discussions", 21, 5),
    ("Supervision and management oversight", 14, 6),
    ("Pre-birth assessments", 23, 6),
    ("Private fostering", 17, 6),
    ("Domestic abuse", 15, 6),
    ("Children missing education", 16, 6),
]
PRACTICE_DEVELOPMENTS = [
    ("2022-05-06", "newsletter", "Principal Social Worker Newsletter: May 2022"),
    ("2022-06-03", "newsletter", "Principal Social Worker Newsletter: June 2022"),
    ("2022-07-01", "newsletter", "Principal Social Worker Newsletter: July 2022"),
    ("2022-05-20", "briefing", "Learning from Complaints, Feedback, Disruptions & VoC Briefing"),
    ("2022-06-10", "briefing", "QAPP Progress Update (multi-agency practice)"),
    ("2022-06-24", "briefing", "Learning from Audits Briefing"),
    ("2022-07-08", "briefing", "Assessment & Analysis Briefing"),
    ("2022-07-22", "briefing", "CPD & Training Briefing"),
    ("2022-07-14", "presentation", "Learning from Practice: Social Care & Safeguarding End-to-End Leadership Event"),
    ("2022-05-13", "practice_guidance", "Guidance on managing emails & data breaches"),
    ("2022-05-27", "practice_guidance", "Guidance on supporting birth families where a child has been adopted"),
    ("2022-06-17", "practice_guidance", "What Good Looks Like for Social Care Contributions to EHCPs/Annual Reviews"),
    ("2022-06-17", "practice_guidance", "Link to Adults Position of Trust Policy & Procedure"),
    ("2022-07-01", "practice_guidance", "Updated Transfer Protocol for Care Leavers and SFF"),
    ("2022-07-15", "practice_guidance", "Reviewed & updated Step-up & Step-Down Procedure"),
    ("2022-05-16", "system_change", "Strategy Discussion Record captures all agencies' views on the Voice of the Child"),
    ("2022-06-06", "system_change", "Section 47 Record includes rationale when recommending a repeat CP plan"),
    ("2022-06-20", "system_change", "New case note type evidences distribution of Strategy Discussion Records"),
    ("2022-07-04", "system_change", "Practitioner Supervision Record: learning & reflection from QA & complaints"),
    ("2022-07-18", "system_change", "Case Supervision Record: review of new information on an open case"),
]
SERVICE_TEAMS = {
    "Family Front Door": ["Front Door North", "Front Door South"],
    "Assessment and Intervention": ["A&I Team 1", "A&I Team 2", "A&I Team 3"],
    "Family Support (Child in Need and Child Protection)": ["Family Support Wyre Forest", "Family Support Redditch", "Family Support Worcester"],
    "Children in Care": ["Children in Care North", "Children in Care South"],
    "Care Leavers": ["Care Leavers Team"],
    "Supporting Families First": ["SFF East", "SFF West"],
    "Disabled Children": ["Disabled Children's Team"],
    "Fostering": ["Fostering Support"],
    "Adoption": ["Adoption Central"],
}
ROLES = {
    "audit": ["Team Manager", "Practice Lead"],
    "peer_review": ["Practice Lead", "Senior Practitioner"],
    "moderation": ["QA Officer", "Principal Social Worker"],
}


@dataclass
class Drop:
    audits: list[dict] = field(default_factory=list)
    activities: list[dict] = field(default_factory=list)
    subsection_grades: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    developments: list[dict] = field(default_factory=list)


class _Builder:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.drop = Drop()
        self.child_ids = iter(self.rng.sample(range(1_000_000, 9_999_999), 2_000))
        self.staff = [f"S{n:04d}" for n in self.rng.sample(range(1000, 9999), 40)]
        self.case_file_sequence = 0
        self.activity_sequence = 0
        self.action_sequence = 0

    def child(self) -> str:
        return f"P{next(self.child_ids)}"

    def _shifted(self, grade: int) -> int:
        return min(4, max(1, grade + self.rng.choice([-1, 1])))

    def case_file_audit(
        self,
        completed: dt.date | None,
        status: str,
        final_overall: int | None = None,
        area_grades: dict[str, int] | None = None,
        started: dt.date | None = None,
        activity_types: tuple[str, ...] = ("audit", "peer_review", "moderation"),
    ) -> str:
        self.case_file_sequence += 1
        audit_id = f"CFA-{self.case_file_sequence:05d}"
        service_area = self.rng.choice(list(SERVICE_TEAMS))
        started = started or completed - dt.timedelta(days=self.rng.randint(14, 40))
        self.drop.audits.append(
            {
                "audit_id": audit_id,
                "la_code": LA_CODE,
                "child_id": self.child(),
                "service_area": service_area,
                "team": self.rng.choice(SERVICE_TEAMS[service_area]),
                "audit_type": "case_file",
                "targeted_audit_id": None,
                "audit_theme": None,
                "audit_start_date": started,
                "audit_completed_date": completed if status == "completed" else None,
                "status": status,
            }
        )
        if final_overall is None:
            final_overall = self.rng.choice([2, 3, 3])
        if area_grades is None:
            area_grades = {
                code: min(4, max(1, final_overall + self.rng.choice([-1, 0, 0, 0, 1])))
                for code, _ in PRACTICE_AREAS
            }
        # Moderation sometimes changes the auditor's grade: the auditor's may differ by one step.
        auditor_overall = self._shifted(final_overall) if self.rng.random() < 0.15 else final_overall
        auditor_areas = {
            code: self._shifted(grade) if self.rng.random() < 0.1 else grade for code, grade in area_grades.items()
        }
        last_day = completed or AS_AT
        audit_day = started + dt.timedelta(days=self.rng.randint(2, 6))
        dates = {
            "audit": audit_day,
            "peer_review": min(last_day, audit_day + dt.timedelta(days=self.rng.randint(3, 8))),
            "moderation": last_day,
        }
        for activity_type in activity_types:
            self.activity_sequence += 1
            activity_id = f"ACT-{self.activity_sequence:06d}"
            grades = {"audit": auditor_areas, "moderation": area_grades}.get(activity_type)
            overall = {"audit": auditor_overall, "moderation": final_overall}.get(activity_type)
            self.drop.activities.append(
                {
                    "activity_id": activity_id,
                    "audit_id": audit_id,
                    "activity_type": activity_type,
                    "completed_by_role": self.rng.choice(ROLES[activity_type]),
                    "completed_by_id": self.rng.choice(self.staff),
                    "activity_date": dates[activity_type],
                    "overall_grade": GRADE_LABELS[overall] if overall else None,
                }
            )
            for code, name in PRACTICE_AREAS if grades else []:
                label = GRADE_LABELS[grades[code]]
                # Exports spell things in several accepted ways; the warehouse normalises them.
                if label == "Requires Improvement" and self.rng.random() < 0.2:
                    label = "RI"
                area = code if self.rng.random() < 0.1 else name
                self.drop.subsection_grades.append({"activity_id": activity_id, "practice_area": area, "grade": label})
        if status == "completed":
            self.actions_for(audit_id, completed)
        return audit_id

    def actions_for(self, audit_id: str, raised: dt.date) -> None:
        for _ in range(self.rng.choice([0, 1, 1, 2, 3])):
            self.action_sequence += 1
            due = raised + dt.timedelta(days=self.rng.choice([28, 42, 56, 90]))
            roll = self.rng.random()
            completed = None
            if roll < 0.05:
                status = "cancelled"
            elif due <= LAST_COMPLETION and roll < 0.85:
                status = "completed"
                completed = min(LAST_COMPLETION, raised + dt.timedelta(days=self.rng.randint(7, (due - raised).days + 14)))
            elif due > LAST_COMPLETION and roll < 0.3:
                status = "completed"
                completed = min(LAST_COMPLETION, raised + dt.timedelta(days=self.rng.randint(3, 20)))
            else:
                status = "open"  # overdue where its due date has passed
            code, _ = self.rng.choice(PRACTICE_AREAS)
            self.drop.actions.append(
                {
                    "action_id": f"ACN-{self.action_sequence:05d}",
                    "audit_id": audit_id,
                    "practice_area": code if self.rng.random() < 0.8 else None,
                    "raised_date": raised,
                    "due_date": due,
                    "completed_date": completed,
                    "status": status,
                }
            )

    def completion_days(self, year: int, month: int, count: int) -> list[dt.date]:
        last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
        return sorted(dt.date(year, month, self.rng.randint(1, last)) for _ in range(count))

    def area_grades_by_quota(self, overall: list[int], quotas: dict[str, tuple[int, int, int]]) -> list[dict[str, int]]:
        """Deal fixed counts of practice-area grades to audits, better grades to better audits."""
        per_audit: list[dict[str, int]] = [{} for _ in overall]
        for code, (outstanding, good, inadequate) in quotas.items():
            improvement = len(overall) - outstanding - good - inadequate
            grades = [1] * outstanding + [2] * good + [3] * improvement + [4] * inadequate
            order = sorted(range(len(overall)), key=lambda i: overall[i] + self.rng.uniform(-1.2, 1.2))
            for audit_index, grade in zip(order, grades):
                per_audit[audit_index][code] = grade
        return per_audit


def _multiset(counts: dict[int, int], rng: random.Random) -> list[int]:
    grades = [grade for grade, count in counts.items() for _ in range(count)]
    rng.shuffle(grades)
    return grades


def build_sample(seed: int = SEED) -> Drop:
    builder = _Builder(seed)
    rng = builder.rng

    # 2021-22: the monthly programme.
    months = [(2021, m) for m in range(4, 13)] + [(2022, m) for m in range(1, 4)]
    overall_2021 = iter(_multiset(OVERALL_GRADES_2021_22, rng))
    monthly = [
        (year, month, days, [next(overall_2021) for _ in days])
        for (year, month), count in zip(months, MONTHLY_AUDITS_2021_22)
        for days in [builder.completion_days(year, month, count)]
    ]
    # Q4 (January to March 2022) practice-area grades are dealt across the quarter as a whole.
    q4_grades = [grade for year, _, _, grades in monthly if year == 2022 for grade in grades]
    q4_areas = iter(builder.area_grades_by_quota(q4_grades, AREA_GRADES_2021_22_Q4))
    for year, month, days, grades in monthly:
        for day, grade in zip(days, grades):
            builder.case_file_audit(day, "completed", grade, next(q4_areas) if year == 2022 else None)
        # A few audits a year are started and cancelled.
        if month in (7, 11, 2):
            builder.case_file_audit(None, "cancelled", started=dt.date(year, month, 3), activity_types=("audit",))

    # 2022-23 Q1: targeted audits instead of the monthly programme.
    for number, (theme, children, month) in enumerate(TARGETED_AUDITS, start=1):
        targeted_id = f"TA-2022-{number:02d}"
        completed_days = builder.completion_days(2022, month, children)
        for child_number, completed in enumerate(completed_days, start=1):
            builder.drop.audits.append(
                {
                    "audit_id": f"{targeted_id}-{child_number:03d}",
                    "la_code": LA_CODE,
                    "child_id": builder.child(),
                    "service_area": rng.choice(list(SERVICE_TEAMS)),
                    "team": None,
                    "audit_type": "targeted",
                    "targeted_audit_id": targeted_id,
                    "audit_theme": theme,
                    "audit_start_date": dt.date(2022, month, 1),
                    "audit_completed_date": completed,
                    "status": "completed",
                }
            )

    # June and July 2022: the programme resumes.
    overall_2022 = _multiset(OVERALL_GRADES_2022_23, rng)
    area_2022 = builder.area_grades_by_quota(overall_2022, AREA_GRADES_2022_23)
    position = 0
    for month, count in MONTHLY_AUDITS_2022_23.items():
        last_day = 30 if month == 6 else LAST_COMPLETION.day
        days = sorted(dt.date(2022, month, rng.randint(1, last_day)) for _ in range(count))
        for day in days:
            builder.case_file_audit(day, "completed", overall_2022[position], area_2022[position])
            position += 1
    # Audits still in progress at the end of July.
    for started, steps in [
        (dt.date(2022, 6, 27), ("audit", "peer_review")),
        (dt.date(2022, 7, 11), ("audit", "peer_review")),
        (dt.date(2022, 7, 18), ("audit",)),
        (dt.date(2022, 7, 25), ("audit",)),
        (dt.date(2022, 7, 28), ()),
    ]:
        builder.case_file_audit(None, "in_progress", started=started, activity_types=steps)

    builder.drop.developments = [
        {"development_id": f"DEV-{n:03d}", "la_code": LA_CODE, "published_date": dt.date.fromisoformat(day), "category": category, "title": title}
        for n, (day, category, title) in enumerate(PRACTICE_DEVELOPMENTS, start=1)
    ]
    return builder.drop


# ---------------------------------------------------------------------------------------------
# Writing the drop
# ---------------------------------------------------------------------------------------------

FIXED_ZIP_TIME = (AS_AT.year, AS_AT.month, AS_AT.day, 0, 0, 0)


def _uk(value: object) -> object:
    return value.strftime("%d/%m/%Y") if isinstance(value, dt.date) else value


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def _write_csv(path: Path, rows: list[dict], headers: dict[str, str], date_format) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers.values())
    for row in rows:
        writer.writerow(["" if row[key] is None else date_format(row[key]) for key in headers])
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def _write_xlsx(path: Path, sheet_name: str, rows: list[dict]) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_name
    headers = list(rows[0])
    sheet.append(headers)
    for row in rows:
        sheet.append([row[key] for key in headers])
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            if isinstance(cell.value, dt.date):
                cell.number_format = "DD/MM/YYYY"
    fixed = dt.datetime(*FIXED_ZIP_TIME)
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    # Same bytes every time: a regenerated sample is the same content, so it loads once.
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in sorted(source.infolist(), key=lambda i: i.filename):
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = _fix_core_timestamps(data, fixed)
            info = zipfile.ZipInfo(item.filename, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)


def _fix_core_timestamps(data: bytes, fixed: dt.datetime) -> bytes:
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp + rb"\g<2>", data)


def write_sample(directory: Path, seed: int = SEED) -> list[Path]:
    """Write the drop: CSV files, and the actions as a sheet of an XLSX workbook with date cells."""
    drop = build_sample(seed)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = AS_AT.isoformat()
    paths = {
        "audits": directory / f"audits_{stamp}.csv",
        "audit_activities": directory / f"audit_activities_{stamp}.csv",
        "audit_subsection_grades": directory / f"audit_subsection_grades_{stamp}.csv",
        "practice_developments": directory / f"practice_developments_{stamp}.csv",
        "workbook": directory / f"audit_extract_{stamp}.xlsx",
    }
    _write_csv(paths["audits"], drop.audits, {k: k for k in drop.audits[0]}, _uk)
    # The activity export uses display headers, as a case management system's report might.
    activity_headers = {k: k.replace("_", " ").title().replace(" Id", " ID") for k in drop.activities[0]}
    _write_csv(paths["audit_activities"], drop.activities, activity_headers, _iso)
    _write_csv(paths["audit_subsection_grades"], drop.subsection_grades, {k: k for k in drop.subsection_grades[0]}, _iso)
    _write_csv(paths["practice_developments"], drop.developments, {k: k for k in drop.developments[0]}, _iso)
    _write_xlsx(paths["workbook"], "audit_actions", drop.actions)
    return list(paths.values())
