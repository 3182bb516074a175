"""Finding accounts by number or by caller ID."""

from __future__ import annotations

import re

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import Account, AccountPhone

# A North American number already in E.164 (what Twilio sends and most billing exports hold).
# For these ``phonenumbers.parse`` builds country code 1 and the ten digits as the national
# number whatever the default region (no national prefix or extension to strip), and the E.164
# form is the text itself: only the validity check is left to do (about half the cost).
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{9}")


def normalize_phone(raw: str | None, region: str = "US") -> str | None:
    """E.164 for a usable number; ``None`` for blocked, anonymous or malformed caller IDs."""
    if not raw:
        return None
    text = raw.strip()
    if _NANP_E164.fullmatch(text):
        number = phonenumbers.PhoneNumber(country_code=1, national_number=int(text[2:]))
        return text if phonenumbers.is_valid_number(number) else None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def readable_phone(e164: str, region: str = "US") -> str:
    """A number as people read and dial it: national format at home ("(500) 555-0100"),
    international otherwise; the text unchanged if it does not parse."""
    try:
        parsed = phonenumbers.parse(e164, region)
    except phonenumbers.NumberParseException:
        return e164
    home = phonenumbers.region_code_for_number(parsed) == region
    style = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(parsed, style.NATIONAL if home else style.INTERNATIONAL)


def find_account(session: Session, number: str) -> Account | None:
    return session.scalars(select(Account).where(Account.number == number)).one_or_none()


def accounts_for_caller(session: Session, e164: str | None, limit: int = 2) -> list[Account]:
    """Accounts carrying this phone number (at most ``limit``: the flow only needs to know
    whether exactly one matches)."""
    if e164 is None:
        return []
    query = (
        select(Account)
        .join(AccountPhone)
        .where(AccountPhone.e164 == e164)
        .order_by(Account.id)
        .limit(limit)
    )
    return list(session.scalars(query))
