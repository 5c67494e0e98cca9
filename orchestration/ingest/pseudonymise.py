"""Keyed pseudonymisation of child identifiers (HMAC-SHA256), applied before anything is stored."""

from __future__ import annotations

import hashlib
import hmac
import os
import sys

from orchestration.ops.refusals import Refusal

# Only for synthetic data: `make run` and the tests use it and say so.
DEVELOPMENT_KEY = "cfa-development-key-synthetic-data-only"
DEVELOPMENT_KEY_NOTE = "note: CFA_PSEUDONYMISATION_KEY is not set: using the development key, fit for synthetic data only."

_noted_development_key = False


class PseudonymisationKeyMissing(Refusal, RuntimeError):
    pass


def in_production() -> bool:
    return os.environ.get("CFA_ENV", "").strip().lower() == "production"


def pseudonymisation_key() -> bytes:
    key = os.environ.get("CFA_PSEUDONYMISATION_KEY", "")
    if in_production() and (not key or key == DEVELOPMENT_KEY):
        # The development key is public (it is in this repository): it is no key in production,
        # wherever it came from (a Makefile default, a copied .env).
        what = "is not set" if not key else "is the development key"
        raise PseudonymisationKeyMissing(
            f"CFA_ENV=production but CFA_PSEUDONYMISATION_KEY {what}: refusing to load children's data "
            "without the council's own pseudonymisation key; set it in the environment."
        )
    if key:
        return key.encode("utf-8")
    _note_development_key_once()
    return DEVELOPMENT_KEY.encode("utf-8")


def _note_development_key_once() -> None:
    # Every step and command asks for the key; the operator needs to read this once, not per call.
    global _noted_development_key
    if not _noted_development_key:
        _noted_development_key = True
        print(DEVELOPMENT_KEY_NOTE, file=sys.stderr)


def uses_development_key() -> bool:
    return os.environ.get("CFA_PSEUDONYMISATION_KEY", DEVELOPMENT_KEY) == DEVELOPMENT_KEY


def pseudonymise(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonymise_many(values: list[str], key: bytes) -> list[str]:
    """`pseudonymise` of each value: the same HMAC-SHA256 (RFC 2104), with the key's inner and
    outer pads hashed once rather than once per value, which is most of a short value's cost."""
    block = hashlib.sha256().block_size
    key = hashlib.sha256(key).digest() if len(key) > block else key
    key = key.ljust(block, b"\0")
    inner_pad = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer_pad = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
    hashed = []
    for value in values:
        inner = inner_pad.copy()
        inner.update(value.encode("utf-8"))
        outer = outer_pad.copy()
        outer.update(inner.digest())
        hashed.append(outer.hexdigest())
    return hashed
