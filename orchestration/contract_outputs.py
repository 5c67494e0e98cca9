"""Everything generated from the contract: docs, expectation suites, dbt seeds and dbt sources.

`cfa contract` writes these files; `cfa contract --check` (and the tests) fail when any of them
differs from what the contract generates, so nothing restates the contract by hand.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml

from orchestration.contract import Contract, Field, load_contract
from orchestration.ingest.store import LINEAGE_COLUMNS
from orchestration.ingest.validation import build_suite, suite_path
from orchestration.settings import DBT_PROJECT_DIR, DOCS_DIR, REPO_ROOT, SEEDS_DIR

SOURCES_PATH = DBT_PROJECT_DIR / "models" / "staging" / "_audit_extract__sources.yml"

# Reference lists that become dbt seeds and dimensions: seed name -> (category, column prefix).
REFERENCE_SEEDS = {
    "grades": ("grade", "grade"),
    "practice_areas": ("practice_area", "practice_area"),
    "service_areas": ("service_area", "service_area"),
    "activity_types": ("activity_type", "activity_type"),
}
CHARACTERISTICS_SEED = "child_characteristics"

def _csv_text(header: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _seed_files(contract: Contract) -> dict[Path, str]:
    files = {}
    for seed, (category_name, prefix) in REFERENCE_SEEDS.items():
        category = contract.categories[category_name]
        header = [f"{prefix}_code", f"{prefix}_{'label' if prefix == 'grade' else 'name'}", "sort_order"]
        if category_name == "grade":
            header.append("is_good_or_better")
        with_ages = all(value.from_age is not None for value in category.values)
        if with_ages:
            header.append("from_age")
        rows = []
        for value in category.values:
            row: list[object] = [value.code, value.label, value.sort_order]
            if category_name == "grade":
                row.append(str(value.good_or_better).lower())
            if with_ages:
                row.append(value.from_age)
            rows.append(row)
        files[SEEDS_DIR / f"{seed}.csv"] = _csv_text(header, rows)
    alias_rows = sorted(
        [category.name, key, code]
        for category in contract.categories.values()
        for key, code in category.accepted.items()
    )
    files[SEEDS_DIR / f"{CHARACTERISTICS_SEED}.csv"] = _characteristics_seed(contract)
    aliases = _csv_text(["category", "match_key", "code"], alias_rows)
    files[SEEDS_DIR / "category_aliases.csv"] = aliases
    # dbt unit tests must be given every input, the seed included: they get the same rows.
    files[DBT_PROJECT_DIR / "tests" / "fixtures" / "category_aliases_for_unit_tests.csv"] = aliases
    return files


def child_characteristics(contract: Contract) -> list[str]:
    """The categories of the child's characteristics as stored: the audits' category fields new in
    v2, each in its stored (degraded) form, in the contract's order."""
    audits = contract.entities["audits"]
    return [
        f.degrade_category if f.is_degraded else f.category
        for f in audits.fields
        if f.since > 1 and f.stored_type == "category"
    ]


def _characteristics_seed(contract: Contract) -> str:
    """Every value of every characteristic: what the equality marts break grades down by."""
    rows = [
        [name, name.replace("_", " ").capitalize(), position, value.code, value.label, value.sort_order,
         "" if value.from_age is None else value.from_age]
        for position, name in enumerate(child_characteristics(contract), start=1)
        for value in contract.categories[name].values
    ]
    header = ["characteristic", "characteristic_name", "characteristic_order", "value_code", "value_name", "value_order", "from_age"]
    return _csv_text(header, rows)


def _suite_files(contract: Contract) -> dict[Path, str]:
    return {
        suite_path(entity.name): json.dumps(build_suite(entity, contract), indent=2) + "\n"
        for entity in contract.entities.values()
    }


def _field_rules(f: Field, contract: Contract) -> str:
    rules = []
    if f.since > 1:
        rules.append(f"new in v{f.since}")
    if f.required and f.since > 1:
        rules.append(f"required in v{f.since} files")
    elif f.required:
        rules.append("required")
    for name, values in f.required_when.items():
        rules.append(f"required when {name} is {' or '.join(f'`{v}`' for v in values)}")
    for name, values in f.empty_unless.items():
        rules.append(f"empty unless {name} is {' or '.join(f'`{v}`' for v in values)}")
    if f.type == "category":
        rules.append(f"one of the [{f.category.replace('_', ' ')}s](#{f.category.replace('_', '-')}s)")
    if f.type == "la_code":
        rules.append("three digits")
    if f.not_before:
        rules.append(f"on or after {f.not_before}")
    if f.not_in_future:
        rules.append("not in the future")
    if f.pseudonymise:
        rules.append("**pseudonymised** (keyed HMAC-SHA256) before anything is stored")
    if f.is_degraded and f.type == "date":
        rules.append(
            f"not after {f.degrade_at}; **degraded at the door**: stored only as `{f.degrade_into}`, the child's "
            f"[age band](#{f.degrade_category.replace('_', '-')}s) at {f.degrade_at}; the date is never stored, not even in a rejection"
        )
    elif f.is_degraded:
        rules.append(
            f"**degraded at the door**: stored only as `{f.degrade_into}`, the code's "
            f"[{f.degrade_category.replace('_', ' ')}](#{f.degrade_category.replace('_', '-')}s); the code is never stored"
        )
    return "; ".join(rules) or "optional"


