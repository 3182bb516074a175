"""Keyed hashes of PINs and SSN last-4: useless to whoever copies the database alone."""

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.models import Account
from tests.factories import add_account
from verification.credentials import keyed_hash, matches

PEPPER = "test-pepper-3f9a1c"
HASH = re.compile(r"h1\$[0-9a-f]{64}")


def test_same_input_gives_the_same_hash() -> None:
    first = keyed_hash(PEPPER, "pin", "70000001", "4821")
    assert first == keyed_hash(PEPPER, "pin", "70000001", "4821")
    assert HASH.fullmatch(first)


@pytest.mark.parametrize(
    "changed",
    [
        {"pepper": "another-pepper"},
        {"pepper": ""},
        {"purpose": "ssn4"},
        {"account_number": "70000002"},
        {"value": "4822"},
        {"value": "04821"},
    ],
)
def test_every_input_changes_the_hash(changed: dict[str, str]) -> None:
    base = {"pepper": PEPPER, "purpose": "pin", "account_number": "70000001", "value": "4821"}
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
    assert matches(stored, PEPPER, "pin", "70000001", "4821")
    assert not matches(stored, PEPPER, "pin", "70000001", "4822")
    assert not matches(stored, "wrong-pepper", "pin", "70000001", "4821")
    assert not matches(stored, PEPPER, "ssn4", "70000001", "4821")
    assert not matches(stored, PEPPER, "pin", "70000002", "4821")


@pytest.mark.parametrize("stored", [None, ""])
def test_matches_is_false_without_a_stored_hash(stored: str | None) -> None:
    assert not matches(stored, PEPPER, "pin", "70000001", "")
    assert not matches(stored, PEPPER, "pin", "70000001", "4821")


def _brute_force(rows: list[tuple[str, str]], pepper: str) -> dict[str, str]:
    """Every 4-digit PIN an attacker holding ``pepper`` recovers from (number, pin_hash) rows."""
    found = {}
    for number, pin_hash in rows:
        for candidate in (f"{n:04d}" for n in range(10_000)):
            if keyed_hash(pepper, "pin", number, candidate) == pin_hash:
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
    assert matches(account.pin_hash, settings.PIN_PEPPER, "pin", "70000001", "73914682")
    assert matches(account.ssn_last4_hash, settings.PIN_PEPPER, "ssn4", "70000001", "6789")
