"""Progress of a card capture an agent started, kept for the agent's console.

The capture steps in :mod:`flows.payment` report here as the caller keys each field; for a
caller paying on their own (no ``agent_capture`` on the session) every hook does nothing. Only
verdicts are recorded: which field is being keyed, valid or invalid and why (as the prompt key
the caller heard), brand and last four. Outcomes are prompt keys too, so the caller and the
agent are told the same thing in the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy import update as sa_update
from sqlalchemy.orm import Session

from flows.context import Context
from flows.data import AgentData
from flows.engine import Go
from ivr import audit
from ivr.models import (
    AgentCall,
    AgentCallStatus,
    AgentCapture,
    CaptureStatus,
    Conversation,
    Payment,
    PaymentStatus,
)
from payments import ledger
from payments.capture import FieldVerdict
from payments.gateways import ChargeResult, ChargeStatus, DeclineReason

RESULT_STATE = "agent_capture_result"
FIELDS = ("card_number", "card_expiry", "card_code", "card_zip")
FINAL = frozenset(
    {
        CaptureStatus.APPROVED,
        CaptureStatus.DECLINED,
        CaptureStatus.CANCELLED,
        CaptureStatus.HUNG_UP,
        CaptureStatus.FAILED,
    }
)
# Ends that need no hang-up record: already over, or a charge in flight that settles itself.
UNCHARGED_END = FINAL | {CaptureStatus.AUTHORIZING}
# How a prepared payment that never reached the gateway is settled (hang-up, agent's cancel).
NOT_CHARGED = ChargeResult(ChargeStatus.FAILED, decline_reason=DeclineReason.CANCELLED)
# The caller turned down the convenience fee before any card field: nothing was charged.
FEE_DECLINED = "fee_declined"
CANCELLED_BY_CALLER = frozenset({"pay_cancelled", FEE_DECLINED})
PENDING, ENTERING, VALID, INVALID, DONE = "pending", "entering", "valid", "invalid", "done"


def fresh_fields() -> dict[str, Any]:
    """Every field waiting, the card number being asked first."""
    fields: dict[str, Any] = {name: {"status": PENDING, "reason": None} for name in FIELDS}
    fields[FIELDS[0]] = {"status": ENTERING, "reason": None}
    return fields


def update(
    capture: AgentCapture,
    status: CaptureStatus | None = None,
    fields: Mapping[str, tuple[str, str | None]] | None = None,
    **values: Any,
) -> None:
    """Change the capture and bump its version, which the console's event stream watches."""
    merged = dict(capture.fields)
    for name, (state, reason) in (fields or {}).items():
        merged[name] = {"status": state, "reason": reason}
    capture.fields = merged
    if status is not None:
        capture.status = status
    for name, value in values.items():
        setattr(capture, name, value)
    capture.version += 1


def running(conv: Conversation, ctx: Context) -> AgentCapture | None:
    """The agent's capture this call is in, if it is still running (locked for the update)."""
    capture_id = AgentData(conv).capture
    if capture_id is None:
        return None
    capture = ctx.session.get(AgentCapture, capture_id, with_for_update=True)
    return None if capture is None or capture.status in FINAL else capture


def field_checked(
    conv: Conversation, ctx: Context, field: str, verdict: FieldVerdict, next_state: str
) -> str:
    """Record the verdict on ``field``; returns the state to go to if it was accepted (after a
    field the agent asked for again, the caller returns to where they were)."""
    data = AgentData(conv)
    target = (data.resume or next_state) if verdict.ok else next_state
    if verdict.ok:
        del data.resume
    capture = running(conv, ctx)
    if capture is None:
        return target
    if not verdict.ok:
        assert verdict.error is not None
        update(capture, fields={field: (INVALID, f"card_{verdict.error.value}")})
        return target
    changes: dict[str, tuple[str, str | None]] = {field: (VALID, None)}
    if target in FIELDS and capture.fields[target]["status"] != VALID:
        changes[target] = (ENTERING, None)
    status = CaptureStatus.CONFIRMING if target not in FIELDS else CaptureStatus.CAPTURING
    card = {"brand": verdict.brand.value, "last4": verdict.last4} if verdict.brand else {}
    update(capture, status, changes, **card)
    return target


