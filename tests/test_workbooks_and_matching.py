"""Issue 6, points 3 and 4: workbooks are read as a person sees them, and headers, values and
names match as the contract says (case, spaces, `_` and punctuation ignored). Every sheet and
column not loaded is named, with its reason, in the load log, the run's output and `cfa validate`."""

from __future__ import annotations

import copy
import csv
import re

import duckdb
import openpyxl
import pytest
import yaml

from orchestration import cli
from orchestration.contract import CONTRACT_PATH, load_contract, match_key, parse_contract
from orchestration.settings import DBT_PROJECT_DIR, SEEDS_DIR
from tests.conftest import (
    ACTION_HEADER,
    ACTIVITY_HEADER,
    AUDIT_HEADER,
    GRADE_HEADER,
    Ingested,
    audit_row,
    whole_audit,
    write_csv,
)

HIDDEN_REASON = "a hidden sheet: only the sheets a person sees in Excel are read"


def _workbook(path, sheets: dict[str, list[list[object]]], hidden: dict[str, str] | None = None) -> None:
    """An XLSX with the given sheets in order; `hidden` maps a sheet name to 'hidden' or 'veryHidden'."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
        sheet.sheet_state = (hidden or {}).get(name, "visible")
    workbook.save(path)


def _ingest_with_output(paths, run_id: str = "test-run") -> tuple[Ingested, list[str]]:
    """Ingestion with its log lines kept: what the Dagster run's output shows."""
    from orchestration.ingest.landing import ingest_landing_folder

    output: list[str] = []
    summary = ingest_landing_folder(paths, run_id=run_id, log=output.append)
    return Ingested(paths=paths, summary=summary), output


def _validate(files, tmp_path, capsys) -> tuple[int, list[str]]:
    code = cli.main(["validate", *map(str, files), "--warehouse", str(tmp_path / "none.duckdb")])
    return code, capsys.readouterr().out.splitlines()


# Point 3: workbooks read as a person sees them.


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("hidden", HIDDEN_REASON),
        ("veryHidden", "a very hidden sheet: only the sheets a person sees in Excel are read"),
    ],
)
def test_a_hidden_old_copy_first_in_the_workbook_is_not_loaded_and_the_visible_sheet_is(workspace, state, reason):
    _workbook(
        workspace.landing_dir / "audits_2022-08-05.xlsx",
        {
            "Old copy": [AUDIT_HEADER, audit_row("A1", status="in_progress", audit_completed_date="")],
            "Current": [AUDIT_HEADER, audit_row("A1")],
        },
        hidden={"Old copy": state},
    )

    ingested, output = _ingest_with_output(workspace)

    assert ingested.query("SELECT audit_id, status, sheet_name FROM raw.audits") == [("A1", "completed", "Current")]
    entries = {entry["sheet_name"]: entry for entry in ingested.load_log()}
    assert set(entries) == {"Old copy", "Current"}
    assert (entries["Old copy"]["status"], entries["Old copy"]["reason"]) == ("sheet_not_loaded", reason)
    assert entries["Old copy"]["rows_read"] == 0
    assert entries["Current"]["status"] == "loaded"
    assert f"audits_2022-08-05.xlsx [Old copy]: sheet not loaded: {reason}" in output
    # The workbook is archived whole once every sheet of it is recorded, the hidden one included.
    assert all(entry["archived_to"] for entry in entries.values())


