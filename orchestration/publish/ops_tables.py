"""The ops tables the published warehouse carries, and what each column means.

dbt describes the marts (and persists the descriptions as comments); ingestion's ops tables
are not dbt's, so their descriptions live here and publishing writes them as comments. A column
the published warehouse carries without a description fails the tests: say what it means here.
"""

from __future__ import annotations

# table -> (description, {column: description}). Only these columns are published: the build
# keeps the rest (a waiting row's whole record, for one, is the job's business, not an analyst's).
PUBLISHED_OPS_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "load_log": (
        "Every file (or workbook sheet) each run saw: loaded, skipped as a duplicate, rejected, or a sheet not loaded, with row counts.",
        {
            "load_id": "The load: one file, or one sheet of a workbook. Rows in ops.rejected_rows name it.",
            "run_id": "The Dagster run that saw the file.",
            "file_name": "The landing file's name.",
            "entity": "What the file or sheet holds (audits, audit_activities, ...); empty when no entity could be told.",
            "sheet_name": "The workbook sheet; empty for CSV.",
            "content_sha256": "SHA-256 of the file's content: the same content delivered again is a duplicate.",
            "status": "loaded, skipped_duplicate, rejected_file or sheet_not_loaded.",
            "rows_read": "Rows read from the file or sheet (rows_loaded + rows_rejected).",
            "rows_loaded": "Rows loaded.",
            "rows_rejected": "Rows rejected (see ops.rejected_rows).",
            "reason": "Why a file was rejected or a sheet not loaded; columns not loaded, for a loaded file.",
            "loaded_at": "When the file was processed.",
            "archived_to": "Where the file was archived after processing.",
            "extract_date": "The extract's date (from the file name, else the day it was delivered): the newest extract's version of a record wins.",
            "full_extract": "True for a full extract, which retires records of its entity it no longer holds.",
        },
    ),
    "rejected_rows": (
        "Every rejected row: file, sheet, row, field, value and reason, and whether a later delivery put it right.",
        {
            "load_id": "The load (ops.load_log) that delivered the row.",
            "file_name": "The landing file the row came from.",
            "entity": "What the row is (audits, audit_activities, ...).",
            "sheet_name": "The workbook sheet; empty for CSV.",
            "row_number": "The row's number as a spreadsheet shows it (the header is row 1).",
            "field": "The field at fault.",
            "value": "The value as delivered (child ids pseudonymised).",
            "reason": "Why the row was rejected.",
            "rejected_at": "When it was rejected.",
            "record_key": "The record's key as the case system knows it: how a rejection is matched to the delivery that put it right.",
            "waiting_for": "For a row waiting for its parent record: which (audit or activity); empty for a rejected row.",
            "resolved_by_load_id": "The load that put the rejection right; empty while it is outstanding.",
            "resolved_in_run": "The run in which it was put right.",
            "resolved_at": "When it was put right.",
            "resolution": "How it was put right.",
        },
    ),
    "warehouse_identity": (
        "The fingerprint of the pseudonymisation key the warehouse was built under (never the key): a run under another key is refused.",
        {
            "key_fingerprint": "HMAC-SHA256 of a fixed label under the key: identifies the key without revealing it.",
            "recorded_at": "When the key was first used for this warehouse.",
            "note": "How the key came to be recorded (first load, or a rekey).",
        },
    ),
}

BUILD_INFO_TABLE = "build_info"
BUILD_INFO_DESCRIPTION = (
    "When this warehouse was built and published, and the date each council's figures are as at: one row per council."
)
BUILD_INFO_COLUMNS: dict[str, tuple[str, str]] = {
    "la_code": ("VARCHAR NOT NULL", "3-digit DfE local authority code."),
    "figures_as_at": (
        "DATE",
        "The date this council's figures are as at in every mart: the newest extract that delivered any of its records (or the as_at_date variable).",
    ),
    "marts_figures_as_at": (
        "DATE",
        "The newest date any council's figures are as at: the warehouse holds nothing delivered after it.",
    ),
    "build_started_at": ("TIMESTAMP NOT NULL", "When the run that built this warehouse started (UTC)."),
    "published_at": ("TIMESTAMP NOT NULL", "When this warehouse was published (UTC)."),
    "run_id": ("VARCHAR", "The Dagster run that built and published it."),
}
