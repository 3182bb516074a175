"""Agent-started capture by Twilio's Payments API (``CAPTURE_MODE=twilio-pay``).

The caller stays on the line with the agent; Twilio collects the digits (they never reach us)
and reports progress to a status callback: which field is being keyed (``Capture``,
``PartialResult``), which are still ``Required``, an ``ErrorType``, and finally a ``Result``.
Callbacks can arrive late, twice or out of order, so each one only ever moves a field forward
(pending, entering, valid, done; invalid until it is valid), and what to ask Twilio next is
derived from the merged state, with idempotency keys that make a repeated request harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from flows import assisted
from flows.engine import PayResult
from flows.payment import TWILIO_PAY, pay_charge_result
from ivr.models import AgentCapture, CaptureStatus, Payment, PaymentStatus
from payments import ledger

# Twilio's field names, in the order Twilio asks for them, and ours.
TWILIO_FIELDS = {
    "payment-card-number": "card_number",
    "expiration-date": "card_expiry",
    "security-code": "card_code",
    "postal-code": "card_zip",
}
OUR_FIELDS = {ours: theirs for theirs, ours in TWILIO_FIELDS.items()}
ERRORS = {
    "invalid-card-number": "card_number_invalid",
    "invalid-card-type": "card_brand_unsupported",
    "invalid-date": "card_expiry_invalid",
    "invalid-security-code": "card_code_invalid",
    "invalid-postal-code": "card_zip_invalid",
}
_RANK = {assisted.PENDING: 0, assisted.INVALID: 1, assisted.ENTERING: 2, assisted.VALID: 3}


@dataclass(frozen=True)
class PayStatus:
    """One status callback, reduced to what is safe to keep (last four, brand, codes)."""

    capture: str = ""
    partial: bool = False
    required: tuple[str, ...] | None = None  # None: the callback did not say
    error: str = ""
    brand: str = ""
    last4: str = ""
    result: PayResult | None = None


@dataclass(frozen=True)
class PayRequest:
    """What to ask Twilio next: a field (``capture``) or to finish (``status``)."""

    idempotency_key: str
    capture: str | None = None
    status: str | None = None


def first_request(capture: AgentCapture) -> PayRequest:
    return capture_field(capture, assisted.FIELDS[0])


def capture_field(capture: AgentCapture, field: str) -> PayRequest:
    """Ask for ``field``; the key names the capture's version, so a re-request is new."""
    return PayRequest(f"{capture.id}:{field}:{capture.version}", capture=OUR_FIELDS[field])


def on_status(
    session: Session,
    capture_id: int,
    event: PayStatus,
    on_approved: ledger.OnApproved | None = None,
) -> PayRequest | None:
    """Merge a status callback into the capture; returns what to ask Twilio next, if anything."""
    capture = session.get(AgentCapture, capture_id, with_for_update=True, populate_existing=True)
    if capture is None or capture.mode != TWILIO_PAY or capture.status in assisted.FINAL:
        return None
    if event.result is not None:
        _settle(session, capture, event.result, on_approved)
        return None
    if capture.status is CaptureStatus.AUTHORIZING:
        return None  # a late progress report: every field is in already
    changes: dict[str, tuple[str, str | None]] = {}
    if event.required is not None:
        for name in assisted.FIELDS:
            if OUR_FIELDS[name] not in event.required:
                changes[name] = (assisted.VALID, None)
    keyed = TWILIO_FIELDS.get(event.capture)
    if keyed is not None and keyed not in changes:
        if event.error:
            changes[keyed] = (assisted.INVALID, ERRORS.get(event.error, "agent_capture_failed"))
        elif event.partial:
            changes[keyed] = (assisted.ENTERING, None)
    forward = {
        name: change
        for name, change in changes.items()
        if _forward(capture.fields[name]["status"], change[0])
    }
    card = {"brand": event.brand.lower(), "last4": event.last4} if event.last4 else {}
    if forward or card:
        assisted.update(capture, CaptureStatus.CAPTURING, forward, **card)
    return _next(capture)


def _forward(current: str, new: str) -> bool:
    """Whether a reported state moves a field on: valid is final, an error counts while the
    field is being keyed, and re-keying after an error counts as keying again."""
    if new == assisted.INVALID:
        return current in (assisted.PENDING, assisted.ENTERING)
    return _RANK[new] > _RANK[current]


def _next(capture: AgentCapture) -> PayRequest | None:
    waiting = [f for f in assisted.FIELDS if capture.fields[f]["status"] != assisted.VALID]
    if not waiting:
        assisted.update(capture, CaptureStatus.AUTHORIZING)
        return PayRequest(f"{capture.id}:complete", status="complete")
    field = waiting[0]
    status = capture.fields[field]["status"]
    if status == assisted.PENDING:
        assisted.update(capture, fields={field: (assisted.ENTERING, None)})
    elif status == assisted.ENTERING:
        return None
    # A new field, or one keyed wrong: ask for it (again). The key carries the version, so a
    # repeated callback repeats the same request and Twilio answers it once.
    return capture_field(capture, field)


def _settle(
    session: Session,
    capture: AgentCapture,
    result: PayResult,
    on_approved: ledger.OnApproved | None,
) -> None:
    assert capture.payment_id is not None
    payment = session.get(Payment, capture.payment_id)
    assert payment is not None
    payment.brand = result.brand.lower() or capture.brand
    payment.last4 = result.last4 or capture.last4
    session.flush()
    settled = ledger.settle(session, payment.id, pay_charge_result(result), on_approved=on_approved)
    if settled.status is PaymentStatus.APPROVED:
        done = {name: (assisted.DONE, None) for name in assisted.FIELDS}
        assisted.update(
            capture,
            CaptureStatus.APPROVED,
            done,
            confirmation_number=settled.confirmation_number,
        )
    else:
        reason = f"declined_{settled.decline_reason}"
        assisted.update(capture, CaptureStatus.DECLINED, reason=reason)
    assisted.record_result(session, capture, actor="twilio")
