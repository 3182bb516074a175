"""The agent console's service: each console action in its transaction, audited, and the
call's legs moved through the telephony adapter after the commit that prepared it (taking a
call bridges it in a conference; a secure payment holds the agent there, then moves the
caller's leg; :mod:`ivr.channels.bridge`).

Every action an agent takes (log-in, log-out, look-up, claim, start, re-request, cancel,
lifting a lock, recording a dispute) is written to the audit log with the agent, the call, the
account and the outcome, refusals included. The capture's state is read from the database on
every poll, so the console's live view works whichever web worker serves it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from flows import agent as desk
from flows import agent_capture
from flows import agent_pay as pay
from flows.payment import TWILIO_PAY
from ivr import audit, logs
from ivr.adapters.telephony import AssistedPayment, PaymentChange, Telephony, TelephonyError
from ivr.channels.bridge import AgentBridge
from ivr.channels.voice import pay_result
from ivr.config import Settings
from ivr.db import transaction
from ivr.models import Account, Agent, AgentCall, AgentCapture, CaptureStatus, Dispute, utcnow
from payments.cards import brand_label
from payments.policy import WrittenAmountError, parse_written_amount
from payments.service import Authorize, PaymentService
from prompts import Money, Prompt, render
from verification import find_account
from verification.agents import (
    Login,
    LoginOutcome,
    LoginPolicy,
    authenticate,
    end_session,
    session_agent,
)
from verification.lockout import Lock

log = logging.getLogger("ivr.agent")
T = TypeVar("T")
CAPTURE_URL = "/voice/agent-capture"
PAY_STATUS_URL = "/voice/agent-pay-status"
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 300.0  # then the browser reconnects (EventSource does so by itself)

FIELD_LABELS = {
    "card_number": "Card number",
    "card_expiry": "Expiry",
    "card_code": "Security code",
    "card_zip": "Billing ZIP",
}
STATUS_TEXT = {
    CaptureStatus.CONNECTING: "Moving the caller to secure capture",
    CaptureStatus.CAPTURING: "The caller is keying the card details",
    CaptureStatus.CONFIRMING: "The caller is hearing the read-back and confirming",
    CaptureStatus.AUTHORIZING: "Charging the card",
    CaptureStatus.APPROVED: "Approved",
    CaptureStatus.DECLINED: "Declined",
    CaptureStatus.CANCELLED: "Cancelled",
    CaptureStatus.HUNG_UP: "The caller hung up",
    CaptureStatus.FAILED: "Not completed",
}
# The Payments API's names for the card fields, in the order it asks for them, and ours.
TWILIO_FIELDS = {
    "payment-card-number": "card_number",
    "expiration-date": "card_expiry",
    "security-code": "card_code",
    "postal-code": "card_zip",
}
OUR_FIELDS = {ours: theirs for theirs, ours in TWILIO_FIELDS.items()}
# Its error types, as the prompt keys the caller hears.
TWILIO_ERRORS = {
    "invalid-card-number": "card_number_invalid",
    "invalid-card-type": "card_brand_unsupported",
    "invalid-date": "card_expiry_invalid",
    "invalid-security-code": "card_code_invalid",
    "invalid-postal-code": "card_zip_invalid",
}


def pay_status_from(form: Mapping[str, str]) -> pay.PayStatus:
    """A Payments API status callback in our words: field names, error types and the masked
    card only (Twilio keeps the digits); the final ``Result`` as ``<Pay>``'s would be."""
    required = form.get("Required")
    error = form.get("ErrorType", "")[:40]
    return pay.PayStatus(
        capture=TWILIO_FIELDS.get(form.get("Capture", "")[:40], ""),
        partial=form.get("PartialResult", "").lower() == "true",
        required=tuple(
            TWILIO_FIELDS.get(name.strip(), name.strip()[:40])
            for name in required.split(",")
            if name.strip()
        )
        if required is not None
        else None,
        error=TWILIO_ERRORS.get(error, "agent_capture_failed") if error else "",
        brand=form.get("PaymentCardType", "")[:20].lower(),
        last4=re.sub(r"\D", "", form.get("PaymentCardNumber", ""))[-4:],
        result=pay_result(form) if form.get("Result") else None,
    )


def _words(key: str | None) -> str | None:
    """A prompt key as the agent reads it: the same sentence the caller heard."""
    return render(Prompt(key), "en-US", medium="text") if key else None


