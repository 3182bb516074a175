"""The capture step: card fields entered one webhook at a time, kept encrypted in between.

This module is the only code that holds a card number or security code. Each field is
validated as it arrives; what goes back to the flow is a safe verdict (brand, last four, or a
reason code). Between webhooks the fields sit in ``card_captures`` as one AES-GCM blob,
bound to the call by the associated data, expiring after a few minutes, and deleted as soon as
the payment is settled, the caller cancels or starts over, or the call ends. The expiry is
also enforced in storage (:func:`purge_expired`, run by ``ivr worker`` and ``ivr sessions
purge``), for calls whose end is never reported, and the row goes with its call's session.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from ivr.models import CardCapture
from payments.cards import (
    Brand,
    CardNumberCheck,
    FieldError,
    check_code,
    check_number,
    check_zip,
    parse_expiry,
)
from payments.gateways import Card


class RecordingControl(Protocol):
    """Pausing the call recording around capture (the Twilio adapter provides it)."""

    def pause_recording(self, call_sid: str) -> None: ...

    def resume_recording(self, call_sid: str) -> None: ...


class KeyRing:
    """AES-256 keys from ``CAPTURE_KEY``: comma-separated base64, the first one encrypts.

    Older keys stay listed during a rotation so blobs written under them (which live only a
    few minutes) remain readable.
    """

    def __init__(self, setting: str) -> None:
        problem = "CAPTURE_KEY must be base64 of 32 random bytes (comma-separated for rotation)"
        try:
            keys = [
                base64.b64decode(part.strip(), validate=True)
                for part in setting.split(",")
                if part.strip()
            ]
        except binascii.Error:
            raise ValueError(f"{problem}; generate one with: openssl rand -base64 32") from None
        if not keys or any(len(key) != 32 for key in keys):
            raise ValueError(f"{problem}; generate one with: openssl rand -base64 32")
        self._keys = {hashlib.sha256(key).hexdigest()[:16]: key for key in keys}
        self.current_id = next(iter(self._keys))

    @property
    def key_ids(self) -> list[str]:
        """Fingerprints of the configured keys, newest first (safe to show)."""
        return list(self._keys)

    def cipher(self, key_id: str) -> AESGCM | None:
        key = self._keys.get(key_id)
        return AESGCM(key) if key else None


@dataclass(frozen=True)
class FieldVerdict:
    """What the flow learns about a field: whether it was accepted, and why not."""

    error: FieldError | None = None
    brand: Brand | None = None
    last4: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def _known(session: Session) -> dict[str, CardCapture | None]:
    """What this database session (one transaction) knows of each call's row, shared by every
    vault on it and by :func:`wipe`, so a wipe by one is seen by the next. Held here because
    the identity map holds rows weakly: without a reference, every field would read its row
    again."""
    rows: dict[str, CardCapture | None] = session.info.setdefault("card_captures", {})
    return rows


def remember(session: Session, sid: str, row: CardCapture | None) -> None:
    """Tell this transaction which card fields wait for ``sid``: the row the channel read with
    the call's session row (``None``: none wait). The vault and :func:`wipe` then need no
    query of their own."""
    _known(session)[sid] = row


@dataclass(frozen=True)
class CapturedCard:
    """The card keyed into a session's capture vault, as a payment's source. ``row`` is its
    encrypted fields as read in the channel's transaction, or ``None`` if none wait any more."""

    session_sid: str
    row: CardCapture | None


def open_card(keys: KeyRing, row: CardCapture, now: dt.datetime) -> Card | None:
    """The complete card in ``row``; ``None`` if a field is missing, the capture expired or
    its key is gone. Reads nothing and writes nothing."""
    fields = _decrypt(keys, row, now)
    if fields is None or not {"number", "exp_month", "exp_year", "code", "postal"} <= fields.keys():
        return None
    return Card(
        number=fields["number"],
        exp_month=int(fields["exp_month"]),
        exp_year=int(fields["exp_year"]),
        security_code=fields["code"],
        postal_code=fields["postal"],
    )


def _expired(keys: KeyRing, row: CardCapture, now: dt.datetime) -> bool:
    """Past its time-to-live, or under a key no longer listed: never to be read again."""
    return row.expires_at <= now or keys.cipher(row.key_id) is None


def _decrypt(keys: KeyRing, row: CardCapture, now: dt.datetime) -> dict[str, str] | None:
    """The fields in ``row``; ``None`` once it has expired (:func:`_expired`)."""
    cipher = keys.cipher(row.key_id)
    if cipher is None or _expired(keys, row, now):
        return None
    plain = cipher.decrypt(row.nonce, row.ciphertext, row.session_sid.encode())
    return dict(json.loads(plain))


