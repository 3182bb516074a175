"""StripeGateway against a local fake of Stripe's HTTP API (nothing leaves 127.0.0.1)."""

from __future__ import annotations

import logging
import socket
import traceback
import uuid
from collections.abc import Callable, Iterator

import pytest
import stripe

from payments.gateways import (
    Card,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    DeclineReason,
    GatewayError,
    GatewayTimeout,
    PaymentGateway,
    StoredCard,
)
from payments.gateways.stripe import ChargePending, StripeGateway
from tests.support.card_scan import standalone
from tests.support.fake_stripe import API_KEY, FakeStripe, running_fake_stripe

VISA = "4242424242424242"
AMEX = "378282246310005"
GENERIC_DECLINE = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"
EXPIRED = "4000000000000069"
PROCESSING_ERROR = "4000000000000119"
AUTHENTICATION_REQUIRED = "4000002760003184"
CARD_NUMBERS = [
    VISA,
    AMEX,
    GENERIC_DECLINE,
    INSUFFICIENT_FUNDS,
    EXPIRED,
    PROCESSING_ERROR,
    AUTHENTICATION_REQUIRED,
]
CVC = "737"
AMEX_CVC = "7373"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with running_fake_stripe() as server:
        yield server
    assert server.errors == []


@pytest.fixture
def make_gateway(fake: FakeStripe) -> Iterator[Callable[..., StripeGateway]]:
    made: list[StripeGateway] = []

    def make(api_key: str = API_KEY, **options: object) -> StripeGateway:
        options.setdefault("api_base", fake.base_url)
        options.setdefault("timeout_seconds", 5.0)
        gateway = StripeGateway(api_key, **options)  # type: ignore[arg-type]
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(make_gateway: Callable[..., StripeGateway]) -> StripeGateway:
    return make_gateway()


def charge_request(
    number: str = VISA, *, key: str | None = None, amount_cents: int = 1250
) -> ChargeRequest:
    card = Card(
        number=number,
        exp_month=12,
        exp_year=2034,
        security_code=AMEX_CVC if number == AMEX else CVC,
        postal_code="94107",
    )
    return ChargeRequest(
        idempotency_key=key or f"pay-{uuid.uuid4()}",
        amount_cents=amount_cents,
        card=card,
        description="Utility bill",
        metadata={"account": "A-1001"},
    )


def assert_no_card_data(text: str) -> None:
    for number in CARD_NUMBERS:
        assert number not in text
    for cvc in (CVC, AMEX_CVC):
        assert standalone(cvc).search(text) is None


