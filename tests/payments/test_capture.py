"""The card vault: fields kept between webhooks as one AES-GCM blob bound to the call."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import transaction
from ivr.models import CardCapture, Conversation
from payments import capture
from payments.capture import CardVault, FieldVerdict, KeyRing
from payments.cards import Brand, FieldError
from payments.gateways import Card
from tests.support.card_scan import AMEX_CODE, CODE, database_dump, leaks

T = TypeVar("T")

KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()
RING_A = KeyRing(KEY_A)
TTL = dt.timedelta(minutes=5)
NOW = dt.datetime(2026, 11, 21, 17, 2, 3, tzinfo=dt.UTC)
SID = "CA" + "1" * 32
OTHER_SID = "CA" + "2" * 32

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
EXPIRY, ZIP = "1230", "94105"


@pytest.fixture
def standalone_factory(standalone_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The shared fixture, with the two calls whose captures these tests keep (a capture
    belongs to its call's session)."""
    with transaction(standalone_factory) as session:
        for sid in (SID, OTHER_SID):
            session.add(Conversation(sid=sid, state="card_number", expires_at=NOW + TTL))
    return standalone_factory


def in_vault(
    factory: sessionmaker[Session],
    action: Callable[[CardVault], T],
    keys: KeyRing = RING_A,
    now: dt.datetime = NOW,
) -> T:
    """Run ``action`` in its own committed transaction, as one webhook would."""
    with transaction(factory) as session:
        return action(CardVault(session, keys, TTL, now))


def card_in(vault: CardVault, sid: str) -> Card | None:
    """The card the vault would hand to the payment service, opened as the service opens it."""
    row = vault.captured(sid).row
    return capture.open_card(vault.keys, row, vault.now) if row is not None else None


def enter_all(
    factory: sessionmaker[Session],
    number: str = VISA,
    code: str = CODE,
    sid: str = SID,
    keys: KeyRing = RING_A,
) -> list[FieldVerdict]:
    """Key every field, one webhook each; returns the verdicts."""
    steps: list[Callable[[CardVault], FieldVerdict]] = [
        lambda vault: vault.enter_number(sid, number),
        lambda vault: vault.enter_expiry(sid, EXPIRY),
        lambda vault: vault.enter_code(sid, code),
        lambda vault: vault.enter_zip(sid, ZIP),
    ]
    return [in_vault(factory, step, keys) for step in steps]


def stored(factory: sessionmaker[Session]) -> dict[str, CardCapture]:
    with factory() as session:
        return {row.session_sid: row for row in session.scalars(select(CardCapture))}


@pytest.mark.parametrize(
    ("number", "brand", "code"),
    [(VISA, Brand.VISA, CODE), (MASTERCARD, Brand.MASTERCARD, CODE), (AMEX, Brand.AMEX, AMEX_CODE)],
)
def test_fields_round_trip_into_a_card(
    standalone_factory: sessionmaker[Session], number: str, brand: Brand, code: str
) -> None:
    verdicts = enter_all(standalone_factory, number, code)

    assert verdicts == [FieldVerdict(brand=brand, last4=number[-4:])] + [FieldVerdict()] * 3
    assert all(verdict.ok for verdict in verdicts)
    card = in_vault(standalone_factory, lambda vault: card_in(vault, SID))
    assert card == Card(
        number=number, exp_month=12, exp_year=2030, security_code=code, postal_code=ZIP
    )
    assert number not in repr(card)


@pytest.mark.parametrize("missing", ["expiry", "code", "zip"])
def test_an_incomplete_capture_gives_no_card(
    standalone_factory: sessionmaker[Session], missing: str
) -> None:
    fields: dict[str, Callable[[CardVault], FieldVerdict]] = {
        "expiry": lambda vault: vault.enter_expiry(SID, EXPIRY),
        "code": lambda vault: vault.enter_code(SID, CODE),
        "zip": lambda vault: vault.enter_zip(SID, ZIP),
    }
    in_vault(standalone_factory, lambda vault: vault.enter_number(SID, VISA))
    for name, step in fields.items():
        if name != missing:
            assert in_vault(standalone_factory, step).ok
    assert in_vault(standalone_factory, lambda vault: card_in(vault, SID)) is None
    assert SID in stored(standalone_factory)


@pytest.mark.parametrize(("number", "code"), [(VISA, CODE), (AMEX, AMEX_CODE)])
def test_the_stored_row_holds_neither_number_nor_code(
    standalone_factory: sessionmaker[Session], number: str, code: str
) -> None:
    enter_all(standalone_factory, number, code)
    row = stored(standalone_factory)[SID]

    for blob in (row.ciphertext, row.nonce):
        for secret in (number, code):
            assert secret.encode() not in blob
            assert secret.encode().hex() not in blob.hex()
        assert number not in blob.hex()  # nor packed as BCD
        assert b'"number"' not in blob  # the JSON is not merely encoded
    assert len(row.nonce) == 12
    with standalone_factory() as session:
        assert leaks(database_dump(session)) == []