def asking(conv: Conversation, ctx: Context, field: str) -> None:
    """The agent asked for ``field`` again: it is being keyed now."""
    capture = running(conv, ctx)
    if capture is None:
        return
    if field == FIELDS[0]:
        del AgentData(conv).resume
        update(capture, CaptureStatus.CAPTURING, fields=_restart(), brand=None, last4=None)
    else:
        update(capture, CaptureStatus.CAPTURING, fields={field: (ENTERING, None)})


def _restart() -> dict[str, tuple[str, str | None]]:
    return {name: (info["status"], info["reason"]) for name, info in fresh_fields().items()}


def restarted(conv: Conversation, ctx: Context) -> None:
    """The caller pressed star: everything is keyed again from the card number."""
    del AgentData(conv).resume
    capture = running(conv, ctx)
    if capture is not None:
        update(capture, CaptureStatus.CAPTURING, fields=_restart(), brand=None, last4=None)


def authorizing(conv: Conversation, ctx: Context, payment: Payment) -> None:
    capture = running(conv, ctx)
    if capture is not None:
        update(capture, CaptureStatus.AUTHORIZING, payment_id=payment.id)


def abandoned(conv: Conversation, ctx: Context, reason: str) -> Go | None:
    """The caller declined the fee or cancelled at the read-back, or the payment was refused
    before any charge."""
    status = CaptureStatus.CANCELLED if reason in CANCELLED_BY_CALLER else CaptureStatus.FAILED
    return _finish(conv, ctx, status, reason)


def settled(conv: Conversation, ctx: Context, payment: Payment) -> Go | None:
    """The charge has an answer: record it and send the caller back to the agent with it."""
    if payment.status is PaymentStatus.APPROVED:
        return _finish(
            conv,
            ctx,
            CaptureStatus.APPROVED,
            None,
            confirmation_number=payment.confirmation_number,
        )
    if payment.status in (PaymentStatus.DECLINED, PaymentStatus.FAILED):
        return _finish(conv, ctx, CaptureStatus.DECLINED, f"declined_{payment.decline_reason}")
    return _finish(conv, ctx, CaptureStatus.FAILED, "payment_unknown")


def _finish(
    conv: Conversation, ctx: Context, status: CaptureStatus, reason: str | None, **values: Any
) -> Go | None:
    capture = running(conv, ctx)
    if capture is None:
        return None
    fields = {name: (DONE, None) for name in FIELDS} if status is CaptureStatus.APPROVED else {}
    update(capture, status, fields, reason=reason, **values)
    record_result(ctx.session, capture, actor=f"caller:{conv.caller or 'unknown'}")
    return Go(RESULT_STATE)


def call_ended(session: Session, conv: Conversation) -> None:
    """The caller hung up: a capture still being keyed ends with nothing charged (one already
    authorizing is settled by the ledger), and the call leaves the agents' lists. A call that
    never reached an agent has nothing here, and costs no query."""
    if not AgentData(conv).handed_off:
        return
    call_sid = conv.sid
    captures = session.scalars(
        select(AgentCapture)
        .where(AgentCapture.call_sid == call_sid, AgentCapture.status.not_in(UNCHARGED_END))
        .with_for_update()
    ).all()
    for capture in captures:
        if capture.payment_id is not None:  # twilio-pay prepares its ledger row up front
            ledger.settle(session, capture.payment_id, NOT_CHARGED)
        update(capture, CaptureStatus.HUNG_UP, reason="agent_capture_hung_up")
        record_result(session, capture, actor="system")
    session.execute(
        sa_update(AgentCall)
        .where(AgentCall.call_sid == call_sid)
        .values(status=AgentCallStatus.ENDED)
    )


def record_result(session: Session, capture: AgentCapture, actor: str) -> None:
    """The audit entry for how an agent's capture ended."""
    audit.record(
        session,
        "agent.capture.result",
        actor=actor,
        outcome=capture.status.value,
        resource=f"capture:{capture.id}",
        origin=f"call:{capture.call_sid}",
        agent_id=capture.agent_id,
        account_id=capture.account_id,
        payment_id=capture.payment_id,
        reason=capture.reason,
    )