def wipe(session: Session, sid: str) -> None:
    """Delete the call's card fields; no statement at all when none are known to wait
    (:func:`remember`).

    Needs no key: the ledger calls it when it settles a payment, whoever settles it."""
    rows = _known(session)
    if sid in rows and rows[sid] is None:
        return
    row = rows.get(sid)
    if row is not None and row in session:
        session.expunge(row)
    session.execute(delete(CardCapture).where(CardCapture.session_sid == sid))
    rows[sid] = None


def purge_expired(session: Session, now: dt.datetime) -> int:
    """Delete every capture past its time-to-live; how many went.

    Reads refuse an expired blob anyway, but a call whose end Twilio never reported would
    otherwise leave one in the table, readable by whoever holds ``CAPTURE_KEY``."""
    result = session.execute(delete(CardCapture).where(CardCapture.expires_at <= now))
    _known(session).clear()
    assert isinstance(result, CursorResult)
    return result.rowcount


class CardVault:
    """Encrypted card fields for one call (keyed by its session id)."""

    def __init__(self, session: Session, keys: KeyRing, ttl: dt.timedelta, now: dt.datetime):
        self.session = session
        self.keys = keys
        self.ttl = ttl
        self.now = now
        self._rows = _known(session)

    def _row(self, sid: str) -> CardCapture | None:
        """The call's row: as the channel passed it in (:func:`remember`), else read."""
        if sid not in self._rows:
            self._rows[sid] = self.session.get(CardCapture, sid)
        return self._rows[sid]

    def _load(self, sid: str) -> dict[str, str]:
        row = self._row(sid)
        if row is None:
            return {}
        fields = _decrypt(self.keys, row, self.now)
        if fields is None:
            self.wipe(sid)
            return {}
        return fields

    def _store(self, sid: str, fields: dict[str, str]) -> None:
        nonce = os.urandom(12)
        cipher = self.keys.cipher(self.keys.current_id)
        assert cipher is not None
        blob = cipher.encrypt(nonce, json.dumps(fields).encode(), sid.encode())
        row = self._row(sid)
        if row is None:
            row = self._rows[sid] = CardCapture(session_sid=sid)
            self.session.add(row)
        row.key_id, row.nonce, row.ciphertext = self.keys.current_id, nonce, blob
        row.expires_at = self.now + self.ttl

    def wipe(self, sid: str) -> None:
        """Delete the call's card fields (see :func:`wipe`)."""
        wipe(self.session, sid)

    def enter_number(self, sid: str, digits: str) -> FieldVerdict:
        """Start a capture with a card number (any earlier fields are discarded)."""
        check: CardNumberCheck = check_number(digits)
        if check.error is not None:
            return FieldVerdict(check.error, check.brand)
        self._store(sid, {"number": digits})
        return FieldVerdict(brand=check.brand, last4=check.last4)

    def enter_expiry(self, sid: str, digits: str, today: dt.date | None = None) -> FieldVerdict:
        """``today`` is the caller's local date (a card is good through its last day there);
        without it, the UTC date."""
        parsed = parse_expiry(digits, today or self.now.date())
        if isinstance(parsed, FieldError):
            return FieldVerdict(parsed)
        return self._add(sid, exp_month=str(parsed[0]), exp_year=str(parsed[1]))

    def enter_code(self, sid: str, digits: str) -> FieldVerdict:
        fields = self._load(sid)
        brand = check_number(fields.get("number", "")).brand
        if brand is None:
            return FieldVerdict(FieldError.NUMBER_INVALID)
        error = check_code(digits, brand)
        return FieldVerdict(error) if error else self._add(sid, code=digits)

    def enter_zip(self, sid: str, digits: str) -> FieldVerdict:
        error = check_zip(digits)
        return FieldVerdict(error) if error else self._add(sid, postal=digits)

    def _add(self, sid: str, **values: str) -> FieldVerdict:
        fields = self._load(sid)
        if "number" not in fields:
            return FieldVerdict(FieldError.NUMBER_INVALID)
        self._store(sid, {**fields, **values})
        return FieldVerdict()

    def captured(self, sid: str) -> CapturedCard:
        """The call's card as a payment's source, for :meth:`PaymentService.authorize`, which
        opens it outside this transaction; an expired capture is wiped here and goes as
        none. Must NOT move money."""
        row = self._row(sid)
        if row is not None and _expired(self.keys, row, self.now):
            self.wipe(sid)
            row = None
        return CapturedCard(sid, row)