def test_every_write_uses_a_fresh_nonce(standalone_factory: sessionmaker[Session]) -> None:
    in_vault(standalone_factory, lambda vault: vault.enter_number(SID, VISA))
    nonces = [stored(standalone_factory)[SID].nonce]
    for step in (
        lambda vault: vault.enter_expiry(SID, EXPIRY),
        lambda vault: vault.enter_code(SID, CODE),
        lambda vault: vault.enter_zip(SID, ZIP),
    ):
        in_vault(standalone_factory, step)
        nonces.append(stored(standalone_factory)[SID].nonce)
    assert len(set(nonces)) == len(nonces)


def copy_blob(factory: sessionmaker[Session], source: str, target: str, flip: bool) -> None:
    """Plant ``source``'s blob under ``target``, optionally with one bit flipped."""
    row = stored(factory)[source]
    ciphertext = bytearray(row.ciphertext)
    if flip:
        ciphertext[0] ^= 1
    with transaction(factory) as session:
        session.merge(
            CardCapture(
                session_sid=target,
                key_id=row.key_id,
                nonce=row.nonce,
                ciphertext=bytes(ciphertext),
                expires_at=row.expires_at,
            )
        )


@pytest.mark.parametrize(
    ("target", "flip"),
    [
        pytest.param(OTHER_SID, False, id="copied-to-another-call"),
        pytest.param(SID, True, id="tampered"),
    ],
)
@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda vault, sid: card_in(vault, sid), id="card"),
        pytest.param(lambda vault, sid: vault.enter_code(sid, CODE), id="enter_code"),
        pytest.param(lambda vault, sid: vault.enter_zip(sid, ZIP), id="enter_zip"),
    ],
)
def test_a_blob_out_of_place_fails_authentication(
    standalone_factory: sessionmaker[Session],
    target: str,
    flip: bool,
    read: Callable[[CardVault, str], object],
) -> None:
    """The associated data is the call's sid, so a blob only opens for its own call. The vault
    fails closed: AES-GCM's InvalidTag propagates (no data, no partial card), and nothing is
    written, so the planted row is left for the expiry and hang-up clean-ups."""
    enter_all(standalone_factory)
    copy_blob(standalone_factory, SID, target, flip)
    before = stored(standalone_factory)[target]

    with pytest.raises(InvalidTag):
        in_vault(standalone_factory, lambda vault: read(vault, target))

    after = stored(standalone_factory)[target]
    assert (after.nonce, after.ciphertext) == (before.nonce, before.ciphertext)
    if target != SID:
        card = in_vault(standalone_factory, lambda vault: card_in(vault, SID))
        assert card is not None
        assert card.number == VISA


def test_starting_over_replaces_a_blob_that_no_longer_opens(
    standalone_factory: sessionmaker[Session],
) -> None:
    enter_all(standalone_factory)
    copy_blob(standalone_factory, SID, OTHER_SID, flip=False)
    enter_all(standalone_factory, MASTERCARD, sid=OTHER_SID)
    card = in_vault(standalone_factory, lambda vault: card_in(vault, OTHER_SID))
    assert card is not None
    assert card.number == MASTERCARD


@pytest.mark.parametrize(
    "later", [TTL, TTL + dt.timedelta(seconds=1), dt.timedelta(days=1)], ids=str
)
def test_an_expired_capture_is_gone(
    standalone_factory: sessionmaker[Session], later: dt.timedelta
) -> None:
    enter_all(standalone_factory)
    card = in_vault(standalone_factory, lambda vault: card_in(vault, SID), now=NOW + later)
    assert card is None
    assert stored(standalone_factory) == {}


def test_a_capture_is_readable_until_its_ttl(standalone_factory: sessionmaker[Session]) -> None:
    enter_all(standalone_factory)
    just_before = NOW + TTL - dt.timedelta(microseconds=1)
    card = in_vault(standalone_factory, lambda vault: card_in(vault, SID), now=just_before)
    assert card is not None


def test_each_field_renews_the_ttl(standalone_factory: sessionmaker[Session]) -> None:
    step = dt.timedelta(minutes=4)
    fields: list[Callable[[CardVault], FieldVerdict]] = [
        lambda vault: vault.enter_number(SID, VISA),
        lambda vault: vault.enter_expiry(SID, EXPIRY),
        lambda vault: vault.enter_code(SID, CODE),
        lambda vault: vault.enter_zip(SID, ZIP),
    ]
    for index, field in enumerate(fields):
        assert in_vault(standalone_factory, field, now=NOW + index * step).ok
    last = NOW + (len(fields) - 1) * step
    card = in_vault(standalone_factory, lambda vault: card_in(vault, SID), now=last + step)
    assert card is not None


