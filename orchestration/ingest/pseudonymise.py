"""Keyed pseudonymisation of child identifiers (HMAC-SHA256), applied before anything is stored."""

from __future__ import annotations

import hashlib
import hmac
import os
import warnings

# Only for synthetic data: `make run` and the tests use it and say so.
DEVELOPMENT_KEY = "cfa-development-key-synthetic-data-only"


class PseudonymisationKeyMissing(RuntimeError):
    pass


def pseudonymisation_key() -> bytes:
    key = os.environ.get("CFA_PSEUDONYMISATION_KEY", "")
    if key:
        return key.encode("utf-8")
    if os.environ.get("CFA_ENV", "").lower() == "production":
        raise PseudonymisationKeyMissing(
            "CFA_ENV=production but CFA_PSEUDONYMISATION_KEY is not set: refusing to load "
            "children's data without the council's pseudonymisation key."
        )
    warnings.warn(
        "CFA_PSEUDONYMISATION_KEY is not set: using the development key, fit for synthetic data only.",
        stacklevel=2,
    )
    return DEVELOPMENT_KEY.encode("utf-8")


def uses_development_key() -> bool:
    return os.environ.get("CFA_PSEUDONYMISATION_KEY", DEVELOPMENT_KEY) == DEVELOPMENT_KEY


def pseudonymise(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
