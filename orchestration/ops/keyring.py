"""One pseudonymisation key per warehouse.

Pseudonyms made under two keys do not match: the same child would be two children. So the
build database records its key's fingerprint in `ops.warehouse_identity` on its first load, and
a run under any other key is refused before it loads or publishes anything. The fingerprint is
an HMAC of a fixed label under the key: it identifies the key without revealing it (a long
random key, as a council should use, cannot be found from it).

Changing the key is `cfa rekey` (orchestration/ops/rekey.py): every pseudonym is rebuilt from
the archived extracts under the new key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import duckdb

from orchestration.ops.refusals import Refusal

FINGERPRINT_LABEL = b"case-file-audit-warehouse key fingerprint v1"

IDENTITY_DDL = [
    "CREATE SCHEMA IF NOT EXISTS ops",
    """
    CREATE TABLE IF NOT EXISTS ops.warehouse_identity (
        key_fingerprint VARCHAR NOT NULL,
        recorded_at TIMESTAMP NOT NULL,
        note VARCHAR
    )
    """,
]


class KeyMismatch(Refusal):
    exit_code = 4


def key_fingerprint(key: bytes) -> str:
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def short(fingerprint: str) -> str:
    return fingerprint[:12]


def recorded_fingerprint(connection: duckdb.DuckDBPyConnection) -> str | None:
    exists = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' AND table_name = 'warehouse_identity'"
    ).fetchone()[0]
    if not exists:
        return None
    row = connection.execute(
        "SELECT key_fingerprint FROM ops.warehouse_identity ORDER BY recorded_at DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def fingerprint_of(database: Path) -> str | None:
    """The key fingerprint a DuckDB file records, or None (no file, or none recorded)."""
    if not database.exists():
        return None
    with duckdb.connect(str(database), read_only=True) as connection:
        return recorded_fingerprint(connection)


def mismatch_message(where: str, recorded: str, given: str) -> str:
    return (
        f"the {where} was built with another pseudonymisation key (fingerprint {short(recorded)}; "
        f"CFA_PSEUDONYMISATION_KEY has {short(given)}): under it every child would get a second pseudonym. "
        "Set the warehouse's own key, or change key on purpose with `cfa rekey`."
    )


def claim_key(connection: duckdb.DuckDBPyConnection, key: bytes, note: str = "first load under this key") -> None:
    """Record the key's fingerprint in a build database that has none; refuse another key."""
    given = key_fingerprint(key)
    recorded = recorded_fingerprint(connection)
    if recorded is None:
        for statement in IDENTITY_DDL:
            connection.execute(statement)
        connection.execute(
            "INSERT INTO ops.warehouse_identity VALUES (?, ?, ?)",
            [given, dt.datetime.now().replace(microsecond=0), note],
        )
    elif recorded != given:
        raise KeyMismatch(mismatch_message("build database", recorded, given))


def check_key(database: Path, key: bytes, where: str) -> None:
    recorded = fingerprint_of(database)
    given = key_fingerprint(key)
    if recorded is not None and recorded != given:
        raise KeyMismatch(mismatch_message(where, recorded, given))