def test_a_workbook_with_sheets_named_by_synonyms_loads_every_sheet(workspace):
    audit = whole_audit("A1", "Good")
    action = ["AC1", "A1", "Quality of Plans", "2022-06-20", "2022-08-01", "", "open"]
    development = ["D1", "885", "2022-07-01", "Learning briefing", "Learning from Audits Briefing"]
    _workbook(
        workspace.landing_dir / "audit_extract_2022-08-05.xlsx",
        {
            "Audits": [AUDIT_HEADER, *audit["audits"]],
            "Activities": [ACTIVITY_HEADER, *audit["audit_activities"]],
            "Sub-grades": [GRADE_HEADER, *audit["audit_subsection_grades"]],
            "Actions": [ACTION_HEADER, action],
            "Practice developments": [["development_id", "la_code", "published_date", "category", "title"], development],
        },
    )

    ingested, _ = _ingest_with_output(workspace)

    assert sorted((e["entity"], e["sheet_name"], e["status"], e["rows_loaded"]) for e in ingested.load_log()) == [
        ("audit_actions", "Actions", "loaded", 1),
        ("audit_activities", "Activities", "loaded", 3),
        ("audit_subsection_grades", "Sub-grades", "loaded", 14),
        ("audits", "Audits", "loaded", 1),
        ("practice_developments", "Practice developments", "loaded", 1),
    ]
    assert ingested.rejections() == []
    assert ingested.query("SELECT count(*) FROM raw.audit_activities WHERE sheet_name = 'Activities'") == [(3,)]


def test_every_sheet_not_loaded_is_named_in_the_load_log_the_run_output_and_validate(workspace, tmp_path, capsys):
    path = workspace.landing_dir / "audit_extract_2022-08-05.xlsx"
    _workbook(
        path,
        {
            "Audits": [AUDIT_HEADER, audit_row("A1")],
            "Activities (old)": [ACTIVITY_HEADER, ["X-AUD", "A1", "audit", "", "", "2022-06-05", "Good"]],
            "Lookup": [["Service areas"], ["Children in Care"]],
        },
        hidden={"Activities (old)": "hidden"},
    )
    lookup_reason = (
        "its name matches no entity: a sheet is read when named audits, audit_activities, "
        "audit_subsection_grades, audit_actions, practice_developments or a synonym the extract contract lists"
    )

    code, validate_output = _validate([path], tmp_path, capsys)
    ingested, run_output = _ingest_with_output(workspace)

    not_loaded = [
        (e["entity"], e["sheet_name"], e["status"], e["reason"]) for e in ingested.load_log() if e["status"] != "loaded"
    ]
    assert not_loaded == [
        ("audit_activities", "Activities (old)", "sheet_not_loaded", HIDDEN_REASON),
        (None, "Lookup", "sheet_not_loaded", lookup_reason),
    ]
    assert ingested.query("SELECT count(*) FROM raw.audit_activities") == [(0,)]
    for output in (run_output, validate_output):
        assert f"audit_extract_2022-08-05.xlsx [Activities (old)]: sheet not loaded: {HIDDEN_REASON}" in output
        assert f"audit_extract_2022-08-05.xlsx [Lookup]: sheet not loaded: {lookup_reason}" in output
    assert code == 0, validate_output  # the visible sheet is valid: a sheet not loaded is reported, not an error


def test_a_workbook_whose_only_sheet_for_an_entity_is_hidden_is_rejected_saying_so(workspace):
    _workbook(
        workspace.landing_dir / "audit_extract_2022-08-05.xlsx",
        {"Audits": [AUDIT_HEADER, audit_row("A1")], "Notes": [["nothing here"]]},
        hidden={"Audits": "hidden"},
    )

    ingested, _ = _ingest_with_output(workspace)

    [entry] = ingested.load_log()
    assert entry["status"] == "rejected_file"
    assert entry["reason"].endswith(f"; sheet 'Audits' is not read: {HIDDEN_REASON}")
    assert ingested.query("SELECT count(*) FROM raw.audits") == [(0,)]


def test_a_blank_sheet_named_after_an_entity_is_named_as_not_loaded_and_the_rest_loads(workspace):
    _workbook(
        workspace.landing_dir / "audit_extract_2022-08-05.xlsx",
        {"Audits": [AUDIT_HEADER, audit_row("A1")], "Actions": []},
    )

    ingested, _ = _ingest_with_output(workspace)

    assert sorted(((e["entity"], e["sheet_name"], e["status"], e["reason"]) for e in ingested.load_log()), key=str) == [
        ("audit_actions", "Actions", "sheet_not_loaded", "the sheet is empty"),
        ("audits", "Audits", "loaded", None),
    ]


