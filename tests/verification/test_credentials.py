"""Keyed hashes of PINs and SSN last-4: useless to whoever copies the database alone."""

import datetime as dt
import hashlib
import hmac
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.models import Account
from tests.support.factories import add_account
from verification import Verifier, VerifierPolicy
from verification.credentials import Match, check, hash_pepper_id, keyed_hash, pepper_id

PEPPER = "test-pepper-3f9a1c"


def _matches(stored: str | None, peppers: str, purpose: str, number: str, value: str) -> bool:
    return check(stored, peppers, purpose, number, value).ok


HASH = re.compile(r"h2\$[0-9a-f]{8}\$[0-9a-f]{64}")


def test_same_input_gives_the_same_hash() -> None:
    first = keyed_hash(PEPPER, "pin", "70000001", "4821")
    assert first == keyed_hash(PEPPER, "pin", "70000001", "4821")
    assert HASH.fullmatch(first)


@pytest.mark.parametrize(
    "changed",
    [
        {"peppers": "another-pepper"},
        {"peppers": "another-pepper," + PEPPER},
        {"purpose": "ssn4"},
        {"account_number": "70000002"},
        {"value": "4822"},
        {"value": "04821"},
    ],
)
def test_every_input_changes_the_hash(changed: dict[str, str]) -> None:
    base = {"peppers": PEPPER, "purpose": "pin", "account_number": "70000001", "value": "4821"}
    assert keyed_hash(**base) != keyed_hash(**{**base, **changed})


def test_equal_pins_on_two_accounts_hash_differently() -> None:
    assert keyed_hash(PEPPER, "pin", "70000001", "1234") != keyed_hash(
        PEPPER, "pin", "70000002", "1234"
    )


def test_the_hash_contains_no_plaintext() -> None:
    digest = keyed_hash(PEPPER, "pin", "70000001", "73914682")
    assert "73914682" not in digest
    assert "70000001" not in digest
    assert PEPPER not in digest


def test_matches_accepts_only_the_right_value() -> None:
    stored = keyed_hash(PEPPER, "pin", "70000001", "4821")
    assert _matches(stored, PEPPER, "pin", "70000001", "4821")
    assert not _matches(stored, PEPPER, "pin", "70000001", "4822")
    assert not _matches(stored, "wrong-pepper", "pin", "70000001", "4821")
    assert not _matches(stored, PEPPER, "ssn4", "70000001", "4821")
    assert not _matches(stored, PEPPER, "pin", "70000002", "4821")


@pytest.mark.parametrize("stored", [None, ""])
def test_matches_is_false_without_a_stored_hash(stored: str | None) -> None:
    assert not _matches(stored, PEPPER, "pin", "70000001", "")
    assert not _matches(stored, PEPPER, "pin", "70000001", "4821")


def _brute_force(rows: list[tuple[str, str]], pepper: str) -> dict[str, str]:
    """Every 4-digit PIN an attacker guessing ``pepper`` recovers from (number, pin_hash) rows,
    written as the attacker would: HMAC-SHA256 over the documented message, every PIN."""
    found = {}
    for number, pin_hash in rows:
        digest = pin_hash.rsplit("$", 1)[-1]
        for candidate in (f"{n:04d}" for n in range(10_000)):
            message = f"pin\x1f{number}\x1f{candidate}".encode()
            if hmac.new(pepper.encode(), message, hashlib.sha256).hexdigest() == digest:
                found[number] = candidate
    return found


def test_a_copied_database_alone_does_not_reveal_pins(db: Session, settings: Settings) -> None:
    secret = settings.replace(PIN_PEPPER="prod-pepper-e1b7d2c0a9")
    add_account(db, secret, pin="4821")
    rows = [tuple(row) for row in db.execute(select(Account.number, Account.pin_hash))]
    assert rows == [("70000001", keyed_hash(secret.PIN_PEPPER, "pin", "70000001", "4821"))]

    for guess in ["", "pepper", settings.PIN_PEPPER]:
        assert _brute_force(rows, guess) == {}
    assert _brute_force(rows, secret.PIN_PEPPER) == {"70000001": "4821"}


def test_stored_secrets_are_keyed_hashes(db: Session, settings: Settings) -> None:
    account = add_account(db, settings, pin="73914682", service_zip="", ssn_last4="6789")
    assert HASH.fullmatch(account.pin_hash)
    assert account.ssn_last4_hash is not None
    assert HASH.fullmatch(account.ssn_last4_hash)
    assert "73914682" not in account.pin_hash
    assert "6789" not in account.ssn_last4_hash
    assert _matches(account.pin_hash, settings.PIN_PEPPER, "pin", "70000001", "73914682")
    assert _matches(account.ssn_last4_hash, settings.PIN_PEPPER, "ssn4", "70000001", "6789")


def test_a_retired_pepper_still_verifies_and_is_marked_stale() -> None:
    stored = keyed_hash("old-pepper", "pin", "70000001", "4821")
    rotated = "new-pepper,old-pepper"
    assert check(stored, rotated, "pin", "70000001", "4821") == Match(True, stale=True)
    assert check(stored, rotated, "pin", "70000001", "4822") == Match(False)
    assert check(stored, "new-pepper", "pin", "70000001", "4821") == Match(False)
    fresh = keyed_hash(rotated, "pin", "70000001", "4821")
    assert hash_pepper_id(fresh) == pepper_id("new-pepper") != hash_pepper_id(stored)
    assert check(fresh, rotated, "pin", "70000001", "4821") == Match(True, stale=False)


def test_hashes_from_before_pepper_ids_are_still_checked() -> None:
    message = b"pin\x1f70000001\x1f4821"
    legacy = "h1$" + hmac.new(b"old-pepper", message, hashlib.sha256).hexdigest()
    assert check(legacy, "new-pepper,old-pepper", "pin", "70000001", "4821") == Match(True, True)
    assert not check(legacy, "new-pepper,old-pepper", "pin", "70000001", "0000").ok


def test_an_empty_pepper_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError, match="PIN_PEPPER is empty"):
        keyed_hash(" , ", "pin", "70000001", "4821")


def test_verifying_under_a_retired_pepper_rehashes_under_the_new_one(
    db: Session, settings: Settings
) -> None:
    old = settings.replace(PIN_PEPPER="old-pepper")
    add_account(db, old, pin="4821", ssn_last4="6789", service_zip="")
    rotated = settings.replace(PIN_PEPPER="new-pepper,old-pepper")
    verifier = Verifier(
        db,
        VerifierPolicy.from_settings(rotated),
        caller=None,
        origin="test",
        now=dt.datetime.now(dt.UTC),
    )
    assert verifier.pin_matches("70000001", "4821")
    assert verifier.conclude("70000001", pin_ok=True, detail="6789").account is not None
    db.commit()
    account = db.scalars(select(Account)).one()
    assert hash_pepper_id(account.pin_hash) == pepper_id("new-pepper")
    assert hash_pepper_id(account.ssn_last4_hash or "") == pepper_id("new-pepper")
    assert check(account.pin_hash, "new-pepper", "pin", "70000001", "4821").ok