def capture_state(capture: AgentCapture) -> dict[str, Any]:
    """What the console shows of a capture: statuses, reasons, brand and last four only."""
    brand = brand_label(capture.brand)
    return {
        "id": capture.id,
        "version": capture.version,
        "status": capture.status.value,
        "status_text": STATUS_TEXT[capture.status],
        "final": capture.status in agent_capture.FINAL,
        "amount": Money(capture.amount_cents + capture.fee_cents).write("en-US"),
        "card": f"{brand} ending in {capture.last4}" if capture.last4 else "",
        "confirmation_number": capture.confirmation_number or "",
        "outcome": _words(capture.reason) or "",
        "fields": [
            {
                "name": name,
                "label": FIELD_LABELS[name],
                "status": capture.fields[name]["status"],
                "reason": _words(capture.fields[name]["reason"]) or "",
            }
            for name in agent_capture.FIELDS
        ],
    }


@dataclass(frozen=True)
class CallView:
    handoff: AgentCall
    summary: desk.AccountSummary | None
    capture: dict[str, Any] | None
    caller_locks: list[Lock]


def _subject(db: Session, result: object) -> dict[str, Any]:
    """The call and account an action touched, for its audit entry."""
    if isinstance(result, CallView):
        result = result.handoff
    if isinstance(result, desk.AccountSummary):
        return {"account": result.account.number}
    if isinstance(result, Dispute):
        account = db.get(Account, result.account_id)
        return {
            "origin": f"call:{result.session_sid}",
            "account": account.number if account else None,
            "reference": result.reference_number,
        }
    if isinstance(result, AgentCall | AgentCapture):
        account = db.get(Account, result.account_id) if result.account_id else None
        return {
            "origin": f"call:{result.call_sid}",
            "account": account.number if account else None,
        }
    return {}


def _cents(amount: str) -> int:
    """Dollars as the agent typed them; a refusal (audited with the action) says how to."""
    try:
        return parse_written_amount(amount)
    except WrittenAmountError:
        raise desk.ConsoleRefusedError("Enter the amount in dollars, like 142.50.") from None