def _versions_section(contract: Contract) -> list[str]:
    lines = ["## Versions", ""]
    lines += [f"- **v{v.version}.** {v.summary}" for v in contract.versions]
    newer = [v for v in contract.versions if v.version > 1]
    words = " or ".join(f"`{v.file_name_word}` (v{v.version})" for v in newer if v.file_name_word)
    lines += [
        "",
        "Every version loads, side by side in one warehouse. A file follows the newest version one of",
        "whose new fields (marked *new in v2* below) it has a column for, or whose word its name holds,",
        f"{words}, as in `audits_v2_2023-04-05.csv`. Otherwise it is a v1 file. `ops.load_log` shows each",
        "file's `contract_version`.",
        "",
        "## Councils",
        "",
        f"Every key is per council: a record is its `{contract.council_field}` and its key, so the same",
        "`audit_id` in two councils is two audits, and a reference names a record of the referring row's",
        "council. Supersession, deletion and full extracts act within a council.",
        "",
        f"- **A council's folder.** A subfolder of the landing folder named by a council's code",
        f"  (`<landing>/885/`) holds that council's files, v1 or v2. A v1 file there without `{contract.council_field}`",
        "  takes the folder's; a row whose own `la_code` is another council's is rejected with its reason.",
        "  The codes are those of the local authorities seed (`seeds/local_authorities.csv`, DfE's three-digit",
        "  codes). The load log names such a file `885/audits_2023-04-05.csv`, and it is archived in `885/`.",
        "- **Flat files.** A file in the landing folder itself loads as before. A v2 file names each",
        "  row's council. A flat v1 file's activities and actions, which carry no `la_code`, belong to the",
        "  council of the newest delivered version of the audit they name by `audit_id` (a grade: of its",
        "  activity, the same way), and refer to an audit of any council. Delivered flat by v1, an audit,",
        "  activity, grade or action is its key alone, as in a one-council warehouse: an audit re-sent",
        "  under a corrected `la_code` moves to it. To deliver for several councils flat, use v2 files",
        "  (an audits file with none of the child's characteristics says so by `v2` in its name).",
        "- **Anything else** (a subfolder named by no council's code, a folder inside a council's folder):",
        "  each file there is rejected whole (`rejected_file`, with the reason) and archived; a folder of no",
        "  council that holds nothing is named in the run's log.",
        "",
        "## The child's characteristics",
        "",
        "A v2 audits file may carry the child's date of birth, sex, ethnicity (DfE ethnicity codes),",
        "disability and status at the audit; all are optional. Two are **degraded at the door**, before",
        "anything is stored (raw, rejected rows, waiting rows, logs, reports): the date of birth becomes",
        "the child's age band at `audit_start_date` (under 1, 1 to 4, 5 to 9, 10 to 15, 16 and over), and",
        "the ethnicity code its major ethnic group. A faulty value is rejected with a reason that never",
        "repeats it. The landing archive keeps each file as delivered, as it keeps child ids: protect it",
        "and let its retention delete it. Columns headed like an age or ethnicity other than these fields",
        "are never loaded.",
        "",
    ]
    return lines


