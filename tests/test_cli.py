"""The `cfa` command: validate without loading, write the sample, check the contract."""

from __future__ import annotations

from orchestration import cli
from tests.conftest import AUDIT_HEADER, audit_row, whole_audit, write_csv, write_drop


def test_validate_prints_each_error_and_loads_nothing(tmp_path, capsys):
    bad = write_csv(tmp_path, "audits_bad.csv", AUDIT_HEADER, [audit_row("A1"), audit_row("A2", la_code="88", status="done")])
    junk = tmp_path / "notes.txt"
    junk.write_text("x")

    code = cli.main(["validate", str(bad), str(junk), "--warehouse", str(tmp_path / "none.duckdb")])

    output = capsys.readouterr().out.splitlines()
    assert code == 1
    assert "audits_bad.csv row 3, la_code: '88' is not a 3-digit DfE local authority code" in output
    assert "audits_bad.csv row 3, status: 'done' is not an audit status: use In progress, Completed or Cancelled" in output
    assert "audits_bad.csv: audits: 2 row(s), 1 valid, 1 rejected" in output
    assert "notes.txt: rejected file: not a CSV or XLSX file (.txt)" in output
    assert not (tmp_path / "none.duckdb").exists()


def test_validate_checks_references_across_the_files_given_together(tmp_path, capsys):
    files = write_drop(tmp_path, "2022-06-30", whole_audit("A1", "Good"))

    code = cli.main(["validate", *map(str, files), "--warehouse", str(tmp_path / "none.duckdb")])

    output = capsys.readouterr().out
    assert code == 0, output
    assert "audit_subsection_grades_2022-06-30.csv: audit_subsection_grades: 14 row(s), 14 valid, 0 rejected" in output


def test_validate_checks_references_against_the_warehouse_of_record(sample_run, tmp_path, capsys):
    """Raw is in the build database (the published warehouse holds what analysts use): an
    activity of an audit the sample loaded is valid, one of an audit never loaded is not."""
    from tests.conftest import ACTIVITY_HEADER

    activities = write_csv(tmp_path, "audit_activities_2022-09-01.csv", ACTIVITY_HEADER, [
        ["ACT-NEW-1", "CFA-00001", "audit", "Team Manager", "S1", "2022-08-20", "Good"],
        ["ACT-NEW-2", "CFA-99999", "audit", "Team Manager", "S1", "2022-08-20", "Good"],
    ])

    code = cli.main(["validate", str(activities), "--warehouse", str(sample_run.paths.warehouse)])

    output = capsys.readouterr().out
    assert code == 1, output
    assert "audit_activities_2022-09-01.csv: audit_activities: 2 row(s), 1 valid, 1 rejected" in output
    assert "row 3, audit_id:" in output and "row 2, audit_id:" not in output


def test_sample_writes_the_drop(tmp_path, capsys):
    assert cli.main(["sample", str(tmp_path / "drop")]) == 0
    names = sorted(p.name for p in (tmp_path / "drop").iterdir())
    assert names == [
        "audit_activities_2022-08-05.csv", "audit_extract_2022-08-05.xlsx", "audit_subsection_grades_2022-08-05.csv",
        "audits_2022-08-05.csv", "practice_developments_2022-08-05.csv",
    ]


def test_contract_check_passes_on_a_clean_checkout(capsys):
    assert cli.main(["contract", "--check"]) == 0


def test_run_refuses_production_without_a_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CFA_ENV", "production")
    monkeypatch.delenv("CFA_PSEUDONYMISATION_KEY")
    code = cli.main(["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w" / "cfa.duckdb")])
    assert code == 2
    assert "refusing to load children's data" in capsys.readouterr().err


def test_run_exits_non_zero_and_names_the_failed_step_when_the_run_fails(tmp_path, capsys):
    from tests.conftest import run_cli

    warehouse = tmp_path / "warehouse" / "cfa.duckdb"
    build = warehouse.parent / ".build" / "cfa.duckdb"
    build.parent.mkdir(parents=True)
    build.write_bytes(b"not a database")  # e.g. a disk fault left the build unreadable

    code, output = run_cli(["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(warehouse)], tmp_path / "dagster")

    assert code == 1
    errors = capsys.readouterr().err
    assert "cfa run: the run failed" in errors
    assert "failed steps: ingest_audit_extracts" in errors
    assert "No run summary: the build database could not be read" in output
    assert not warehouse.exists()


def test_run_refuses_to_start_while_another_run_holds_the_warehouse(tmp_path, capsys):
    import fcntl

    warehouse = tmp_path / "warehouse" / "cfa.duckdb"
    lock_path = warehouse.parent / ".build" / "run.lock"
    lock_path.parent.mkdir(parents=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

        code = cli.main(["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(warehouse), "--wait", "0"])

    assert code == 3
    assert f"another warehouse run is in progress for {warehouse}" in capsys.readouterr().err
