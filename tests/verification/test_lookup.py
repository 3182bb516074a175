"""Finding accounts by number and by caller ID."""

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.models import Account
from tests.support.factories import ADA_PHONE, STRANGER, add_account
from verification import accounts_for_caller, find_account, normalize_phone, readable_phone


@pytest.mark.parametrize(
    "raw",
    [
        "+12025550123",
        "2025550123",
        "(202) 555-0123",
        "202-555-0123",
        "202.555.0123",
        "1-202-555-0123",
        "+1 202 555 0123",
        "  +1 (202) 555-0123  ",
    ],
)
def test_us_numbers_normalize_to_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+12025550123"


def test_other_countries_keep_their_code() -> None:
    assert normalize_phone("+44 20 7183 8750") == "+442071838750"
    assert normalize_phone("020 7183 8750", "GB") == "+442071838750"


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "anonymous",
        "Anonymous",
        "Restricted",
        "Unknown",
        "+266696687",  # Twilio's stand-in for a withheld number
        "client:alice",
        "abc",
        "123",
        "+1",
        "555-0123",
        "+1 202 555 01234",
        "12345678901234567890",
    ],
)
def test_unusable_caller_ids_are_none(raw: str | None) -> None:
    assert normalize_phone(raw) is None


def _parsed_as_e164(raw: str, region: str) -> str | None:
    """What normalize_phone answered before it learnt the shortcut for E.164 input."""
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@given(
    digits=st.from_regex(r"\A[2-9][0-9]{9}\Z"),
    region=st.sampled_from(["US", "CA", "PR", "GB", "DE", "ZZ"]),
)
def test_north_american_e164_numbers_normalize_exactly_as_a_full_parse(
    digits: str, region: str
) -> None:
    raw = f"+1{digits}"
    assert normalize_phone(raw, region) == _parsed_as_e164(raw, region)


@pytest.mark.parametrize(
    "raw",
    [
        "+12125550100",  # a valid New York number
        "+12005550100",  # area code 200 is not assigned
        "+19995550100",  # nor is 999
        "+18005550100",  # toll free
        "+14165550100",  # Toronto: another country, the same plan
        "+12125550100 ",
        "+1212555010\u0660",  # an Arabic-Indic zero: not ASCII, so the full parse decides
    ],
)
def test_the_e164_shortcut_agrees_with_a_full_parse_at_the_edges(raw: str) -> None:
    assert normalize_phone(raw) == _parsed_as_e164(raw, "US")


def test_find_account_by_number(db: Session, ada: Account) -> None:
    found = find_account(db, "70000001")
    assert found is not None
    assert found.id == ada.id
    assert find_account(db, "70000002") is None
    assert find_account(db, "0000001") is None


def test_one_account_on_a_phone(db: Session, ada: Account) -> None:
    assert [account.id for account in accounts_for_caller(db, ADA_PHONE)] == [ada.id]


def test_every_phone_of_an_account_finds_it(db: Session, settings: Settings) -> None:
    account = add_account(db, settings, phone="(202) 555-0123; +1 415 555 2671")
    assert [a.id for a in accounts_for_caller(db, "+12025550123")] == [account.id]
    assert [a.id for a in accounts_for_caller(db, "+14155552671")] == [account.id]
    assert accounts_for_caller(db, ADA_PHONE) == []


def test_two_accounts_sharing_a_phone(db: Session, settings: Settings, ada: Account) -> None:
    other = add_account(db, settings, account_number="70000002")
    assert [account.id for account in accounts_for_caller(db, ADA_PHONE)] == [ada.id, other.id]


def test_at_most_limit_accounts_are_returned(db: Session, settings: Settings) -> None:
    ids = [add_account(db, settings, account_number=f"7000000{n}").id for n in range(1, 5)]
    assert [account.id for account in accounts_for_caller(db, ADA_PHONE)] == ids[:2]
    assert [account.id for account in accounts_for_caller(db, ADA_PHONE, limit=10)] == ids


@pytest.mark.parametrize("caller", [STRANGER, None])
def test_unknown_or_withheld_caller_matches_nothing(
    db: Session, ada: Account, caller: str | None
) -> None:
    assert accounts_for_caller(db, caller) == []


@pytest.mark.parametrize(
    ("e164", "readable"),
    [
        ("+15005550100", "(500) 555-0100"),  # at home: as dialled in the US
        ("+442071838750", "+44 20 7183 8750"),  # abroad: with its country code
        ("not a number", "not a number"),
    ],
)
def test_numbers_are_written_for_reading(e164: str, readable: str) -> None:
    assert readable_phone(e164) == readable