def _docs(contract: Contract) -> str:
    lines = [
        f"# {contract.title} (v{contract.version})",
        "",
        "<!-- Generated from orchestration/contract.yml by `cfa contract`: edit the contract, not this page. -->",
        "",
        "A drop is a set of files in the landing folder. Each file holds one entity and is named",
        "`<entity>_<anything>.csv` or `<entity>_<anything>.xlsx`; an `.xlsx` may instead hold several",
        "entities, one sheet per entity, each sheet named after its entity. An entity's synonyms",
        "(below) serve as well as its name: a workbook with sheets `Audits`, `Activities`, `Grades` and",
        "`Actions` holds four entities. Names match word by word, case and punctuation ignored",
        "(`Audit Activities 2022.xlsx` is audit_activities; `auditsX.csv` is nothing).",
        "",
        "- A workbook is read as a person sees it: hidden and very hidden sheets, chart sheets, blank",
        "  sheets and visible sheets named after no entity are not loaded, and each is named in the load log",
        "  (`sheet_not_loaded`) with the reason. A workbook named after one entity whose sheets are named",
        "  after none is read from its first visible sheet.",
        "- CSV: comma separated, header in the first row, UTF-8 with or without a byte-order mark, or",
        "  Windows-1252 (what Excel on Windows saves).",
        "- Headers match case-insensitively, with spaces, `_` and punctuation ignored (`Audit ID` = `audit_id`",
        "  = `AuditID`). A missing required column rejects the file. Columns matching no field are kept in",
        "  raw (`extra_columns`) and ignored downstream; they, and optional fields with no column (other",
        "  than the fields every entity carries), are named in the load log's reason for the file. Columns headed",
        "  like a name or free-text note are never loaded: "
        + ", ".join(f"`{h}`" for h in contract.never_load_headers)
        + ".",
        "- Dates: ISO `2022-07-31` or UK `31/07/2022`; US month-first dates are rejected as such;",
        "  Excel date cells load as dates; a time of day after the date is ignored.",
        "- Text cells are trimmed; an empty cell is missing. Fully blank rows are skipped.",
        "- Rows are numbered as a spreadsheet shows them: the header is row 1.",
        "- The same content delivered twice (under any name) is skipped if it loaded cleanly; a file",
        "  some of whose rows were rejected is processed again when re-sent.",
        "- Within one file a key must be unique: every row sharing a key is rejected.",
        "",
        "## Which version wins",
        "",
        "Every version of every record stays in raw. Downstream, a record's current version is the one",
        "from the newest extract: the extract's date is the first date in the file name (`2022-08-05`,",
        "`2022_08_05` or `20220805`), else the day the file was delivered; within one extract date the",
        "later delivery wins. File names never decide: `audits_2022-07-01.csv` loses to",
        "`audit_extract_2022-08-05.xlsx`. `ops.load_log` shows each file's `extract_date`.",
        "",
        "- **Deleted records.** Any entity may carry a `deleted` column; `Yes` (or `Y`, `True`, `1`,",
        "  `Deleted`, `Entered in error`) retires the record from every mart. Its history stays in raw.",
        f"- **Full extracts.** A file whose name holds the word `{contract.delivery.full_extract_word}` "
        f"(`audits_{contract.delivery.full_extract_word}_2022-09-30.csv`) is a full",
        "  extract: every record of its entity that it no longer holds, and whose current version is",
        "  older, is retired, council by council. In a council's folder it covers that council; flat,",
        "  the councils whose rows it holds; a flat v1 file of activities, grades or actions (which",
        "  carry no `la_code`) covers the records delivered flat by v1 (in a one-council warehouse, the",
        "  whole entity). A full extract with any rejected row retires nothing until it loads cleanly.",
        "- **Corrections.** Send the record again, corrected: the newer extract wins. An audit is its",
        "  council's `la_code` and its `audit_id`; delivered flat by v1 (whose activities, grades and",
        "  actions name their audit by `audit_id` alone), its `audit_id`, so such an audit re-sent under a",
        "  corrected `la_code` moves. To move an audit between councils otherwise, send it deleted under",
        "  the old `la_code` and afresh under the new.",
        "",
        *_versions_section(contract),
        "## Dates the warehouse covers",
        "",
        f"Every date must fall between {contract.delivery.earliest_date:%-d %B %Y} and "
        f"{contract.delivery.latest_date:%-d %B %Y}, the financial years of the",
        "quarter dimension (a date of birth aside: it need only be a date, not after the audit's), and",
        "dates marked *not in the future* must not be after the day of loading.",
        "A date outside them is rejected at the door with its reason, so no accepted row can stop a",
        "night's build. An impossible date says why (`'31/09/2022' is not a date: September 2022 has 30",
        "days`).",
        "",
        "## Entities",
        "",
    ]
    for entity in contract.entities.values():
        optional = " (optional entity)" if entity.optional else ""
        lines += [
            f"### {entity.name}{optional}", "", entity.description, "",
            f"Key: {', '.join(entity.key)}, per council ({contract.council_field}).",
        ]
        if entity.synonyms:
            lines.append(f"A file or sheet may also be named {', '.join(f'`{name}`' for name in entity.synonyms)}.")
        for reference in entity.references:
            lines.append(f"`{reference.field}` must exist in {reference.entity}.")
        lines += ["", "| field | type | rule | description |", "|---|---|---|---|"]
        for f in entity.fields:
            type_name = f.category if f.type == "category" else f.type
            lines.append(f"| {f.name} | {type_name} | {_field_rules(f, contract)} | {f.description} |")
        lines.append("")
    lines += ["## Reference lists", "", "Matching ignores case, spaces and punctuation."]
    for category in contract.categories.values():
        lines += ["", f"### {category.name.replace('_', ' ').capitalize()}s", "", category.description, ""]
        codes_note = "codes and labels match" if category.match_codes else "labels and aliases match; codes do not"
        extra = "group" if any(v.group for v in category.values) else "from age" if any(v.from_age is not None for v in category.values) else None
        header = ["code", "label", "aliases", *([extra] if extra else [])]
        lines += [f"({codes_note})", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for value in category.values:
            aliases = ", ".join(f"`{a}`" for a in value.aliases)
            shown = {"group": value.group, "from age": value.from_age}.get(extra or "")
            lines.append(f"| {value.code} | {value.label} | {aliases} |" + (f" {shown} |" if extra else ""))
    lines += [
        "",
        "## Periods",
        "",
        "The UK financial year: Q1 April-June, Q2 July-September, Q3 October-December, Q4 January-March.",
        "`2022-23 Q1` is April-June 2022. An audit belongs to the quarter of its completion date.",
        "",
        "## Bad input",
        "",
        "A row that breaks a rule is not loaded and not lost: it is kept in `ops.rejected_rows` with the",
        "file, sheet, row number, the record's key, field, value and reason, and listed in the run's",
        "error report (`error_report.csv` beside the warehouse). A file that cannot be read at all (not",
        "CSV or XLSX, empty, no header, missing required columns, no known entity) is recorded in",
        "`ops.load_log` as `rejected_file` with its reason, and archived whole. For every loaded file",
        "rows read = rows loaded + rows rejected.",
        "",
        "A row whose only fault is that its parent (its audit, or its activity) is not loaded yet",
        "*waits*: it is kept with its values and loads by itself on the run in which the parent",
        "arrives, with the lineage of the file that delivered it; the run's error report lists it as",
        "`loaded after waiting`.",
        "",
        "`outstanding_rejections.csv` beside the warehouse lists every rejection not yet put right,",
        "across runs. A rejection leaves it when a later delivery of the same record loads, when the",
        "same file is delivered again (its own rejections then stand), or when a waiting row loads.",
        "",
    ]
    return "\n".join(lines)


def _stored_description(f: Field) -> str:
    if f.pseudonymise:
        return f.description + " Stored as a keyed hash."
    if f.is_degraded:
        return f"Delivered as {f.name}, stored only as a code of {f.degrade_category} (the {f.name} itself is never stored). " + f.description
    return f.description


def _sources(contract: Contract) -> str:
    tables = []
    for entity in contract.entities.values():
        columns = [{"name": name, "description": text} for name, (_, text) in LINEAGE_COLUMNS.items()]
        columns += [
            {"name": f.stored_name, "description": _stored_description(f)}
            for f in entity.fields
        ]
        columns.append({"name": "extra_columns", "description": "Columns the contract does not name, as JSON."})
        tables.append({"name": entity.name, "description": entity.description, "columns": columns})
    document = {
        "version": 2,
        "sources": [
            {
                "name": "audit_extract",
                "description": "Accepted rows of the audit extracts, every version, loaded by the ingestion assets. Generated from orchestration/contract.yml.",
                "schema": "raw",
                "tables": tables,
            },
            {
                "name": "ops",
                "description": "Ingestion's own records: what the staging models need to know about deliveries.",
                "schema": "ops",
                "tables": [
                    {
                        "name": "load_log",
                        "description": "Every file (or workbook sheet) ingestion has seen: its extract date, whether it is a full extract, and its row counts.",
                    }
                ],
            },
        ],
    }
    header = "# Generated from orchestration/contract.yml by `cfa contract`: edit the contract, not this file.\n"
    return header + yaml.safe_dump(document, sort_keys=False, width=120)


def generated_files(contract: Contract | None = None) -> dict[Path, str]:
    contract = contract or load_contract()
    return {
        DOCS_DIR / "extract-contract.md": _docs(contract),
        SOURCES_PATH: _sources(contract),
        **_seed_files(contract),
        **_suite_files(contract),
    }


def write_generated_files() -> list[Path]:
    written = []
    for path, text in generated_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def stale_generated_files() -> list[Path]:
    return [
        path.relative_to(REPO_ROOT)
        for path, text in generated_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]

