"""The embedded sandbox gateway: test-card outcomes, idempotency, read-only find."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from payments.gateways import (
    Card,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    DeclineReason,
    StoredCard,
)
from payments.gateways.sandbox import TEST_DECLINES, SandboxGateway
from payments.gateways.sandbox_tables import SandboxCharge

VISA = "4242424242424242"
AMEX = "378282246310005"
DECLINES = "4000000000000002"
OUTCOMES = [
    (VISA, ChargeStatus.APPROVED, None),
    (DECLINES, ChargeStatus.DECLINED, DeclineReason.DECLINED),
    ("4000000000009995", ChargeStatus.DECLINED, DeclineReason.INSUFFICIENT_FUNDS),
    ("4000000000000119", ChargeStatus.DECLINED, DeclineReason.PROCESSING_ERROR),
    ("4000000000000069", ChargeStatus.DECLINED, DeclineReason.EXPIRED_CARD),
    (AMEX, ChargeStatus.APPROVED, None),
]


def request(key: str, number: str = VISA, amount_cents: int = 14_250) -> ChargeRequest:
    code = "7391" if number == AMEX else "739"
    return ChargeRequest(key, amount_cents, Card(number, 12, 2030, code, "94105"))


def rows(factory: sessionmaker[Session]) -> list[SandboxCharge]:
    with factory() as session:
        return list(session.scalars(select(SandboxCharge)))


def vars_of(row: SandboxCharge) -> dict[str, Any]:
    return {key: value for key, value in vars(row).items() if not key.startswith("_")}


@pytest.fixture
def gateway(standalone_factory: sessionmaker[Session]) -> SandboxGateway:
    return SandboxGateway(standalone_factory)


@pytest.fixture
def writes(standalone_engine: Engine) -> Iterator[list[str]]:
    """Every data-changing statement sent to the database while the test runs."""
    engine = standalone_engine
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_every_documented_test_card_is_covered() -> None:
    declining = {number for number, status, _ in OUTCOMES if status is ChargeStatus.DECLINED}
    assert declining == set(TEST_DECLINES)


@pytest.mark.parametrize(("number", "status", "reason"), OUTCOMES)
def test_each_test_card_has_its_outcome(
    gateway: SandboxGateway,
    standalone_factory: sessionmaker[Session],
    number: str,
    status: ChargeStatus,
    reason: DeclineReason | None,
) -> None:
    result = gateway.charge(request("pay-1", number))

    assert result.status is status
    assert result.decline_reason is reason
    assert result.reference is not None
    assert result.reference.startswith("sbx_")
    if status is ChargeStatus.APPROVED:
        assert result.token is not None
        assert result.token.startswith("tok_sbx_")
    else:
        assert result.token is None
    [row] = rows(standalone_factory)
    assert (row.idempotency_key, row.amount_cents, row.status) == ("pay-1", 14_250, status.value)
    assert number not in repr(row)
    assert number not in " ".join(str(value) for value in vars_of(row).values())


def test_the_same_key_twice_returns_the_first_answer_and_charges_once(
    gateway: SandboxGateway, standalone_factory: sessionmaker[Session]
) -> None:
    first = gateway.charge(request("pay-1", VISA, 14_250))
    again = gateway.charge(request("pay-1", DECLINES, 999))

    assert again == first
    assert first.status is ChargeStatus.APPROVED
    [row] = rows(standalone_factory)
    assert (row.reference, row.amount_cents, row.status) == (first.reference, 14_250, "approved")


def test_a_declined_answer_is_repeated_too(gateway: SandboxGateway) -> None:
    first = gateway.charge(request("pay-1", DECLINES))
    assert gateway.charge(request("pay-1", VISA)) == first
    assert first.decline_reason is DeclineReason.DECLINED


def test_different_keys_are_different_charges(
    gateway: SandboxGateway, standalone_factory: sessionmaker[Session]
) -> None:
    results = [gateway.charge(request(f"pay-{n}")) for n in range(3)]
    assert len({result.reference for result in results}) == 3
    assert sorted(row.idempotency_key for row in rows(standalone_factory)) == [
        "pay-0",
        "pay-1",
        "pay-2",
    ]


@pytest.mark.parametrize("number", [VISA, DECLINES])
def test_find_reports_a_known_key_and_writes_nothing(
    gateway: SandboxGateway,
    standalone_factory: sessionmaker[Session],
    writes: list[str],
    number: str,
) -> None:
    charged = gateway.charge(request("pay-1", number))
    writes.clear()
    before = rows(standalone_factory)

    assert gateway.find("pay-1") == charged
    assert writes == []
    assert [vars_of(row) for row in rows(standalone_factory)] == [vars_of(r) for r in before]


def test_find_an_unknown_key_is_none_and_writes_nothing(
    gateway: SandboxGateway, standalone_factory: sessionmaker[Session], writes: list[str]
) -> None:
    gateway.charge(request("pay-1"))
    writes.clear()

    assert gateway.find("pay-2") is None
    assert writes == []
    assert [row.idempotency_key for row in rows(standalone_factory)] == ["pay-1"]


def test_the_write_recorder_sees_charges(gateway: SandboxGateway, writes: list[str]) -> None:
    """Guards the two tests above: a charge is seen, so an empty list means no writes."""
    gateway.charge(request("pay-1"))
    assert any(statement.lstrip().upper().startswith("INSERT") for statement in writes)


@pytest.mark.postgres_only
def test_concurrent_charges_with_one_key_charge_once(
    standalone_factory: sessionmaker[Session], standalone_engine: Engine
) -> None:
    if standalone_engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE); the race needs PostgreSQL")
    threads = 8
    gateway = SandboxGateway(standalone_factory)
    start = threading.Barrier(threads)

    def charge(n: int) -> ChargeResult:
        start.wait(timeout=30)
        return gateway.charge(request("pay-race", VISA, 14_250 + n))

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(charge, n) for n in range(threads)]
        results = [future.result(timeout=60) for future in futures]

    [row] = rows(standalone_factory)
    assert {result.reference for result in results} == {row.reference}
    assert {result.token for result in results} == {row.token}
    assert all(result.status is ChargeStatus.APPROVED for result in results)


def test_stored_card_charges_the_token_an_approval_issued(gateway: SandboxGateway) -> None:
    first = gateway.charge(request("first"))
    assert first.token is not None
    again = gateway.charge(ChargeRequest("installment-1", 5_000, StoredCard(first.token)))
    assert again.status is ChargeStatus.APPROVED
    assert again.token == first.token
    assert gateway.charge(ChargeRequest("installment-1", 5_000, StoredCard(first.token))) == again


@pytest.mark.parametrize("token", ["tok_sbx_never_issued", ""])
def test_stored_card_with_an_unknown_token_is_declined(gateway: SandboxGateway, token: str) -> None:
    result = gateway.charge(ChargeRequest("stored", 5_000, StoredCard(token)))
    assert (result.status, result.decline_reason) == (ChargeStatus.DECLINED, DeclineReason.DECLINED)
    assert result.token is None


def test_a_declined_card_issues_no_token(gateway: SandboxGateway) -> None:
    declined = gateway.charge(request("declined", DECLINES))
    assert declined.token is None
    stolen = gateway.charge(ChargeRequest("reuse", 100, StoredCard("")))
    assert stolen.status is ChargeStatus.DECLINED
