"""Load everything in the landing folder into the build database, then archive the files.

A file lies in the landing folder itself (flat: a one-council warehouse, or v2 files that name
their councils) or in a council's subfolder, `<landing>/<la_code>/`, where it is that council's:
a v1 file there takes the folder's la_code, and a row naming another council is rejected. A file
anywhere else (a subfolder named by no council's code, a folder inside a council's folder) is
rejected whole, with the reason, never passed over.

Each file (each sheet of a workbook) is one transaction: its accepted rows, its rejected rows
and its load-log entry commit together or not at all. Entities load in reference order
(audits before their activities), so references are checked against what is already loaded;
within an entity, files load oldest extract first, so load order follows the extracts' dates
whatever the files are called. A row whose only fault is a parent not loaded yet waits and
loads by itself once the parent arrives. Files move to the archive folder, untouched, only once
every sheet of theirs is recorded; a run that stops half-way leaves them in place, and the next
run skips the sheets already loaded.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from orchestration.contract import Contract, Entity, extract_date_in_file_name, load_contract
from orchestration.ingest.pseudonymise import pseudonymisation_key, pseudonymise_many
from orchestration.ingest.readers import FileRejected, Sheet, SheetNotLoaded, read_file
from orchestration.ingest.rules import release_engine
from orchestration.ingest.store import LoadRecord, WarehouseStore
from orchestration.ingest.validation import validate_sheet
from orchestration.ops.keyring import claim_key
from orchestration.ops.memory import give_back_memory
from orchestration.settings import SEEDS_DIR, WarehousePaths
from orchestration.warehouse_db import build_connection

LOCAL_AUTHORITIES_SEED = SEEDS_DIR / "local_authorities.csv"


@dataclass
class IngestSummary:
    run_id: str | None
    loads: list[LoadRecord] = field(default_factory=list)
    waiting_rows_loaded: int = 0

    def count(self, status: str) -> int:
        return len({load.file_name for load in self.loads if load.status == status})

    @property
    def rows_rejected(self) -> int:
        return sum(load.rows_rejected for load in self.loads)


@dataclass(frozen=True)
class LandingFile:
    """A file waiting in the landing folder: where it is, the name the load log knows it by (its
    path under the landing folder), and the council whose folder holds it (None when flat)."""

    path: Path
    name: str
    council: str | None = None
    refused: str | None = None
    """Why the file is not read at all, where its place says so (a folder of no council)."""


@dataclass(frozen=True)
class ReadableSheet:
    path: Path
    content_sha256: str
    sheet: Sheet
    file_name: str | None = None
    council: str | None = None

    @property
    def name(self) -> str:
        return self.file_name or self.path.name

    @property
    def label(self) -> str:
        return self.name + (f" [{self.sheet.sheet_name}]" if self.sheet.sheet_name else "")


@dataclass(frozen=True)
class UnreadableFile:
    path: Path
    content_sha256: str
    reason: str
    file_name: str | None = None
    council: str | None = None

    @property
    def name(self) -> str:
        return self.file_name or self.path.name


@dataclass(frozen=True)
class UnloadedSheet:
    path: Path
    content_sha256: str
    sheet: SheetNotLoaded
    file_name: str | None = None
    council: str | None = None

    @property
    def name(self) -> str:
        return self.file_name or self.path.name

    @property
    def label(self) -> str:
        return f"{self.name} [{self.sheet.sheet_name}]"


def read_files(
    files: list[Path | LandingFile], contract: Contract
) -> tuple[list[ReadableSheet], list[UnreadableFile], list[UnloadedSheet]]:
    """Every sheet the files hold, the files that cannot be read at all, and the workbook sheets
    not read (hidden, blank, or named after no entity), each with the reason."""
    readable, unreadable, unloaded = [], [], []
    for file in files:
        file = file if isinstance(file, LandingFile) else LandingFile(file, file.name)
        path, where = file.path, {"file_name": file.name, "council": file.council}
        content = path.read_bytes()
        content_sha256 = hashlib.sha256(content).hexdigest()
        if file.refused:
            unreadable.append(UnreadableFile(path, content_sha256, file.refused, **where))
            continue
        try:
            contents = read_file(path, content, contract)
        except FileRejected as rejection:
            unreadable.append(UnreadableFile(path, content_sha256, str(rejection), **where))
            continue
        readable.extend(ReadableSheet(path, content_sha256, sheet, **where) for sheet in contents.sheets)
        unloaded.extend(UnloadedSheet(path, content_sha256, sheet, **where) for sheet in contents.sheets_not_loaded)
    return readable, unreadable, unloaded


def extract_date(path: Path, delivered: dt.date) -> dt.date:
    """The date of the extract a file holds: the date in its name, else the day it was delivered."""
    return extract_date_in_file_name(path.name) or delivered


def in_load_order(
    readable: list[ReadableSheet], contract: Contract, delivered: dt.date | None = None
) -> Iterator[ReadableSheet]:
    """Sheets entity by entity, referenced entities first (audits before their activities), and
    within an entity oldest extract first (then by name), so a newer extract always loads later."""
    delivered = delivered or dt.date.today()
    for entity in contract.load_order:
        sheets = [item for item in readable if item.sheet.entity is entity]
        yield from sorted(sheets, key=lambda item: (extract_date(item.path, delivered), item.name))


def _hidden(path: Path) -> bool:
    return path.name.startswith((".", "~$"))


def landing_files(landing_dir: Path) -> list[Path]:
    """Files waiting in the landing folder and any folder inside it, in name order (names
    usually carry the extract date)."""
    if not landing_dir.is_dir():
        return []
    return sorted(
        path
        for path in landing_dir.rglob("*")
        if path.is_file() and not any(_hidden(part) for part in [path, *path.relative_to(landing_dir).parents] if part.name)
    )


def known_councils(seed: Path = LOCAL_AUTHORITIES_SEED) -> dict[str, str]:
    """The councils a landing subfolder may be named after: la_code -> name, from the seed of
    English local authorities."""
    with seed.open(encoding="utf-8", newline="") as handle:
        return {row["la_code"]: row["la_name"] for row in csv.DictReader(handle)}


def landing_deliveries(landing_dir: Path, councils: dict[str, str]) -> tuple[list[LandingFile], list[str]]:
    """Every file waiting in the landing folder, each with its council (None when flat) or the
    reason its place refuses it; and a note on each folder of no council that holds nothing, so
    nothing there is passed over in silence."""
    files, notes = [], []
    for path in landing_files(landing_dir):
        relative = path.relative_to(landing_dir)
        name = relative.as_posix()
        if len(relative.parts) == 1:
            files.append(LandingFile(path, name))
        elif len(relative.parts) == 2 and relative.parts[0] in councils:
            files.append(LandingFile(path, name, council=relative.parts[0]))
        else:
            files.append(LandingFile(path, name, refused=_refusal(relative, councils)))
    if landing_dir.is_dir():
        for folder in sorted(p for p in landing_dir.iterdir() if p.is_dir() and not _hidden(p)):
            if folder.name not in councils and not any(file.path.is_relative_to(folder) for file in files):
                notes.append(f"{folder.name}/: {_folder_reason(folder.name)}; it holds no files")
    return files, notes


def _folder_reason(folder: str) -> str:
    return (
        f"the landing folder's subfolder '{folder}' is not named by a council's code: a council's files go in a "
        "subfolder named by its three-digit DfE local authority code (e.g. 885/), or in the landing folder itself"
    )


def _refusal(relative: Path, councils: dict[str, str]) -> str:
    top = relative.parts[0]
    if top in councils:
        inner = "/".join(relative.parts[1:-1])
        return (
            f"not read: it is in {top}/{inner}/, a folder inside council {top}'s folder; "
            f"{councils[top]}'s files go in {top}/ itself"
        )
    return f"not read: {_folder_reason(top)}"


def pseudonymised(table: pa.Table, entity: Entity, key: bytes) -> pa.Table:
    """The table with every personal field's values replaced by their keyed hashes: one HMAC per
    distinct value, mapped over the whole column."""
    for f in entity.fields:
        if f.pseudonymise:
            column = table[f.name]
            distinct = pc.unique(column.drop_null())
            pseudonyms = pa.array(pseudonymise_many([str(value) for value in distinct.to_pylist()], key), pa.string())
            hashed = pseudonyms.take(pc.index_in(column, value_set=distinct))
            table = table.set_column(table.schema.get_field_index(f.name), f.name, hashed)
    return table


def prepared_cells(sheet: Sheet, contract: Contract, key: bytes, council: str | None) -> pa.Table:
    """The sheet's table as the rules check it: pseudonymised, and a v1 file in a council's
    folder given that council's la_code."""
    table = pseudonymised(sheet.table, sheet.entity, key)
    council_field = contract.council_field
    if council and council_field not in sheet.present_fields:
        table = table.set_column(
            table.schema.get_field_index(council_field), council_field,
            pc.fill_null(pa.nulls(table.num_rows, pa.string()), council),
        )
    return table