def test_after_expiry_a_new_number_starts_afresh_in_the_same_transaction(
    standalone_factory: sessionmaker[Session],
) -> None:
    enter_all(standalone_factory)

    def expire_then_restart(vault: CardVault) -> tuple[FieldVerdict, FieldVerdict]:
        late = vault.enter_code(SID, CODE)
        return late, vault.enter_number(SID, MASTERCARD)

    late, fresh = in_vault(standalone_factory, expire_then_restart, now=NOW + TTL)
    assert late == FieldVerdict(FieldError.NUMBER_INVALID)
    assert fresh == FieldVerdict(brand=Brand.MASTERCARD, last4="4444")
    assert list(stored(standalone_factory)) == [SID]


def test_wipe_deletes_only_that_call(standalone_factory: sessionmaker[Session]) -> None:
    enter_all(standalone_factory, sid=SID)
    enter_all(standalone_factory, AMEX, AMEX_CODE, sid=OTHER_SID)

    in_vault(standalone_factory, lambda vault: vault.wipe(SID))

    assert list(stored(standalone_factory)) == [OTHER_SID]
    assert in_vault(standalone_factory, lambda vault: card_in(vault, SID)) is None
    other = in_vault(standalone_factory, lambda vault: card_in(vault, OTHER_SID))
    assert other is not None
    assert other.number == AMEX


def test_purging_deletes_exactly_the_expired_captures(
    standalone_factory: sessionmaker[Session],
) -> None:
    enter_all(standalone_factory, sid=SID)
    later = NOW + dt.timedelta(minutes=3)
    assert in_vault(standalone_factory, lambda v: v.enter_number(OTHER_SID, AMEX), now=later).ok

    with transaction(standalone_factory) as session:
        assert capture.purge_expired(session, NOW + TTL - dt.timedelta(microseconds=1)) == 0
    with transaction(standalone_factory) as session:
        assert capture.purge_expired(session, NOW + TTL) == 1
    assert list(stored(standalone_factory)) == [OTHER_SID]


def test_a_capture_goes_with_its_session(standalone_factory: sessionmaker[Session]) -> None:
    """The foreign key cascades, SQLite included (the app's engine turns foreign keys on)."""
    enter_all(standalone_factory, sid=SID)
    enter_all(standalone_factory, sid=OTHER_SID)

    with transaction(standalone_factory) as session:
        session.execute(delete(Conversation).where(Conversation.sid == SID))

    assert list(stored(standalone_factory)) == [OTHER_SID]


def test_a_capture_needs_its_session(standalone_factory: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), transaction(standalone_factory) as session:
        CardVault(session, RING_A, TTL, NOW).enter_number("CA" + "3" * 32, VISA)
        session.flush()


def test_wiping_nothing_is_harmless(standalone_factory: sessionmaker[Session]) -> None:
    in_vault(standalone_factory, lambda vault: vault.wipe(SID))
    assert stored(standalone_factory) == {}


def test_a_new_number_discards_the_earlier_fields(
    standalone_factory: sessionmaker[Session],
) -> None:
    enter_all(standalone_factory)
    verdict = in_vault(standalone_factory, lambda vault: vault.enter_number(SID, MASTERCARD))
    assert verdict == FieldVerdict(brand=Brand.MASTERCARD, last4="4444")
    assert in_vault(standalone_factory, lambda vault: card_in(vault, SID)) is None

    enter_all(standalone_factory, MASTERCARD)
    card = in_vault(standalone_factory, lambda vault: card_in(vault, SID))
    assert card is not None
    assert card.number == MASTERCARD


def test_a_refused_number_stores_nothing(standalone_factory: sessionmaker[Session]) -> None:
    verdict = in_vault(
        standalone_factory, lambda vault: vault.enter_number(SID, "4242424242424241")
    )
    assert verdict == FieldVerdict(FieldError.NUMBER_INVALID)
    assert stored(standalone_factory) == {}


@pytest.mark.parametrize(
    "step",
    [
        pytest.param(lambda vault: vault.enter_code(SID, CODE), id="code"),
        pytest.param(lambda vault: vault.enter_expiry(SID, EXPIRY), id="expiry"),
        pytest.param(lambda vault: vault.enter_zip(SID, ZIP), id="zip"),
    ],
)
def test_a_field_before_the_number_is_refused(
    standalone_factory: sessionmaker[Session], step: Callable[[CardVault], FieldVerdict]
) -> None:
    assert in_vault(standalone_factory, step) == FieldVerdict(FieldError.NUMBER_INVALID)
    assert stored(standalone_factory) == {}