# Point 4: matching as the contract says.


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("PracticeArea", "practice_area"),
        ("CompletedByRole", "completed_by_role"),
        ("R.I.", "RI"),
        ("RequiresImprovement", "Requires Improvement"),
        ("PeerReview", "peer review"),
        ("Audit-ID", "audit id"),
    ],
)
def test_case_spaces_underscores_and_punctuation_are_ignored(spelling, canonical):
    assert match_key(spelling) == match_key(canonical)


def test_headers_and_values_written_together_or_with_punctuation_load(workspace):
    write_csv(workspace.landing_dir, "audits_2022-06-30.csv", AUDIT_HEADER, [audit_row("A1")])
    write_csv(
        workspace.landing_dir, "audit_activities_2022-06-30.csv",
        ["ActivityID", "AuditID", "ActivityType", "CompletedByRole", "CompletedById", "ActivityDate", "OverallGrade"],
        [
            ["A1-AUD", "A1", "Audit", "Team Manager", "S1", "2022-06-05", "R.I."],
            ["A1-PEER", "A1", "PeerReview", "Practice Lead", "S2", "2022-06-10", ""],
            ["A1-MOD", "A1", "moderation", "QA Officer", "S3", "2022-06-20", "RequiresImprovement"],
        ],
    )
    write_csv(
        workspace.landing_dir, "audit_subsection_grades_2022-06-30.csv", ["ActivityID", "PracticeArea", "Grade"],
        [["A1-MOD", "VoiceOfTheChild", "R.I."], ["A1-MOD", "Strengths-Based-Practice", "requires_improvement"]],
    )

    ingested, output = _ingest_with_output(workspace)

    assert ingested.rejections() == []
    assert ingested.query("SELECT activity_id, completed_by_role, extra_columns FROM raw.audit_activities ORDER BY 1") == [
        ("A1-AUD", "Team Manager", None), ("A1-MOD", "QA Officer", None), ("A1-PEER", "Practice Lead", None),
    ]
    assert ingested.query("SELECT practice_area, extra_columns FROM raw.audit_subsection_grades ORDER BY 1") == [
        ("Strengths-Based-Practice", None), ("VoiceOfTheChild", None),
    ]
    assert not [line for line in output if "matching no" in line], output


def test_dbt_maps_values_with_punctuation_ignored_to_the_same_codes():
    """Staging normalises with the match_key macro and the alias seed: the same spellings
    ingestion accepted must map to their codes there too."""
    macro = (DBT_PROJECT_DIR / "macros" / "match_key.sql").read_text()
    body = re.search(r"{% macro match_key\(expression\) -%}(.*?){%- endmacro %}", macro, re.S).group(1).strip()
    with (SEEDS_DIR / "category_aliases.csv").open() as handle:
        aliases = [tuple(row.values()) for row in csv.DictReader(handle)]
    with duckdb.connect() as connection:
        connection.execute("CREATE TABLE category_aliases (category VARCHAR, match_key VARCHAR, code VARCHAR)")
        connection.executemany("INSERT INTO category_aliases VALUES (?, ?, ?)", aliases)

        def code(category: str, value: str) -> str | None:
            sql = body.replace("{{ expression }}", "?")
            rows = connection.execute(
                f"SELECT code FROM category_aliases WHERE category = ? AND match_key = {sql}", [category, value]
            ).fetchall()
            return rows[0][0] if rows else None

        assert code("grade", "R.I.") == "3"
        assert code("grade", "RequiresImprovement") == "3"
        assert code("activity_type", "PeerReview") == "peer_review"
        assert code("practice_area", "VoiceOfTheChild") == "voice_of_child"
        assert code("grade", "3") is None


