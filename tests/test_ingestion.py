"""Reading what councils actually send, loading it once, keeping every version, losing nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import openpyxl
import pytest

from orchestration.ingest.pseudonymise import DEVELOPMENT_KEY, PseudonymisationKeyMissing, pseudonymise
from orchestration.ingest.store import WarehouseStore
from tests.conftest import ACTION_HEADER, AUDIT_HEADER, Ingested, audit_row, whole_audit, write_csv, write_drop


def test_windows_1252_csv_loads_with_its_characters(workspace, ingest):
    write_csv(workspace.landing_dir, "audits_cp1252.csv", AUDIT_HEADER, [audit_row("A1", team="Équipe Sud – Worcester")], encoding="cp1252")

    ingested = ingest()

    assert ingested.query("SELECT team FROM raw.audits") == [("Équipe Sud – Worcester",)]


def test_utf8_csv_with_byte_order_mark_matches_its_first_header(workspace, ingest):
    write_csv(workspace.landing_dir, "audits_bom.csv", AUDIT_HEADER, [audit_row("A1", team="Ærø")], encoding="utf-8-sig")

    ingested = ingest()

    assert ingested.query("SELECT audit_id, team FROM raw.audits") == [("A1", "Ærø")]


def test_header_variants_match_the_contract(workspace, ingest):
    header = [" Audit ID ", "LA Code", "CHILD_ID", "Service Area", "team", "Audit-Type", "Targeted Audit ID",
              "audit theme", "Audit Start Date", "audit_completed_date", "Status"]
    write_csv(workspace.landing_dir, "Audits_variants.csv", header, [audit_row("A1")])

    ingested = ingest()

    assert ingested.query("SELECT audit_id, la_code, audit_start_date, status FROM raw.audits") == [
        ("A1", "885", dt.date(2022, 6, 1), "completed")
    ]


def test_uk_and_iso_dates_load_as_the_same_date_and_a_time_of_day_is_ignored(workspace, ingest):
    write_csv(workspace.landing_dir, "audits_dates.csv", AUDIT_HEADER, [
        audit_row("A1", audit_start_date="01/06/2022", audit_completed_date="2022-06-20"),
        audit_row("A2", audit_start_date="2022-06-01", audit_completed_date="20/06/2022"),
        audit_row("A3", audit_start_date="01/06/2022 09:15", audit_completed_date="2022-06-20T16:40:00"),
    ])

    ingested = ingest()

    assert ingested.query("SELECT DISTINCT audit_start_date, audit_completed_date FROM raw.audits") == [
        (dt.date(2022, 6, 1), dt.date(2022, 6, 20))
    ]


def test_unknown_columns_are_kept_and_names_and_notes_are_never_loaded(workspace, ingest):
    header = [*AUDIT_HEADER, "Allocated Worker Grade", "Child Name", "Case Notes"]
    row = [*audit_row("A1"), "Senior", "Jane Doe", "Mother says..."]
    write_csv(workspace.landing_dir, "audits_extra.csv", header, [row])

    ingested = ingest()

    [(extra,)] = ingested.query("SELECT extra_columns FROM raw.audits")
    assert json.loads(extra) == {"Allocated Worker Grade": "Senior"}
    everything = str(ingested.query("SELECT * FROM raw.audits")) + str(ingested.load_log())
    assert "Jane Doe" not in everything and "Mother says" not in everything
    [entry] = ingested.load_log()
    assert entry["reason"] == (
        "columns never loaded (names and notes are not taken): Child Name, Case Notes; "
        "columns matching no audits field (kept aside in extra_columns, not used): Allocated Worker Grade"
    )


def _workbook(path, sheets: dict[str, list[list[object]]]) -> None:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)


def test_xlsx_date_cells_load_as_dates_from_a_sheet_per_entity(workspace, ingest):
    audit = dict(zip(AUDIT_HEADER, audit_row("A1")))
    audit.update(audit_start_date=dt.datetime(2022, 6, 1), audit_completed_date=dt.date(2022, 6, 20), la_code=885)
    _workbook(workspace.landing_dir / "audit_extract_2022-07.xlsx", {
        "audits": [AUDIT_HEADER, [audit[c] for c in AUDIT_HEADER]],
        "audit_actions": [ACTION_HEADER, ["AC1", "A1", "Quality of Plans", dt.date(2022, 6, 20), dt.date(2022, 8, 1), None, "open"]],
        "Notes": [["anything at all"]],
    })

    ingested = ingest()

    assert ingested.query("SELECT la_code, audit_start_date, audit_completed_date, sheet_name FROM raw.audits") == [
        ("885", dt.date(2022, 6, 1), dt.date(2022, 6, 20), "audits")
    ]
    assert ingested.query("SELECT raised_date, due_date, sheet_name, source_row FROM raw.audit_actions") == [
        (dt.date(2022, 6, 20), dt.date(2022, 8, 1), "audit_actions", 2)
    ]
    assert sorted(((e["entity"], e["sheet_name"], e["status"]) for e in ingested.load_log()), key=str) == [
        ("audit_actions", "audit_actions", "loaded"), ("audits", "audits", "loaded"),
        (None, "Notes", "sheet_not_loaded"),
    ]


def test_xlsx_named_after_its_entity_reads_its_first_sheet_and_numbers_rows_as_excel(workspace, ingest):
    _workbook(workspace.landing_dir / "audits_2022-07.xlsx", {
        "Sheet1": [AUDIT_HEADER, audit_row("A1"), [None] * len(AUDIT_HEADER), audit_row("A2", la_code="8")],
    })

    ingested = ingest()

    assert ingested.rejections() == [
        ("audits_2022-07.xlsx", "Sheet1", 4, "la_code", "8", "'8' is not a 3-digit DfE local authority code")
    ]


def test_the_same_file_twice_loads_once(workspace, ingest):
    path = write_csv(workspace.landing_dir, "audits_a.csv", AUDIT_HEADER, [audit_row("A1")])
    content = path.read_bytes()
    ingest(run_id="first")
    (workspace.landing_dir / "audits_a.csv").write_bytes(content)

    ingested = ingest(run_id="second")

    assert [(e["run_id"], e["status"]) for e in ingested.load_log()] == [("first", "loaded"), ("second", "skipped_duplicate")]
    assert ingested.query("SELECT count(*) FROM raw.audits") == [(1,)]


def test_the_same_content_under_another_name_is_a_duplicate(workspace, ingest):
    write_csv(workspace.landing_dir, "audits_july.csv", AUDIT_HEADER, [audit_row("A1")])
    content = (workspace.landing_dir / "audits_july.csv").read_bytes()
    (workspace.landing_dir / "audits_july_resent.csv").write_bytes(content)

    ingested = ingest()

    assert [(e["file_name"], e["status"]) for e in ingested.load_log()] == [
        ("audits_july.csv", "loaded"), ("audits_july_resent.csv", "skipped_duplicate"),
    ]
    sha = hashlib.sha256(content).hexdigest()
    assert {e["content_sha256"] for e in ingested.load_log()} == {sha}
    assert ingested.query("SELECT count(*) FROM raw.audits") == [(1,)]


def test_a_later_drop_keeps_both_versions_in_raw(workspace, ingest):
    write_csv(workspace.landing_dir, "audits_1.csv", AUDIT_HEADER, [audit_row("A1", status="in_progress", audit_completed_date="")])
    ingest(run_id="first")
    write_csv(workspace.landing_dir, "audits_2.csv", AUDIT_HEADER, [audit_row("A1", status="completed")])

    ingested = ingest(run_id="second")

    assert ingested.query("SELECT load_id, status, audit_completed_date FROM raw.audits ORDER BY load_id") == [
        (1, "in_progress", None), (2, "completed", dt.date(2022, 6, 20)),
    ]


def test_files_move_to_the_archive_untouched(workspace, ingest):
    paths = write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"))
    originals = {p.name: p.read_bytes() for p in paths}

    ingested = ingest()

    assert list(workspace.landing_dir.iterdir()) == []
    archived = {p.name: p.read_bytes() for p in workspace.archive_dir.rglob("*.csv")}
    assert archived == originals
    assert all(e["archived_to"] for e in ingested.load_log())


def test_a_crash_mid_file_leaves_nothing_of_it_and_the_next_run_loads_it(workspace, ingest, monkeypatch):
    write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"), whole_audit("A2", "Inadequate"))
    insert = WarehouseStore._insert_raw

    def insert_then_fail(self, entity, *args):
        insert(self, entity, *args)
        if entity.name == "audit_activities":
            raise RuntimeError("power cut")

    monkeypatch.setattr(WarehouseStore, "_insert_raw", insert_then_fail)
    with pytest.raises(RuntimeError, match="power cut"):
        ingest(run_id="crashed")

    state = Ingested(paths=workspace, summary=None)
    assert state.query("SELECT count(*) FROM raw.audit_activities") == [(0,)]
    assert state.query("SELECT entity FROM ops.load_log") == [("audits",)]
    assert len(list(workspace.landing_dir.iterdir())) == 3  # nothing archived

    monkeypatch.setattr(WarehouseStore, "_insert_raw", insert)
    ingested = ingest(run_id="retry")

    assert [(e["entity"], e["status"], e["rows_loaded"]) for e in ingested.load_log() if e["run_id"] == "retry"] == [
        ("audits", "skipped_duplicate", 0), ("audit_activities", "loaded", 6), ("audit_subsection_grades", "loaded", 28),
    ]
    assert ingested.query("SELECT count(*) FROM raw.audits") == [(2,)]


def test_rows_read_equal_rows_loaded_plus_rows_rejected_for_every_file(workspace, ingest):
    write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"))
    write_csv(workspace.landing_dir, "audits_mixed.csv", AUDIT_HEADER, [audit_row("B1"), audit_row("B2", la_code="x"), audit_row("B3", status="?")])

    ingested = ingest()

    for entry in ingested.load_log():
        rejected_rows = ingested.query(
            "SELECT count(DISTINCT row_number) FROM ops.rejected_rows WHERE load_id = ?", [entry["load_id"]]
        )[0][0]
        loaded_rows = ingested.query(f"SELECT count(*) FROM raw.{entry['entity']} WHERE load_id = ?", [entry["load_id"]])[0][0]
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_rejected"]
        assert (entry["rows_loaded"], entry["rows_rejected"]) == (loaded_rows, rejected_rows)
    assert ingested.summary.rows_rejected == 2


def test_child_ids_are_stored_only_as_keyed_hashes_rejected_rows_included(workspace, ingest):
    write_csv(workspace.landing_dir, "audits_ids.csv", AUDIT_HEADER, [
        audit_row("A1", child_id="P1234567"),
        audit_row("A2", child_id="P7654321", la_code="bad"),
        audit_row("A3", child_id="P1111111"),
        audit_row("A3", child_id="P2222222"),  # duplicate key: rejected with its child id
    ])

    ingested = ingest()

    tables = ingested.query(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
    )
    stored = " ".join(
        str(value)
        for schema, table, column in tables
        for (value,) in ingested.query(f'SELECT "{column}" FROM {schema}.{table}')
    )
    for raw_id in ("P1234567", "P7654321", "P1111111", "P2222222"):
        assert raw_id not in stored
    key = DEVELOPMENT_KEY.encode()
    assert ingested.query("SELECT child_pseudonym FROM raw.audits") == [(pseudonymise("P1234567", key),)]
    assert ingested.query("SELECT DISTINCT field FROM ops.rejected_rows ORDER BY 1") == [("audit_id",), ("la_code",)]


def test_production_refuses_to_run_without_a_key(monkeypatch, workspace, ingest):
    monkeypatch.setenv("CFA_ENV", "production")
    monkeypatch.delenv("CFA_PSEUDONYMISATION_KEY")
    write_csv(workspace.landing_dir, "audits_a.csv", AUDIT_HEADER, [audit_row("A1")])

    with pytest.raises(PseudonymisationKeyMissing, match="CFA_PSEUDONYMISATION_KEY is not set"):
        ingest()

    assert (workspace.landing_dir / "audits_a.csv").exists()
    assert not workspace.build_database.exists()


def test_pseudonymising_a_whole_column_gives_each_values_keyed_hmac():
    import hashlib
    import hmac

    from orchestration.ingest.pseudonymise import pseudonymise_many

    values = ["P885533064", "", "é-ü", "x" * 200]
    # Keys shorter than, as long as, and longer than SHA-256's block (longer ones are hashed first).
    for key in (b"k", b"k" * 64, b"a longer key than a block of sixty-four bytes, which HMAC hashes first" * 2):
        assert pseudonymise_many(values, key) == [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values]


def test_a_different_key_gives_different_pseudonyms():
    assert pseudonymise("P1", b"key-one") != pseudonymise("P1", b"key-two")
    assert pseudonymise("P1", b"key-one") == pseudonymise("P1", b"key-one")


def test_the_suite_recheck_passes_loaded_rows_and_catches_a_row_edited_behind_ingestions_back(workspace, ingest):
    from orchestration.contract import load_contract
    from orchestration.ingest.recheck import recheck_run

    write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"))
    ingest(run_id="night-1")
    contract = load_contract()
    grades = contract.entities["audit_subsection_grades"]

    assert recheck_run(workspace, grades, contract, "night-1") == (14, [])
    with duckdb.connect(str(workspace.build_database)) as connection:
        connection.execute("UPDATE raw.audit_subsection_grades SET grade = 'Excellent' WHERE source_row = 3")

    checked, problems = recheck_run(workspace, grades, contract, "night-1")

    assert checked == 14
    assert problems == [
        "audit_subsection_grades_2022-06-30.csv row 3, grade: 'Excellent' is not a grade: "
        "use Outstanding, Good, Requires Improvement or Inadequate"
    ]
    assert recheck_run(workspace, contract.entities["audits"], contract, "night-1") == (1, [])


def test_a_national_load_is_rechecked_in_parts_that_keep_every_key_whole(workspace, ingest, monkeypatch):
    """A load of more than PART_ROWS rows is rechecked a part at a time (the sub-grades of a
    national file held at once were the build's peak of memory): each part holds every row of its
    keys, so a key duplicated behind ingestion's back is still caught, and every row is counted."""
    from orchestration.contract import load_contract
    from orchestration.ingest import recheck
    from orchestration.ingest.recheck import recheck_run

    write_drop(workspace.landing_dir, "2022-06-30", whole_audit("A1", "Good"), whole_audit("A2", "Inadequate"))
    ingest(run_id="night-1")
    contract = load_contract()
    grades = contract.entities["audit_subsection_grades"]
    with duckdb.connect(str(workspace.build_database)) as connection:
        connection.execute("UPDATE raw.audit_subsection_grades SET grade = 'Excellent' WHERE source_row = 3")
        # Row 20 made a second grade of row 2's activity and practice area.
        connection.execute(
            "UPDATE raw.audit_subsection_grades AS edited SET activity_id = original.activity_id, practice_area = original.practice_area"
            " FROM raw.audit_subsection_grades AS original WHERE original.source_row = 2 AND edited.source_row = 20"
        )
    whole = recheck_run(workspace, grades, contract, "night-1")
    monkeypatch.setattr(recheck, "PART_ROWS", 4)

    in_parts = recheck_run(workspace, grades, contract, "night-1")

    assert whole[0] == in_parts[0] == 28
    assert sorted(whole[1]) == sorted(in_parts[1]) and len(in_parts[1]) == 3, in_parts
    assert [problem.split(",")[0] for problem in in_parts[1]] == [
        "audit_subsection_grades_2022-06-30.csv row 2", "audit_subsection_grades_2022-06-30.csv row 3",
        "audit_subsection_grades_2022-06-30.csv row 20",
    ]