def reference_pairs(cells: pa.Table, council_field: str, field: str) -> list[tuple[str | None, str]]:
    """The distinct (la_code, value) pairs by which a sheet's rows refer to other records."""
    pairs = cells.select([council_field, field]).group_by([council_field, field]).aggregate([])
    return list(zip(pairs[council_field].to_pylist(), pairs[field].to_pylist()))


def _archive(path: Path, archive_dir: Path, today: dt.date, name: str | None = None) -> Path:
    """Move the file to the day's archive folder, under the same path it had in the landing
    folder (a council's files in the council's folder)."""
    target_dir = (archive_dir / today.isoformat() / (name or path.name)).parent
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    counter = 1
    while target.exists():
        target = target_dir / f"{path.stem}.{counter}{path.suffix}"
        counter += 1
    shutil.move(str(path), str(target))
    return target


def ingest_landing_folder(
    paths: WarehousePaths,
    run_id: str | None = None,
    today: dt.date | None = None,
    log: Callable[[str], None] = print,
    contract: Contract | None = None,
) -> IngestSummary:
    contract = contract or load_contract()
    today = today or dt.date.today()
    key = pseudonymisation_key()
    summary = IngestSummary(run_id=run_id)
    files, folder_notes = landing_deliveries(paths.landing_dir, known_councils())
    councils = sorted({file.council for file in files if file.council})
    log(f"{len(files)} file(s) in {paths.landing_dir}" + (f", in the folders of council(s) {', '.join(councils)}" if councils else ""))
    for note in folder_notes:
        log(note)
    started = time.perf_counter()

    with build_connection(paths) as connection:
        store = WarehouseStore(connection, contract)
        store.ensure_schemas()
        claim_key(connection, key)  # one key per warehouse: refuse another before loading anything

        readable, unreadable, unloaded = read_files(files, contract)
        for file in unreadable:
            guessed = contract.entity_for_name(file.path.name)
            load = LoadRecord(
                file_name=file.name,
                entity=guessed.name if guessed else None,
                sheet_name=None,
                content_sha256=file.content_sha256,
                status="rejected_file",
                reason=file.reason,
                extract_date=extract_date(file.path, today),
                council_folder=file.council,
            )
            store.record(load, run_id)
            summary.loads.append(load)
            log(f"{file.name}: rejected: {file.reason}")
        for skipped in unloaded:
            load = LoadRecord(
                file_name=skipped.name,
                entity=skipped.sheet.entity.name if skipped.sheet.entity else None,
                sheet_name=skipped.sheet.sheet_name,
                content_sha256=skipped.content_sha256,
                status="sheet_not_loaded",
                reason=skipped.sheet.reason,
                extract_date=extract_date(skipped.path, today),
                council_folder=skipped.council,
            )
            store.record(load, run_id)
            summary.loads.append(load)
            log(f"{skipped.label}: sheet not loaded: {skipped.sheet.reason}")

        ordered = list(in_load_order(readable, contract, today))
        for entity in contract.load_order:
            if entity.references:
                loaded = store.load_waiting_rows(entity, run_id)
                if loaded:
                    summary.waiting_rows_loaded += loaded
                    log(f"{entity.name}: {loaded} waiting row(s) loaded: the records they refer to have arrived")
            for item in (item for item in ordered if item.sheet.entity is entity):
                _load_sheet(item, store, contract, key, run_id, today, summary, log)
                item.sheet.release()
        release_engine()
        store.resolve_rejections(run_id)
        store.refresh_statistics()

        for file in files:
            store.mark_archived(file.name, run_id, _archive(file.path, paths.archive_dir, today, file.name))
    give_back_memory()
    seconds = max(time.perf_counter() - started, 1e-6)
    rows_read = sum(load.rows_read for load in summary.loads)
    log(f"ingestion done: {rows_read} row(s) from {len(files)} file(s) in {seconds:.1f} s ({rows_read / seconds:,.0f} rows a second)")
    return summary


