"""Keyed hashes for PINs and SSN last-4.

A 4-digit PIN has 10,000 values, so any unkeyed hash is reversed by trying them all. The
HMAC key (the PIN pepper) lives in the environment, not the database, so a copied database
alone reveals nothing. The account number is mixed in so equal PINs hash differently.
"""

from __future__ import annotations

import hashlib
import hmac

_SCHEME = "h1"


def keyed_hash(pepper: str, purpose: str, account_number: str, value: str) -> str:
    message = f"{purpose}\x1f{account_number}\x1f{value}".encode()
    digest = hmac.new(pepper.encode(), message, hashlib.sha256).hexdigest()
    return f"{_SCHEME}${digest}"


def matches(stored: str | None, pepper: str, purpose: str, account_number: str, value: str) -> bool:
    """Constant-time check; a missing ``stored`` still costs one hash, then fails."""
    candidate = keyed_hash(pepper, purpose, account_number, value)
    return hmac.compare_digest(candidate, stored or "") and stored is not None