def formatted(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def test_is_a_payment_gateway(gateway: StripeGateway) -> None:
    conforming: PaymentGateway = gateway
    assert conforming.name == "stripe"


@pytest.mark.parametrize("number", [VISA, AMEX])
def test_approved_charge_is_one_confirmed_payment_intent(
    gateway: StripeGateway, fake: FakeStripe, number: str
) -> None:
    request = charge_request(number)

    result = gateway.charge(request)

    assert result.status is ChargeStatus.APPROVED
    assert result.decline_reason is None
    intent = fake.intents[result.reference or ""]
    assert intent["status"] == "succeeded"
    assert result.token == intent["payment_method"]
    assert intent["amount"] == 1250
    assert intent["currency"] == "usd"
    assert intent["description"] == "Utility bill"
    assert intent["metadata"] == {"account": "A-1001", "idempotency_key": request.idempotency_key}
    card = fake.payment_methods[intent["payment_method"]]["card"]
    assert card["last4"] == number[-4:]
    assert card["exp_month"] == 12 and card["exp_year"] == 2034
    assert card["checks"] == {"cvc_check": "pass", "address_postal_code_check": "pass"}
    assert fake.requests[-1].method == "POST"
    assert fake.requests[-1].idempotency_key == request.idempotency_key


DECLINES = [
    (GENERIC_DECLINE, DeclineReason.DECLINED),
    (INSUFFICIENT_FUNDS, DeclineReason.INSUFFICIENT_FUNDS),
    (EXPIRED, DeclineReason.EXPIRED_CARD),
    (PROCESSING_ERROR, DeclineReason.PROCESSING_ERROR),
]


@pytest.mark.parametrize(("number", "reason"), DECLINES)
def test_card_errors_are_declines_with_a_reason(
    gateway: StripeGateway, fake: FakeStripe, number: str, reason: DeclineReason
) -> None:
    result = gateway.charge(charge_request(number))

    assert result.status is ChargeStatus.DECLINED
    assert result.decline_reason is reason
    assert result.token is None
    assert fake.intents[result.reference or ""]["status"] == "requires_payment_method"


def test_authentication_the_phone_cannot_do_is_a_decline(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    result = gateway.charge(charge_request(AUTHENTICATION_REQUIRED))

    assert result.status is ChargeStatus.DECLINED
    assert result.decline_reason is DeclineReason.DECLINED
    assert fake.intents[result.reference or ""]["status"] == "requires_action"


@pytest.mark.parametrize("number", [VISA, INSUFFICIENT_FUNDS])
def test_same_key_twice_charges_once_and_answers_the_same(
    gateway: StripeGateway, fake: FakeStripe, number: str
) -> None:
    request = charge_request(number)

    first = gateway.charge(request)
    second = gateway.charge(request)

    assert second == first
    assert fake.charges == 1
    posts = [r for r in fake.requests if r.method == "POST"]
    assert [r.idempotency_key for r in posts] == [request.idempotency_key] * 2


def test_different_keys_are_different_charges(gateway: StripeGateway, fake: FakeStripe) -> None:
    first = gateway.charge(charge_request())
    second = gateway.charge(charge_request())

    assert first.status is second.status is ChargeStatus.APPROVED
    assert first.reference != second.reference
    assert fake.charges == 2


def test_key_reused_for_a_different_request_is_an_unknown_outcome(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    first = gateway.charge(charge_request(key="pay-reused", amount_cents=1000))

    with pytest.raises(GatewayTimeout, match="already used"):
        gateway.charge(charge_request(key="pay-reused", amount_cents=2000))

    assert fake.charges == 1
    assert gateway.find("pay-reused") == first


def assert_find_only_reads(fake: FakeStripe, find: Callable[[], object]) -> object:
    charges, seen = fake.charges, len(fake.requests)
    answer = find()
    assert fake.charges == charges
    assert {r.method for r in fake.requests[seen:]} == {"GET"}
    return answer


def test_find_reports_an_approved_charge(gateway: StripeGateway, fake: FakeStripe) -> None:
    charged = gateway.charge(charge_request(key="pay-found"))

    found = assert_find_only_reads(fake, lambda: gateway.find("pay-found"))

    assert found == charged


@pytest.mark.parametrize(
    ("number", "reason"), [*DECLINES, (AUTHENTICATION_REQUIRED, DeclineReason.DECLINED)]
)
def test_find_reports_a_decline_with_its_reason(
    gateway: StripeGateway, fake: FakeStripe, number: str, reason: DeclineReason
) -> None:
    charged = gateway.charge(charge_request(number, key="pay-declined"))

    found = assert_find_only_reads(fake, lambda: gateway.find("pay-declined"))

    assert found == charged
    assert found == ChargeResult(
        ChargeStatus.DECLINED, reference=charged.reference, decline_reason=reason
    )


def test_find_an_unknown_key_is_none_and_creates_nothing(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    gateway.charge(charge_request(key="pay-other"))

    assert assert_find_only_reads(fake, lambda: gateway.find("pay-never-sent")) is None
    assert assert_find_only_reads(fake, lambda: gateway.find("pay-o'ther")) is None
    assert fake.charges == 1


@pytest.mark.parametrize("status", ["processing", "requires_capture", "requires_confirmation"])
def test_find_does_not_settle_what_stripe_has_not_settled(
    gateway: StripeGateway, fake: FakeStripe, status: str
) -> None:
    charged = gateway.charge(charge_request(key="pay-pending"))
    fake.set_status(charged.reference or "", status)

    with pytest.raises(ChargePending) as raised:
        gateway.find("pay-pending")

    assert isinstance(raised.value, GatewayTimeout)


def test_find_reports_a_canceled_intent_as_failed(gateway: StripeGateway, fake: FakeStripe) -> None:
    charged = gateway.charge(charge_request(AUTHENTICATION_REQUIRED, key="pay-canceled"))
    fake.set_status(charged.reference or "", "canceled")

    assert gateway.find("pay-canceled") == ChargeResult(
        ChargeStatus.FAILED, reference=charged.reference
    )


def test_find_sees_a_charge_search_has_not_indexed_yet(
    make_gateway: Callable[..., StripeGateway], fake: FakeStripe
) -> None:
    fake.search_indexing = False
    gateway = make_gateway()
    charged = gateway.charge(charge_request(key="pay-fresh"))

    assert gateway.find("pay-fresh") == charged
    # Search alone would have called it never seen, which is why find() also lists.
    assert make_gateway(search_lag_seconds=0).find("pay-fresh") is None


def test_no_answer_is_a_timeout_and_the_sdk_does_not_retry(
    make_gateway: Callable[..., StripeGateway], fake: FakeStripe
) -> None:
    gateway = make_gateway(timeout_seconds=0.5)
    fake.stall_next()

    with pytest.raises(GatewayTimeout):
        gateway.charge(charge_request())

    assert len(fake.requests) == 1
    assert fake.charges == 0


def test_lost_answer_is_reconciled_by_find_and_by_asking_again(
    make_gateway: Callable[..., StripeGateway], fake: FakeStripe
) -> None:
    gateway = make_gateway(timeout_seconds=0.5)
    request = charge_request(key="pay-lost")
    fake.stall_next(process=True)

    with pytest.raises(GatewayTimeout):
        gateway.charge(request)

    found = gateway.find("pay-lost")
    assert found is not None and found.status is ChargeStatus.APPROVED
    assert gateway.charge(request) == found
    assert fake.charges == 1


def test_find_without_an_answer_is_a_timeout(
    make_gateway: Callable[..., StripeGateway], fake: FakeStripe
) -> None:
    gateway = make_gateway(timeout_seconds=0.5)
    fake.stall_next()

    with pytest.raises(GatewayTimeout):
        gateway.find("pay-anything")


def test_stripe_server_error_is_an_unknown_outcome_not_retried(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    fake.fail_next(500)

    with pytest.raises(GatewayTimeout, match="HTTP 500"):
        gateway.charge(charge_request())

    assert len(fake.requests) == 1


def test_nobody_listening_is_a_timeout(make_gateway: Callable[..., StripeGateway]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = make_gateway(api_base=f"http://127.0.0.1:{port}", timeout_seconds=0.5)

    with pytest.raises(GatewayTimeout):
        gateway.charge(charge_request())


def test_wrong_api_key_is_a_gateway_error(
    make_gateway: Callable[..., StripeGateway], fake: FakeStripe
) -> None:
    gateway = make_gateway("sk_test_wrong")

    with pytest.raises(GatewayError) as charging:
        gateway.charge(charge_request())
    with pytest.raises(GatewayError) as finding:
        gateway.find("pay-anything")

    for raised in (charging, finding):
        assert not isinstance(raised.value, GatewayTimeout)
        assert "HTTP 401" in str(raised.value)
        assert "sk_test" not in formatted(raised.value)
    assert fake.charges == 0


def test_invalid_request_is_a_gateway_error_naming_the_parameter(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    with pytest.raises(GatewayError) as raised:
        gateway.charge(charge_request(amount_cents=0))

    assert not isinstance(raised.value, GatewayTimeout)
    assert str(raised.value) == (
        "Stripe refused the charge (HTTP 400 invalid_request_error parameter_invalid param amount)"
    )
    assert fake.charges == 0


def test_missing_api_key_is_refused_up_front() -> None:
    with pytest.raises(GatewayError):
        StripeGateway("")


def test_refuses_to_charge_while_the_sdk_prints_requests(
    gateway: StripeGateway, fake: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe, "log", "debug")

    with pytest.raises(GatewayError, match="refusing"):
        gateway.charge(charge_request())

    assert fake.requests == []


def test_no_card_data_in_exceptions_or_logs(
    make_gateway: Callable[..., StripeGateway],
    fake: FakeStripe,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="stripe")
    gateway = make_gateway(timeout_seconds=0.5)
    errors: list[BaseException] = []

    def charging(request: ChargeRequest) -> None:
        try:
            gateway.charge(request)
        except GatewayError as error:
            errors.append(error)

    for number in CARD_NUMBERS:
        charging(charge_request(number))
    fake.stall_next()
    charging(charge_request(AMEX))
    fake.fail_next(500)
    charging(charge_request(VISA))
    charging(charge_request(VISA, amount_cents=0))
    charging(charge_request(VISA, key="pay-twice", amount_cents=100))
    charging(charge_request(AMEX, key="pay-twice", amount_cents=200))
    with make_gateway("sk_test_wrong") as unauthorized:
        try:
            unauthorized.charge(charge_request(EXPIRED))
        except GatewayError as error:
            errors.append(error)

    assert len(errors) == 5
    for raised in errors:
        assert raised.__cause__ is None and raised.__context__ is None
        assert_no_card_data(formatted(raised))
    post_details = [r for r in caplog.records if "Post details" in r.getMessage()]
    assert post_details, "the SDK logs request bodies at DEBUG; this test must see them"
    assert all("post_data=[redacted]" in r.getMessage() for r in post_details)
    assert_no_card_data(caplog.text)
    assert_no_card_data("\n".join(r.getMessage() for r in caplog.records))
    out, err = capfd.readouterr()
    assert_no_card_data(out + err)


def test_the_fake_keeps_no_card_data(gateway: StripeGateway, fake: FakeStripe) -> None:
    for number in CARD_NUMBERS:
        gateway.charge(charge_request(number))

    books = fake.books()

    assert_no_card_data(books)
    assert all(number[-4:] in books for number in CARD_NUMBERS)


def test_stored_cards_are_refused_before_anything_is_sent(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    with pytest.raises(GatewayError, match="does not charge stored cards"):
        gateway.charge(ChargeRequest("stored", 5_000, StoredCard("pm_123")))
    assert fake.charges == 0