def _load_sheet(
    item: ReadableSheet,
    store: WarehouseStore,
    contract: Contract,
    key: bytes,
    run_id: str | None,
    today: dt.date,
    summary: IngestSummary,
    log: Callable[[str], None],
) -> None:
    entity, sheet = item.sheet.entity, item.sheet
    extract = extract_date(item.path, today)
    started = time.perf_counter()
    about_the_sheet = {
        "file_name": item.name, "entity": entity.name, "sheet_name": sheet.sheet_name,
        "content_sha256": item.content_sha256, "extract_date": extract,
        "council_folder": item.council, "contract_version": sheet.contract_version,
    }
    if store.already_loaded_cleanly(item.content_sha256, entity.name, item.council):
        load = LoadRecord(**about_the_sheet, status="skipped_duplicate", reason="this content was loaded before")
        store.record(load, run_id)
        summary.loads.append(load)
        log(f"{item.label}: skipped, already loaded")
        return
    cells = prepared_cells(sheet, contract, key, item.council)
    known = {
        ref.field: store.known_references(ref.entity, ref.field, reference_pairs(cells, contract.council_field, ref.field))
        for ref in entity.references
    }
    validated = validate_sheet(sheet, contract, known, today, cells=cells, council=item.council)
    notes = list(sheet.columns_not_loaded)
    full_extract = contract.delivery.is_full_extract(item.path.name)
    if full_extract and validated.rejections:
        notes.append("a full extract with rejected rows: nothing is retired until it loads cleanly")
    if len(validated.waiting):
        parents = sorted({r.waiting_for for r in validated.rejections if r.waiting_for})
        notes.append(f"{len(validated.waiting)} row(s) wait for their {' and '.join(parents)} and load when it arrives")
    load = LoadRecord(
        **about_the_sheet,
        status="loaded",
        rows_read=validated.rows_read,
        rows_loaded=len(validated.accepted),
        rows_rejected=validated.rows_rejected,
        reason="; ".join(notes) or None,
        full_extract=full_extract and not validated.rejections,
    )
    store.record(load, run_id, validated.accepted, validated.rejections, entity, validated.waiting)
    summary.loads.append(load)
    waiting = f" ({len(validated.waiting)} waiting for a parent record)" if len(validated.waiting) else ""
    seconds = max(time.perf_counter() - started, 1e-6)
    log(
        f"{item.label}: {entity.name} (extract {extract.isoformat()}, contract v{sheet.contract_version}): {load.rows_loaded} row(s) loaded, "
        f"{load.rows_rejected} rejected{waiting} in {seconds:.1f} s ({load.rows_read / seconds:,.0f} rows a second)"
    )
    for column_note in sheet.columns_not_loaded:
        log(f"{item.label}: {column_note}")