@pytest.mark.parametrize(
    ("number", "code", "expected"),
    [
        (AMEX, AMEX_CODE, None),
        (AMEX, CODE, FieldError.CODE_INVALID),
        (VISA, CODE, None),
        (VISA, AMEX_CODE, FieldError.CODE_INVALID),
    ],
)
def test_the_code_length_follows_the_brand(
    standalone_factory: sessionmaker[Session], number: str, code: str, expected: FieldError | None
) -> None:
    in_vault(standalone_factory, lambda vault: vault.enter_number(SID, number))
    verdict = in_vault(standalone_factory, lambda vault: vault.enter_code(SID, code))
    assert verdict == FieldVerdict(expected)


@pytest.mark.parametrize(
    ("step", "error"),
    [
        pytest.param(
            lambda vault: vault.enter_expiry(SID, "1026"), FieldError.EXPIRED, id="expired"
        ),
        pytest.param(
            lambda vault: vault.enter_expiry(SID, "1326"), FieldError.EXPIRY_INVALID, id="month"
        ),
        pytest.param(lambda vault: vault.enter_zip(SID, "9410"), FieldError.ZIP_INVALID, id="zip"),
    ],
)
def test_a_refused_field_leaves_the_capture_as_it_was(
    standalone_factory: sessionmaker[Session],
    step: Callable[[CardVault], FieldVerdict],
    error: FieldError,
) -> None:
    enter_all(standalone_factory)
    assert in_vault(standalone_factory, step) == FieldVerdict(error)
    card = in_vault(standalone_factory, lambda vault: card_in(vault, SID))
    assert card is not None
    assert (card.exp_month, card.exp_year, card.postal_code) == (12, 2030, ZIP)


# --- keys ---------------------------------------------------------------------------------


def test_rotation_reads_old_blobs_and_writes_with_the_new_key(
    standalone_factory: sessionmaker[Session],
) -> None:
    rotated = KeyRing(f"{KEY_B},{KEY_A}")
    assert rotated.current_id == KeyRing(KEY_B).current_id != RING_A.current_id

    in_vault(standalone_factory, lambda vault: vault.enter_number(SID, VISA))
    in_vault(standalone_factory, lambda vault: vault.enter_expiry(SID, EXPIRY))
    assert stored(standalone_factory)[SID].key_id == RING_A.current_id

    assert in_vault(standalone_factory, lambda vault: vault.enter_code(SID, CODE), rotated).ok
    assert stored(standalone_factory)[SID].key_id == rotated.current_id
    assert in_vault(standalone_factory, lambda vault: vault.enter_zip(SID, ZIP), rotated).ok

    card = in_vault(standalone_factory, lambda vault: card_in(vault, SID), KeyRing(KEY_B))
    assert card == Card(VISA, 12, 2030, CODE, ZIP)


@pytest.mark.parametrize(
    "ring", [KEY_B, f"{KEY_B}, {base64.b64encode(b'C' * 32).decode()}"], ids=["B", "B,C"]
)
def test_a_blob_under_a_retired_key_is_dropped(
    standalone_factory: sessionmaker[Session], ring: str
) -> None:
    enter_all(standalone_factory)
    assert in_vault(standalone_factory, lambda vault: card_in(vault, SID), KeyRing(ring)) is None
    assert stored(standalone_factory) == {}


@pytest.mark.parametrize(
    "setting",
    [
        pytest.param("", id="empty"),
        pytest.param(" , ", id="only-commas"),
        pytest.param(base64.b64encode(b"k" * 16).decode(), id="16-bytes"),
        pytest.param(base64.b64encode(b"k" * 31).decode(), id="31-bytes"),
        pytest.param(base64.b64encode(b"k" * 33).decode(), id="33-bytes"),
        pytest.param(base64.b64encode(b"k" * 64).decode(), id="64-bytes"),
        pytest.param(f"{KEY_A},{base64.b64encode(b'k' * 24).decode()}", id="one-short-of-two"),
    ],
)
def test_keyring_refuses_keys_that_are_not_32_bytes(setting: str) -> None:
    with pytest.raises(ValueError, match="32 random bytes") as refused:
        KeyRing(setting)
    assert KEY_A not in str(refused.value)


def test_keyring_tolerates_spaces_and_a_trailing_comma() -> None:
    assert KeyRing(f" {KEY_B} , {KEY_A} ,").current_id == KeyRing(KEY_B).current_id


@pytest.mark.parametrize("setting", ["not base64 at all!", KEY_A[:-1]], ids=["junk", "unpadded"])
def test_keyring_names_the_setting_when_it_is_not_base64(setting: str) -> None:
    with pytest.raises(ValueError, match="CAPTURE_KEY"):
        KeyRing(setting)
