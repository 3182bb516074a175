"""Stripe adapter: one PaymentIntent, created and confirmed in one call, per idempotency key.

Why it is built this way:

- A private :class:`stripe.StripeClient` (never the SDK's module globals), so the API key,
  base address and timeout belong to this gateway and tests can point it at a local fake.
- ``max_network_retries=0``: the SDK never retries on its own. Whether to ask again under the
  same key is the caller's decision (``GatewayTimeout`` says "outcome unknown").
- Our idempotency key goes to Stripe as the ``Idempotency-Key`` header, so a retry replays the
  first answer, and into the intent's metadata, so :meth:`StripeGateway.find` can look it up.
  Stripe keeps idempotency keys for 24 hours: retries under a key must happen within that window.
- Card data must not leak: our exception messages are built from Stripe's error *type* and
  *code* only (never Stripe's message, which can echo parameters), raised outside ``except``
  blocks so the SDK exception (which holds the request) is neither the cause nor the context,
  and a filter on the ``stripe`` logger redacts the request body the SDK logs at DEBUG.
- Sending raw card numbers needs Stripe to enable raw card data APIs on the account.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, cast

import requests
import stripe
from stripe import _util as stripe_util

from ivr.config import Settings
from payments.gateways import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    DeclineReason,
    GatewayError,
    GatewayTimeout,
    StoredCard,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker
    from stripe.params import PaymentIntentCreateParams

    from payments.gateways import PaymentGateway

DEFAULT_API_BASE: Final = "https://api.stripe.com"
METADATA_KEY: Final = "idempotency_key"

# Statuses that are final for a charge placed by phone (see _result_from_intent).
_DECLINED_STATES: Final = frozenset({"requires_payment_method", "canceled"})


class ChargePending(GatewayTimeout):
    """Stripe has the charge but has not settled it yet (e.g. ``processing``): ask again later.

    A :class:`GatewayTimeout` because the caller must treat it the same way: the money may still
    move, so it is neither approved nor declined, and it must never be retried under a new key.
    """


class _RedactCardData(logging.Filter):
    """Redacts request bodies from the SDK's log records: at DEBUG it logs every POST body,
    card number and CVC included (``Post details post_data=...``)."""

    _POST_DATA = re.compile(r"post_data=\S+")
    _PAN_LIKE = re.compile(r"(?<!\d)\d{12,19}(?!\d)")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._PAN_LIKE.sub(
            "[redacted]", self._POST_DATA.sub("post_data=[redacted]", message)
        )
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTOR: Final = _RedactCardData()


def _install_redactor() -> None:
    sdk_logger = logging.getLogger("stripe")
    if _REDACTOR not in sdk_logger.filters:
        sdk_logger.addFilter(_REDACTOR)


def _sdk_prints_requests() -> bool:
    """True when the SDK would print request bodies to stderr, where no filter can reach.

    The SDK reads ``STRIPE_LOG`` once, at import; the environment is checked too in case that
    ever changes.
    """
    read_at_import = getattr(stripe_util, "STRIPE_LOG", None)
    return "debug" in (stripe.log, read_at_import, os.environ.get("STRIPE_LOG"))


class StripeGateway:
    """:class:`~payments.gateways.PaymentGateway` on Stripe PaymentIntents.

    ``find()`` first asks Stripe's search API, which is eventually consistent (normally under a
    minute, up to an hour behind during outages), then lists the intents created in the last
    ``search_lag_seconds`` (a strongly consistent read) so a charge made just before a timeout
    is not reported as never seen. ``search_lag_seconds=0`` turns that second look off.

    Close it (or use it as a context manager) to release its HTTP connections.
    """

    name = "stripe"

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        timeout_seconds: float = 10.0,
        search_lag_seconds: float = 2 * 3600,
        proxy: str | None = None,
    ) -> None:
        if not api_key:
            raise GatewayError("Stripe API key is not configured")
        _install_redactor()
        self._timeout_seconds = timeout_seconds
        self._search_lag_seconds = search_lag_seconds
        # Our own session: closable, and blind to the environment, so HTTP(S)_PROXY cannot
        # reroute card data and a ~/.netrc entry cannot replace the Authorization header.
        self._session = requests.Session()
        self._session.trust_env = False
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")},
            max_network_retries=0,
            http_client=stripe.RequestsClient(
                timeout=timeout_seconds, session=self._session, proxy=proxy
            ),
        )

    @classmethod
    def from_settings(cls, settings: Settings, _factory: sessionmaker[Session]) -> StripeGateway:
        """For the account of ``STRIPE_API_KEY``; the database is not needed."""
        return cls(
            settings.STRIPE_API_KEY,
            api_base=settings.STRIPE_API_BASE,
            timeout_seconds=settings.GATEWAY_TIMEOUT_SECONDS,
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> StripeGateway:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Create and confirm a PaymentIntent; asking again with the same key replays the answer.

        Raises :class:`GatewayTimeout` when the outcome is unknown (no answer, a Stripe 5xx, the
        key already used for a different request) and :class:`ChargePending` when Stripe
        answered with a charge that has not settled. Other refusals raise :class:`GatewayError`.
        """
        if _sdk_prints_requests():
            raise GatewayError(
                "Stripe SDK console logging is at debug (stripe.log or STRIPE_LOG) and would "
                "print card data; refusing to charge"
            )
        if isinstance(request.card, StoredCard):
            # A PaymentMethod can be charged again only once attached to a Stripe Customer
            # (first charge with setup_future_usage=off_session); we do not create those yet.
            raise GatewayError(
                "the Stripe adapter does not charge stored cards yet; "
                "use GATEWAY=sandbox or take the card again"
            )
        outcome = self._create_intent(request)
        # Raised here, outside any except block, so no SDK exception rides along as __context__.
        if isinstance(outcome, GatewayError):
            raise outcome
        if isinstance(outcome, ChargeResult):
            return outcome
        result = _result_from_intent(outcome)
        if result is None:
            raise ChargePending(f"Stripe has not settled the charge yet (status {outcome.status})")
        return result

    def find(self, idempotency_key: str) -> ChargeResult | None:
        """What happened to ``idempotency_key``, by reading only (search, then list recent).

        ``None`` means Stripe has no PaymentIntent for the key. A charge that exists but has not
        settled raises :class:`ChargePending` rather than returning ``None`` (which would read
        as "never seen") or a result (which would read as final); ``ivr reconcile`` should leave
        such a payment for its next run, as after any :class:`GatewayTimeout`.
        """
        outcome = self._find_intents(idempotency_key)
        if isinstance(outcome, GatewayError):
            raise outcome
        if not outcome:
            return None
        results = [_result_from_intent(intent) for intent in outcome]
        approved = [r for r in results if r is not None and r.status is ChargeStatus.APPROVED]
        if approved:
            return approved[0]
        if any(r is None for r in results):
            raise ChargePending("Stripe has not settled the charge for this key yet")
        # Several final intents under one key (only after Stripe forgot the key): newest wins.
        newest = max(range(len(outcome)), key=lambda i: outcome[i].created)
        return results[newest]

    def _create_intent(
        self, request: ChargeRequest
    ) -> stripe.PaymentIntent | ChargeResult | GatewayError:
        try:
            return self._client.v1.payment_intents.create(
                params=_intent_params(request),
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as error:
            return _declined(error.error)
        except stripe.StripeError as error:
            return self._refusal(error, action="charge")

    def _find_intents(self, idempotency_key: str) -> list[stripe.PaymentIntent] | GatewayError:
        try:
            found: Iterable[stripe.PaymentIntent] = self._client.v1.payment_intents.search(
                params={"query": _search_query(idempotency_key), "limit": 100}
            ).data
            matches = _with_key(found, idempotency_key)
            if not matches and self._search_lag_seconds > 0:
                since = int(time.time() - self._search_lag_seconds)
                found = self._client.v1.payment_intents.list(
                    params={"created": {"gte": since}, "limit": 100}
                ).auto_paging_iter()
                matches = _with_key(found, idempotency_key)
            return matches
        except stripe.StripeError as error:
            return self._refusal(error, action="lookup")

    def _refusal(self, error: stripe.StripeError, *, action: str) -> GatewayError:
        """Our own exception for an SDK error: type, status and code only, never Stripe's text."""
        status = error.http_status
        if isinstance(error, stripe.APIConnectionError):
            return GatewayTimeout(
                f"No answer from Stripe within {self._timeout_seconds:g}s ({action}); "
                "the outcome is unknown"
            )
        if isinstance(error, stripe.APIError) or (status is not None and status >= 500):
            # Stripe documents 5xx results as indeterminate; a 409 is a concurrent request
            # under the same key, still in flight.
            return GatewayTimeout(
                f"Stripe failed the {action} (HTTP {status}); the outcome is unknown"
            )
        if isinstance(error, stripe.IdempotencyError):
            # The key was already used for a different request, whose outcome this is not.
            return GatewayTimeout(
                f"Stripe refused the {action}: the idempotency key was already used for a "
                "different request, whose outcome is unknown here"
            )
        details = error.error
        kind = (details.type if details is not None else None) or type(error).__name__
        parts = [f"HTTP {status}" if status is not None else "", kind, error.code or ""]
        if details is not None and details.param:
            parts.append(f"param {details.param}")
        return GatewayError(f"Stripe refused the {action} ({' '.join(p for p in parts if p)})")


def _intent_params(request: ChargeRequest) -> PaymentIntentCreateParams:
    card = request.card
    assert not isinstance(card, StoredCard)
    params: dict[str, Any] = {
        "amount": request.amount_cents,
        "currency": request.currency,
        "confirm": True,
        # Cards only: no redirect-based methods, so no return_url is needed to confirm.
        "payment_method_types": ["card"],
        "payment_method_data": {
            "type": "card",
            "card": {
                "number": card.number,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
                "cvc": card.security_code,
            },
            "billing_details": {"address": {"postal_code": card.postal_code}},
        },
        "metadata": {**request.metadata, METADATA_KEY: request.idempotency_key},
    }
    if request.description:
        params["description"] = request.description
    # The typed params omit payment_method_data[card] (raw card data is a gated API).
    return cast("PaymentIntentCreateParams", params)


def _search_query(idempotency_key: str) -> str:
    escaped = idempotency_key.replace("\\", "\\\\").replace("'", "\\'")
    return f"metadata['{METADATA_KEY}']:'{escaped}'"


def _with_key(intents: Iterable[stripe.PaymentIntent], key: str) -> list[stripe.PaymentIntent]:
    return [intent for intent in intents if _key_of(intent) == key]


def _key_of(intent: stripe.PaymentIntent) -> str | None:
    metadata = intent.metadata
    if metadata is None or METADATA_KEY not in metadata:
        return None
    value = metadata[METADATA_KEY]
    return value if isinstance(value, str) else None


def _result_from_intent(intent: stripe.PaymentIntent) -> ChargeResult | None:
    """The final answer an intent gives, or ``None`` while the money may still move.

    - ``succeeded``: approved.
    - a ``last_payment_error`` on ``requires_payment_method`` / ``canceled``: declined. We never
      confirm an intent twice, so a declined intent stays declined.
    - ``requires_action`` (the issuer wants 3-D Secure): declined, because nobody on a phone
      call can authenticate, so the money cannot move.
    - ``canceled`` without an error: failed, nothing moved.
    - anything else (``processing``, ``requires_capture``, ``requires_confirmation``, an
      unconfirmed ``requires_payment_method``, a status new to us): not settled, ``None``.
    """
    status = intent.status
    if status == "succeeded":
        return ChargeResult(
            ChargeStatus.APPROVED, reference=intent.id, token=_id(intent.payment_method)
        )
    error = intent.last_payment_error
    if error is not None and status in _DECLINED_STATES:
        return ChargeResult(
            ChargeStatus.DECLINED,
            reference=intent.id,
            decline_reason=_decline_reason(error.code, error.decline_code),
        )
    if status == "requires_action":
        return ChargeResult(
            ChargeStatus.DECLINED, reference=intent.id, decline_reason=DeclineReason.DECLINED
        )
    if status == "canceled":
        return ChargeResult(ChargeStatus.FAILED, reference=intent.id)
    return None


def _declined(error: stripe.ErrorObject | None) -> ChargeResult:
    if error is None:
        return ChargeResult(ChargeStatus.DECLINED, decline_reason=DeclineReason.DECLINED)
    intent = error.payment_intent
    return ChargeResult(
        ChargeStatus.DECLINED,
        reference=intent.id if intent is not None else None,
        decline_reason=_decline_reason(error.code, error.decline_code),
    )


def _decline_reason(code: str | None, decline_code: str | None) -> DeclineReason:
    if "insufficient_funds" in (code, decline_code):
        return DeclineReason.INSUFFICIENT_FUNDS
    if "expired_card" in (code, decline_code):
        return DeclineReason.EXPIRED_CARD
    if "processing_error" in (code, decline_code):
        return DeclineReason.PROCESSING_ERROR
    return DeclineReason.DECLINED


def _id(field: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    if field is None or isinstance(field, str):
        return field
    found = getattr(field, "id", None)
    return found if isinstance(found, str) else None


if TYPE_CHECKING:

    def _conforms(gateway: StripeGateway) -> PaymentGateway:
        return gateway
