"""Agent-started capture by Twilio's Payments API (``CAPTURE_MODE=twilio-pay``).

The caller stays on the line with the agent; Twilio collects the digits (they never reach us)
and reports progress to a status callback: which field is being keyed, which are still
required, an error, and finally a result. The request parser
(:func:`ivr.channels.agent_console.pay_status_from`) has put all of it in our words.
Callbacks can arrive late, twice or out of order, so each one only ever moves a field forward
(pending, entering, valid, done; invalid until it is valid), and what to ask Twilio next is
derived from the merged state, with idempotency keys that make a repeated request harmless.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy.orm import Session

from flows import agent_capture
from flows.engine import PayResult
from flows.payment import TWILIO_PAY
from ivr.models import AgentCapture, CaptureStatus, Payment, PaymentStatus
from payments.service import Authorize

_RANK = {
    agent_capture.PENDING: 0,
    agent_capture.INVALID: 1,
    agent_capture.ENTERING: 2,
    agent_capture.VALID: 3,
}


@dataclass(frozen=True)
class PayStatus:
    """One status callback, reduced to what is safe to keep (last four, brand, codes), in our
    words: ``capture`` and ``required`` name fields of :data:`flows.agent_capture.FIELDS`, and
    ``error`` is the prompt key the caller heard."""

    capture: str = ""
    partial: bool = False
    required: tuple[str, ...] | None = None  # None: the callback did not say
    error: str = ""
    brand: str = ""
    last4: str = ""
    result: PayResult | None = None


@dataclass(frozen=True)
class CaptureRequest:
    """What to ask Twilio next: a field (``capture``, one of :data:`flows.agent_capture.FIELDS`)
    or to finish (``status``)."""

    idempotency_key: str
    capture: str | None = None
    status: str | None = None


def first_request(capture: AgentCapture) -> CaptureRequest:
    return capture_field(capture, agent_capture.FIELDS[0])


def capture_field(capture: AgentCapture, field: str) -> CaptureRequest:
    """Ask for ``field``; the key names the capture's version, so a re-request is new."""
    return CaptureRequest(f"{capture.id}:{field}:{capture.version}", capture=field)


def on_status(
    session: Session, capture_id: int, event: PayStatus
) -> CaptureRequest | Authorize | None:
    """Merge a status callback into the capture; returns what to ask Twilio next, if anything,
    or, once Twilio reports the charge, the payment to settle with its answer (the console
    hands it to :meth:`payments.service.PaymentService.authorize`, then to :func:`settled`)."""
    capture = session.get(AgentCapture, capture_id, with_for_update=True, populate_existing=True)
    if capture is None or capture.mode != TWILIO_PAY or capture.status in agent_capture.FINAL:
        return None
    if event.result is not None:
        assert capture.payment_id is not None
        paid = event.result.paid
        known = dataclasses.replace(
            paid, brand=paid.brand or capture.brand, last4=paid.last4 or capture.last4
        )
        return Authorize(capture.payment_id, known)
    if capture.status is CaptureStatus.AUTHORIZING:
        return None  # a late progress report: every field is in already
    changes: dict[str, tuple[str, str | None]] = {}
    if event.required is not None:
        for name in agent_capture.FIELDS:
            if name not in event.required:
                changes[name] = (agent_capture.VALID, None)
    keyed = event.capture if event.capture in agent_capture.FIELDS else None
    if keyed is not None and keyed not in changes:
        if event.error:
            changes[keyed] = (agent_capture.INVALID, event.error)
        elif event.partial:
            changes[keyed] = (agent_capture.ENTERING, None)
    forward = {
        name: change
        for name, change in changes.items()
        if _forward(capture.fields[name]["status"], change[0])
    }
    card = {"brand": event.brand.lower(), "last4": event.last4} if event.last4 else {}
    if forward or card:
        agent_capture.update(capture, CaptureStatus.CAPTURING, forward, **card)
    return _next(capture)


def _forward(current: str, new: str) -> bool:
    """Whether a reported state moves a field on: valid is final, an error counts while the
    field is being keyed, and re-keying after an error counts as keying again."""
    if new == agent_capture.INVALID:
        return current in (agent_capture.PENDING, agent_capture.ENTERING)
    return _RANK[new] > _RANK[current]


def _next(capture: AgentCapture) -> CaptureRequest | None:
    waiting = [
        f for f in agent_capture.FIELDS if capture.fields[f]["status"] != agent_capture.VALID
    ]
    if not waiting:
        agent_capture.update(capture, CaptureStatus.AUTHORIZING)
        return CaptureRequest(f"{capture.id}:complete", status="complete")
    field = waiting[0]
    status = capture.fields[field]["status"]
    if status == agent_capture.PENDING:
        agent_capture.update(capture, fields={field: (agent_capture.ENTERING, None)})
    elif status == agent_capture.ENTERING:
        return None
    # A new field, or one keyed wrong: ask for it (again). The key carries the version, so a
    # repeated callback repeats the same request and Twilio answers it once.
    return capture_field(capture, field)


def settled(session: Session, capture_id: int, payment: Payment) -> None:
    """The charge Twilio reported is settled: the capture ends with its outcome, once (a
    repeated result callback finds it over already)."""
    capture = session.get(AgentCapture, capture_id, with_for_update=True, populate_existing=True)
    if capture is None or capture.status in agent_capture.FINAL:
        return
    if payment.status is PaymentStatus.APPROVED:
        done = {name: (agent_capture.DONE, None) for name in agent_capture.FIELDS}
        agent_capture.update(
            capture,
            CaptureStatus.APPROVED,
            done,
            confirmation_number=payment.confirmation_number,
        )
    else:
        reason = f"declined_{payment.decline_reason}"
        agent_capture.update(capture, CaptureStatus.DECLINED, reason=reason)
    agent_capture.record_result(session, capture, actor="twilio")