def test_a_header_matching_no_field_and_an_absent_optional_column_are_named(workspace, tmp_path, capsys):
    write_csv(workspace.landing_dir, "audits_2022-06-30.csv", AUDIT_HEADER, [audit_row("A1")])
    header = ["action_id", "audit_id", "Practice Area (theme)", "raised_date", "due_date", "status"]
    actions = write_csv(
        workspace.landing_dir, "audit_actions_2022-06-30.csv", header,
        [["AC1", "A1", "Quality of Plans", "2022-06-20", "2022-08-01", "open"]],
    )
    notes = [
        "columns matching no audit_actions field (kept aside in extra_columns, not used): Practice Area (theme)",
        "optional audit_actions fields with no column (left empty): practice_area, completed_date",
    ]

    code, validate_output = _validate([actions], tmp_path, capsys)
    ingested, run_output = _ingest_with_output(workspace)

    [entry] = [e for e in ingested.load_log() if e["entity"] == "audit_actions"]
    assert (entry["status"], entry["rows_loaded"]) == ("loaded", 1)
    assert entry["reason"] == "; ".join(notes)
    for output in (run_output, validate_output):
        for note in notes:
            assert f"audit_actions_2022-06-30.csv: {note}" in output
    assert code == 1  # validated alone, the action's audit is unknown


def test_a_required_column_matching_nothing_rejects_the_file_naming_it(workspace):
    header = ["Audit Ref", *AUDIT_HEADER[1:]]
    write_csv(workspace.landing_dir, "audits_2022-06-30.csv", header, [audit_row("A1")])

    ingested, output = _ingest_with_output(workspace)

    [entry] = ingested.load_log()
    assert (entry["status"], entry["reason"]) == ("rejected_file", "the file: missing required columns: audit_id")
    assert "audits_2022-06-30.csv: rejected: the file: missing required columns: audit_id" in output


def test_names_match_entities_and_synonyms_word_by_word():
    contract = load_contract()
    names = {
        "audits_2022-07-01.csv": "audits",
        "audit_actions_x.csv": "audit_actions",
        "AuditActions_2022.csv": "audit_actions",
        "Activities": "audit_activities",
        "Actions": "audit_actions",
        "Grades": "audit_subsection_grades",
        "Sub-grades": "audit_subsection_grades",
        "Practice developments": "practice_developments",
        "audit_extract_2022-08-05.xlsx": None,
        "auditsX.csv": None,
        "Lookup": None,
    }
    found = {name: getattr(contract.entity_for_name(name), "name", None) for name in names}
    assert found == names


def _contract_document() -> dict:
    return copy.deepcopy(yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8")))


def test_the_contract_refuses_two_codes_whose_spellings_match_alike():
    document = _contract_document()
    good = next(v for v in document["categories"]["grade"]["values"] if v["label"] == "Good")
    good["aliases"] = ["R-I"]  # the same as Requires Improvement's `RI` once punctuation is ignored

    with pytest.raises(ValueError, match=r"category grade: 'R-I' \(2\) and 'RI' \(3\) are the same once case"):
        parse_contract(document)


def test_the_contract_refuses_a_synonym_that_names_another_entity():
    document = _contract_document()
    document["entities"]["audit_actions"]["synonyms"] = ["Audit Activities"]

    with pytest.raises(ValueError, match="entity names and synonyms: 'audit_activities' .* and 'Audit Activities'"):
        parse_contract(document)


def test_the_contract_as_shipped_has_no_spellings_that_collide():
    contract = parse_contract(_contract_document())
    for category in contract.categories.values():
        spellings = [s for v in category.values for s in (v.label, *v.aliases)]
        codes = {category.normalise(s) for s in spellings}
        assert codes == {v.code for v in category.values}, category.name
