"""Keyed hashes for PINs and SSN last-4.

A 4-digit PIN has 10,000 values, so any unkeyed hash is reversed by trying them all. The
HMAC key (the PIN pepper) lives in the environment, not the database, so a copied database
alone reveals nothing. The account number is mixed in so equal PINs hash differently.

Rotation without downtime: ``PIN_PEPPER`` may list several peppers, newest first
(``new,old``). New hashes use the newest and name it by a short fingerprint (``h2$<kid>$...``);
a check tries the pepper its hash names (older ``h1$`` hashes name none, so each pepper is
tried). A correct answer under an old pepper is re-hashed under the new one on the spot, and
the next import re-hashes every account it carries, so the old pepper can be dropped once
``ivr keys status`` shows no hash still uses it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

_LEGACY = "h1"
_SCHEME = "h2"


def pepper_list(peppers: str) -> list[str]:
    """The peppers of a ``PIN_PEPPER`` setting, newest first."""
    return [pepper.strip() for pepper in peppers.split(",") if pepper.strip()]


@lru_cache(maxsize=16)  # an import names the same pepper in every row's hashes
def pepper_id(pepper: str) -> str:
    """A fingerprint that names a pepper in its hashes without revealing it."""
    return hashlib.sha256(f"pepper-id\x1f{pepper}".encode()).hexdigest()[:8]


def _digest(pepper: str, purpose: str, account_number: str, value: str) -> str:
    message = f"{purpose}\x1f{account_number}\x1f{value}".encode()
    return hmac.new(pepper.encode(), message, hashlib.sha256).hexdigest()


def newest_pepper(peppers: str) -> str:
    listed = pepper_list(peppers)
    if not listed:
        raise ValueError("PIN_PEPPER is empty; set it to a long random secret")
    return listed[0]


def keyed_hash(peppers: str, purpose: str, account_number: str, value: str) -> str:
    """The hash of ``value`` under the newest pepper of ``peppers``."""
    newest = newest_pepper(peppers)
    return f"{_SCHEME}${pepper_id(newest)}${_digest(newest, purpose, account_number, value)}"


def hash_pepper_id(stored: str) -> str | None:
    """The fingerprint of the pepper a stored hash was made with (``None`` for old hashes)."""
    scheme, _, rest = stored.partition("$")
    return rest.partition("$")[0] if scheme == _SCHEME else None


@dataclass(frozen=True)
class Match:
    ok: bool
    stale: bool = False  # right, but under an older pepper: re-hash it


def check(stored: str | None, peppers: str, purpose: str, account_number: str, value: str) -> Match:
    """Constant-time check against the pepper the hash names (each, for legacy hashes). A
    missing ``stored`` still costs one hash, then fails, so timing says nothing of accounts."""
    candidates = pepper_list(peppers)
    named = hash_pepper_id(stored or "")
    if named is not None:
        candidates = [p for p in candidates if pepper_id(p) == named] or candidates[:1]
    newest = newest_pepper(peppers)
    for pepper in candidates:
        digest = _digest(pepper, purpose, account_number, value)
        expected = (
            f"{_SCHEME}${pepper_id(pepper)}${digest}"
            if named is not None
            else f"{_LEGACY}${digest}"
        )
        if hmac.compare_digest(expected, stored or "") and stored is not None:
            return Match(True, stale=pepper != newest or named is None)
    return Match(False)
