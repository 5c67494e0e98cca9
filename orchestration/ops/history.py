"""Never publish less by accident.

Each build database carries its whole history (ops.load_log): every file it ever loaded. A
build that is missing, or was replaced by an older or empty one, would publish a warehouse that
lost audits, and nothing else would notice. So before ingesting and again before publishing,
every file the published warehouse had loaded must be in the build too; otherwise the run is
refused, unless the operator says the loss is intended (`--allow-history-loss`, or
CFA_ALLOW_HISTORY_LOSS=1 for scheduled runs).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from orchestration.ops.refusals import Refusal

ALLOW_HISTORY_LOSS = "CFA_ALLOW_HISTORY_LOSS"


class HistoryLost(Refusal):
    exit_code = 5


def history_loss_allowed() -> bool:
    return os.environ.get(ALLOW_HISTORY_LOSS, "").strip().lower() in {"1", "true", "yes"}


def loaded_files(database: Path) -> set[tuple[str, str]] | None:
    """(content sha256, entity) of every load a DuckDB file records; None if it records none."""
    if not database.exists():
        return None
    with duckdb.connect(str(database), read_only=True) as connection:
        has_log = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' AND table_name = 'load_log'"
        ).fetchone()[0]
        if not has_log:
            return None
        rows = connection.execute("SELECT DISTINCT content_sha256, entity FROM ops.load_log WHERE status = 'loaded'")
        return set(rows.fetchall())


def check_history(warehouse: Path, build_database: Path, allowed: bool | None = None) -> str | None:
    """Refuse a build that lacks loads the published warehouse has; with the loss allowed, the
    line to log instead (None when nothing is lost)."""
    published = loaded_files(warehouse)
    if not published:
        return None
    build = loaded_files(build_database) or set()
    lost = published - build
    if not lost:
        return None
    if not build_database.exists():
        state = f"the build database {build_database} is missing"
    else:
        state = f"the build database holds {len(build)} loaded file(s)"
    message = (
        f"{state} but the published warehouse {warehouse} holds {len(published)} loaded file(s), {len(lost)} of them "
        "missing from the build: the build lost its history (deleted or replaced?), and publishing it would lose audits."
    )
    if allowed if allowed is not None else history_loss_allowed():
        return message + " Going on: the loss is allowed (--allow-history-loss / CFA_ALLOW_HISTORY_LOSS)."
    raise HistoryLost(
        message + " Nothing was changed. Restore the build with `cfa restore BACKUP`, or publish the smaller "
        "warehouse on purpose with --allow-history-loss (CFA_ALLOW_HISTORY_LOSS=1)."
    )
