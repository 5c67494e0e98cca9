"""The contract is the single source: docs, suites, seeds and dbt sources all come from it."""

from __future__ import annotations


import csv
import dataclasses
import json
import re

import duckdb
import pytest

from orchestration.contract import load_contract, match_key
from orchestration.contract_outputs import generated_files, stale_generated_files
from orchestration.settings import DBT_PROJECT_DIR, DOCS_DIR, EXPECTATIONS_DIR, SEEDS_DIR


def test_every_generated_file_matches_the_contract():
    assert stale_generated_files() == [], "run `make contract` (cfa contract) and commit the result"


def test_generated_files_cover_docs_suites_seeds_and_dbt_sources():
    paths = set(generated_files())
    contract = load_contract()
    assert DOCS_DIR / "extract-contract.md" in paths
    assert DBT_PROJECT_DIR / "models" / "staging" / "_audit_extract__sources.yml" in paths
    for entity in contract.entities:
        assert EXPECTATIONS_DIR / f"audit_extract__{entity}.json" in paths
    for seed in ("grades", "practice_areas", "service_areas", "activity_types", "category_aliases"):
        assert SEEDS_DIR / f"{seed}.csv" in paths


def test_the_docs_describe_every_field_and_category_value():
    docs = (DOCS_DIR / "extract-contract.md").read_text()
    contract = load_contract()
    for entity in contract.entities.values():
        assert f"### {entity.name}" in docs
        for field in entity.fields:
            assert f"| {field.name} |" in docs
    for category in contract.categories.values():
        for value in category.values:
            assert f"| {value.code} | {value.label} |" in docs


def test_a_contract_change_makes_the_docs_stale(monkeypatch):
    from orchestration import contract_outputs

    contract = load_contract()
    grade = contract.categories["grade"]
    renamed = type(grade)(grade.name, grade.description, grade.match_codes, grade.values[:3])
    changed = dataclasses.replace(contract, categories={**contract.categories, "grade": renamed})
    regenerated = contract_outputs.generated_files(changed)
    assert regenerated[DOCS_DIR / "extract-contract.md"] != (DOCS_DIR / "extract-contract.md").read_text()
    assert "| 4 | Inadequate |" not in regenerated[DOCS_DIR / "extract-contract.md"]


def test_suites_check_every_category_with_its_codes():
    contract = load_contract()
    suite = json.loads((EXPECTATIONS_DIR / "audit_extract__audit_subsection_grades.json").read_text())
    sets = {e["kwargs"]["column"]: e["kwargs"]["value_set"] for e in suite["expectations"] if e["type"] == "expect_column_values_to_be_in_set"}
    assert sets == {
        "practice_area": [v.code for v in contract.categories["practice_area"].values],
        "grade": ["1", "2", "3", "4"],
        "deleted": ["yes", "no"],
    }


def test_the_alias_seed_maps_every_spelling_the_contract_accepts():
    with (SEEDS_DIR / "category_aliases.csv").open() as handle:
        rows = {(r["category"], r["match_key"]): r["code"] for r in csv.DictReader(handle)}
    assert rows[("grade", "ri")] == "3"
    assert rows[("grade", "requiresimprovementtobegood")] == "3"
    assert ("grade", "3") not in rows  # a bare number is not a grade
    assert rows[("practice_area", "assessmentanalysis")] == "assessment_analysis"
    assert rows[("practice_area", "strengthsbasepractice")] == "strengths_based_practice"


@pytest.mark.parametrize(
    "text",
    ["Audit ID", " audit_id ", "Requires improvement to be good", "Assessment & Analysis", "Strengths-Based  Practice",
     "ÉQUIPE_Sud", "VoC!!", "a__b--c", "Family Support (Child in Need and Child Protection)"],
)
def test_python_and_sql_match_keys_agree(text):
    macro = (DBT_PROJECT_DIR / "macros" / "match_key.sql").read_text()
    body = re.search(r"{% macro match_key\(expression\) -%}(.*?){%- endmacro %}", macro, re.S).group(1).strip()
    sql = body.replace("{{ expression }}", "?")
    with duckdb.connect() as connection:
        assert connection.execute(f"SELECT {sql}", [text]).fetchall() == [(match_key(text),)]


def test_file_and_sheet_names_map_to_entities():
    contract = load_contract()
    assert contract.entity_for_name("audits_2022-07-31.csv").name == "audits"
    assert contract.entity_for_name("audit_actions_2022.csv").name == "audit_actions"
    assert contract.entity_for_name("Audit Activities 2022.xlsx").name == "audit_activities"
    assert contract.entity_for_name("audit_subsection_grades").name == "audit_subsection_grades"
    assert contract.entity_for_name("audit_extract_2022-07.xlsx") is None
    assert contract.entity_for_name("auditsX.csv") is None
    order = [e.name for e in contract.load_order]
    assert sorted(order) == sorted(contract.entities)
    for entity in contract.entities.values():
        for reference in entity.references:
            assert order.index(reference.entity) < order.index(entity.name), (entity.name, reference.entity)