class AgentConsole:
    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        telephony: Telephony,
        bridge: AgentBridge,
        payments: PaymentService,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.telephony = telephony
        self.bridge = bridge
        self.payments = payments
        self.policy = LoginPolicy.from_settings(settings)

    # --- signing in ---

    def login(self, username: str, password: str, address: str, now: dt.datetime) -> Login:
        """Count and judge a log-in from the client at ``address`` (audited whatever it
        comes to); a good one carries the new console session's key."""
        origin = f"web:{address}"
        result = authenticate(self.factory, username, password, address, self.policy, now)
        actor = f"agent:{result.agent.username}" if result.agent else "agent:unknown"
        with transaction(self.factory) as db:
            audit.record(
                db, "agent.login", actor=actor, outcome=result.outcome.value, origin=origin
            )
        level = logging.INFO if result.outcome is LoginOutcome.OK else logging.WARNING
        logs.event(log, "agent.login", level, outcome=result.outcome.value, origin=origin)
        return result

    def signed_in(self, key: str, now: dt.datetime, *, extend: bool) -> Agent | None:
        """The agent behind a console session, unless it has ended (one read; ``extend``
        when the agent, not the page's script, made the request)."""
        with transaction(self.factory) as db:
            return session_agent(db, key, self.policy, now, extend=extend)

    def logout(self, agent: Agent, key: str, origin: str) -> None:
        """End the session: its cookie, wherever it was copied, no longer signs anyone in."""
        with transaction(self.factory) as db:
            end_session(db, key)
            audit.record(
                db,
                "agent.logout",
                actor=f"agent:{agent.username}",
                outcome="success",
                origin=origin,
            )

    # --- calls and accounts ---

    def _act(self, agent: Agent, action: str, target: str, work: Callable[[Session], T]) -> T:
        """Run ``work`` and audit it; a refusal is audited in a transaction of its own."""
        actor = f"agent:{agent.username}"
        try:
            with transaction(self.factory) as db:
                result = work(db)
                audit.record(
                    db, action, actor=actor, outcome="success", resource=target,
                    **_subject(db, result),
                )  # fmt: skip
        except desk.ConsoleRefusedError as refusal:
            outcome = "forbidden" if refusal.forbidden else "refused"
            with transaction(self.factory) as db:
                audit.record(
                    db, action, actor=actor, outcome=outcome, resource=target, reason=str(refusal)
                )
            logs.event(log, action, logging.WARNING, agent=agent.username, outcome=outcome)
            raise
        logs.event(log, action, agent=agent.username, target=target)
        return result

    def calls(self, agent: Agent) -> list[AgentCall]:
        with transaction(self.factory) as db:
            handoffs = desk.open_calls(db, agent)
            for handoff in handoffs:
                _ = handoff.account  # loaded for the page, after the session closes
            return handoffs

    def call(self, agent: Agent, handoff_id: int) -> CallView:
        def work(db: Session) -> CallView:
            handoff = desk.handoff_for(db, agent, handoff_id)
            mine = handoff.agent_id == agent.id
            account = handoff.account if mine else None
            now = utcnow()
            summary = desk.account_summary(db, account, now) if account else None
            capture = desk.latest_capture(db, handoff) if mine else None
            state = capture_state(capture) if capture else None
            locks = desk.caller_locks(db, handoff, now) if mine else []
            return CallView(handoff, summary, state, locks)

        return self._act(agent, "agent.call.view", f"agent_call:{handoff_id}", work)

    def claim(self, agent: Agent, handoff_id: int) -> AgentCall:
        """Take the call, and bridge caller and agent in the call's conference."""
        handoff = self._act(
            agent,
            "agent.claim",
            f"agent_call:{handoff_id}",
            lambda db: desk.claim(db, agent, handoff_id),
        )
        self.bridge.join(handoff.id)
        return handoff

    def lookup(self, agent: Agent, number: str) -> desk.AccountSummary:
        def work(db: Session) -> desk.AccountSummary:
            account = find_account(db, number.strip())
            if account is None:
                raise desk.ConsoleRefusedError(
                    f"No account {number.strip()[:32]}; check the number."
                )
            return desk.account_summary(db, account, utcnow())

        return self._act(agent, "agent.lookup", f"account:{number.strip()[:32]}", work)

    def lift_lock(self, agent: Agent, subject: str, handoff_id: int | None) -> str:
        """Lift the verification lock on ``subject`` (the agent has verified the caller)."""
        return self._act(
            agent,
            "agent.lock.lift",
            f"lock:{subject.strip()[:40]}",
            lambda db: desk.lift_lock(db, self.settings, agent, subject, handoff_id),
        )

    def record_dispute(self, agent: Agent, handoff_id: int, amount: str) -> Dispute:
        """Record a dispute of ``amount`` (dollars, as typed) for the account of the call."""

        def work(db: Session) -> Dispute:
            cents = _cents(amount)
            return desk.record_dispute(db, self.settings, agent, handoff_id, cents, utcnow())

        return self._act(agent, "agent.dispute", f"agent_call:{handoff_id}", work)

    # --- secure capture ---

    def start(self, agent: Agent, handoff_id: int, amount: str) -> AgentCapture:
        def work(db: Session) -> AgentCapture:
            return desk.start_capture(db, self.settings, agent, handoff_id, _cents(amount))

        capture = self._act(agent, "agent.capture.start", f"agent_call:{handoff_id}", work)
        self._move(agent, capture, desk.START)
        return capture

    def rerequest(self, agent: Agent, capture_id: int, field: str) -> None:
        capture = self._act(
            agent,
            "agent.capture.rerequest",
            f"capture:{capture_id}",
            lambda db: desk.rerequest(db, agent, capture_id, field),
        )
        self._move(agent, capture, field)

    def cancel(self, agent: Agent, capture_id: int) -> None:
        capture = self._act(
            agent,
            "agent.capture.cancel",
            f"capture:{capture_id}",
            lambda db: desk.cancel(db, agent, capture_id),
        )
        self._move(agent, capture, desk.CANCEL)

    def _move(self, agent: Agent, capture: AgentCapture, step: str) -> None:
        """Move the caller's leg (or, in twilio-pay mode, drive Twilio's Payments session); if
        Twilio cannot, the capture fails with nothing charged."""
        base = self.settings.PUBLIC_BASE_URL.rstrip("/")
        try:
            if capture.mode != TWILIO_PAY:
                if step == desk.START:  # the agent hears music, never the caller's keys
                    self.bridge.hold(capture.call_sid, f"agent:{agent.username}")
                url = f"{base}{CAPTURE_URL}?capture={capture.id}&step={step}&n={capture.version}"
                self.telephony.redirect_call(capture.call_sid, url)
            elif step == desk.START:
                self._start_pay(capture)
            elif step == desk.CANCEL:
                self._pay(capture, pay.CaptureRequest(f"{capture.id}:cancel", status="cancel"))
            else:
                self._pay(capture, pay.capture_field(capture, step))
        except TelephonyError as error:
            self._failed(capture.id, f"agent:{agent.username}")
            self.bridge.unhold(capture.call_sid)
            raise desk.ConsoleRefusedError(str(error)) from error

    def _failed(self, capture_id: int, actor: str) -> None:
        with transaction(self.factory) as db:
            row = db.get(AgentCapture, capture_id, with_for_update=True)
            if row is not None and row.status not in agent_capture.FINAL:
                agent_capture.update(row, CaptureStatus.FAILED, reason="agent_capture_failed")
                agent_capture.record_result(db, row, actor=actor)

    def _status_callback(self, capture: AgentCapture) -> str:
        base = self.settings.PUBLIC_BASE_URL.rstrip("/")
        return f"{base}{PAY_STATUS_URL}?capture={capture.id}"

    def _start_pay(self, capture: AgentCapture) -> None:
        opened = AssistedPayment(
            idempotency_key=f"{capture.id}:start",
            status_callback=self._status_callback(capture),
            charge_cents=capture.amount_cents + capture.fee_cents,
            connector=self.settings.PAY_CONNECTOR,
            description=f"Account payment {capture.payment_id}",
        )
        pay_sid = self.telephony.start_payment(capture.call_sid, opened)
        with transaction(self.factory) as db:
            row = db.get(AgentCapture, capture.id, with_for_update=True)
            assert row is not None
            agent_capture.update(row, CaptureStatus.CAPTURING, pay_sid=pay_sid)
        capture.pay_sid = pay_sid
        self._pay(capture, pay.first_request(capture))

    def _pay(self, capture: AgentCapture, request: pay.CaptureRequest) -> None:
        assert capture.pay_sid is not None
        field = OUR_FIELDS[request.capture] if request.capture else None
        change = PaymentChange(
            request.idempotency_key, self._status_callback(capture), field, request.status
        )
        self.telephony.update_payment(capture.call_sid, capture.pay_sid, change)

    def pay_status(self, capture_id: int, event: pay.PayStatus) -> None:
        """Twilio's status callback for an agent's Payments session: merge it, then ask Twilio
        for whatever comes next (the next field, or to charge), or settle the charge it
        reports through the one payment path."""
        with transaction(self.factory) as db:
            request = pay.on_status(db, capture_id, event)
            capture = db.get(AgentCapture, capture_id)
        if isinstance(request, Authorize):
            payment = self.payments.authorize(request, utcnow())
            with transaction(self.factory) as db:
                pay.settled(db, capture_id, payment)
            return
        if request is None or capture is None:
            return
        try:
            self._pay(capture, request)
        except TelephonyError as error:
            logs.event(log, "agent.pay_failed", logging.ERROR, capture=capture_id, error=error)
            self._failed(capture_id, "twilio")

    def capture(self, agent: Agent, capture_id: int) -> dict[str, Any]:
        with transaction(self.factory) as db:
            return _capture_for(db, agent, capture_id)

    def _watch(self, agent: Agent, key: str, capture_id: int) -> dict[str, Any] | None:
        """The capture's state, or ``None`` once the console session ``key`` has ended (both
        read in one transaction; watching does not count as the agent doing something)."""
        with transaction(self.factory) as db:
            if session_agent(db, key, self.policy, utcnow(), extend=False) is None:
                return None
            return _capture_for(db, agent, capture_id)

    def stream(self, agent: Agent, key: str, capture_id: int) -> Iterator[str]:
        """Server-sent events: the capture's state whenever its version changes, until it ends,
        the console session ends (the browser's reconnection is then refused), or after a few
        minutes, when the browser reconnects. Checked before the first byte."""
        first = self.capture(agent, capture_id)

        def events() -> Iterator[str]:
            state: dict[str, Any] | None = first
            sent_version, quiet = 0, 0.0
            started = time.monotonic()
            while state is not None:
                if state["version"] != sent_version:
                    yield f"event: capture\ndata: {json.dumps(state)}\n\n"
                    sent_version, quiet = state["version"], 0.0
                if state["final"] or time.monotonic() - started > STREAM_SECONDS:
                    return
                if quiet >= HEARTBEAT_SECONDS:
                    yield ": still here\n\n"
                    quiet = 0.0
                time.sleep(POLL_SECONDS)
                quiet += POLL_SECONDS
                state = self._watch(agent, key, capture_id)

        return events()


def _capture_for(db: Session, agent: Agent, capture_id: int) -> dict[str, Any]:
    capture = db.get(AgentCapture, capture_id)
    if capture is None:
        raise desk.ConsoleRefusedError("There is no such payment.")
    if capture.agent_id != agent.id:
        raise desk.ConsoleRefusedError("This payment belongs to another agent.", forbidden=True)
    return capture_state(capture)
