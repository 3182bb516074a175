"""Agent-assisted payment: the caller handed to an agent, and secure capture the agent starts.

Main-menu 0 records a :class:`~ivr.models.AgentCall` (with what the IVR verified) and puts the
caller in the agents' queue. An agent claims the call in the console; only that agent may act
on it, and taking it moves caller and agent into a conference named for the call
(:mod:`ivr.channels.bridge`). "Start secure payment" records an
:class:`~ivr.models.AgentCapture` and
moves the caller's leg into the ordinary capture steps of :mod:`flows.payment` at the card
number, with the agent's amount; each field's verdict lands on the capture record
(:mod:`flows.agent_capture`), and at the end the caller hears the result and goes back into the
conference, where the agent waited on hold.

The rules here (who may see and act on a call, which amounts, which field may be asked again)
know nothing of HTTP; the console's views only call them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from flows import agent_capture
from flows.context import Context
from flows.data import AgentData, PaymentData
from flows.dispute import send_receipt
from flows.engine import Conference, Flow, Go, Hook, Queue, Step, Transfer, Turn
from flows.payment import CAPTURE, TWILIO_PAY, approval, capture_with_fee, end_capture
from ivr.config import Settings
from ivr.models import (
    Account,
    Agent,
    AgentCall,
    AgentCallStatus,
    AgentCapture,
    Arrangement,
    ArrangementInstallment,
    ArrangementStatus,
    CaptureStatus,
    Conversation,
    Dispute,
    InstallmentStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    SessionStatus,
)
from payments import ledger, methods
from payments.confirmation import SPOKEN_GROUPS
from payments.disputes import DisputeError, Scope, open_dispute, owed_cents
from payments.policy import PaymentPolicy
from prompts import Money, Prompt, SpokenDigits
from verification import find_account, lockout

TRANSFERS = ("queue", "dial")
START, CANCEL = "start", "cancel"
# What the console may ask the call to do, and the state each one enters.
ENTRIES = {
    START: "agent_capture",
    CANCEL: "agent_capture_stop",
    **{field: field for field in agent_capture.FIELDS},
}
RECENT_PAYMENTS = 5
RECENT_RECORDS = 10  # arrangements and disputes listed in the console
CONSOLE = "console"  # the channel of what an agent records in the console


class ConsoleRefusedError(Exception):
    """An agent's request that cannot be done; the message says why and what to do.

    ``forbidden`` marks a call that is not the agent's to see (403, not a mere conflict).
    """

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.forbidden = forbidden


def to_agent(conv: Conversation, ctx: Context) -> Queue | Transfer:
    """Record (or refresh) the call's handoff and say where the caller goes: the agents' queue,
    or ``AGENT_NUMBER`` by ``<Dial>`` where agents take calls on their own phone system."""
    handoff = ctx.session.scalars(
        select(AgentCall).where(AgentCall.call_sid == conv.sid).with_for_update()
    ).one_or_none()
    if handoff is None:
        handoff = AgentCall(call_sid=conv.sid, status=AgentCallStatus.WAITING)
        ctx.session.add(handoff)
    handoff.verified = conv.verified
    handoff.account_id = conv.account_id if conv.verified else None
    AgentData(conv).handed_off = True
    ctx.session.flush()
    if ctx.settings.AGENT_TRANSFER == "dial":
        return Transfer(ctx.settings.AGENT_NUMBER)
    return Queue(ctx.settings.AGENT_QUEUE)


def conference_name(call_sid: str) -> str:
    """The conference where caller ``call_sid`` and their agent meet (Twilio's friendly name)."""
    return f"pay-{call_sid}"


def _capture(ctx: Context, conv: Conversation) -> AgentCapture:
    capture = ctx.session.get(AgentCapture, AgentData(conv).capture)
    if capture is None:
        raise RuntimeError("agent capture state reached without a capture")
    return capture


class AgentCaptureStart(Step):
    """Entered by the agent's redirect: take the agent's amount and ask for the card."""

    name = ENTRIES[START]
    goes_to = (CAPTURE,)

    def prompt(self, conv: Conversation, ctx: Context) -> Go:
        capture = _capture(ctx, conv)
        PaymentData(conv).attempt = f"agent-{capture.id}"
        del AgentData(conv).resume
        agent_capture.update(capture, CaptureStatus.CAPTURING, fields=None)
        intro = Prompt("agent_capture_intro", {"amount": Money(capture.amount_cents)})
        return capture_with_fee(conv, capture.amount_cents, capture.fee_cents, None, (intro,))


class AgentCaptureStop(Step):
    """Entered by the agent's cancel: drop whatever was keyed and give the caller back."""

    name = ENTRIES[CANCEL]
    goes_to = (agent_capture.RESULT_STATE,)

    def prompt(self, conv: Conversation, ctx: Context) -> Go:
        end_capture(conv, ctx)
        return Go(agent_capture.RESULT_STATE)


class AgentCaptureResult(Step):
    """Tell the caller how it went, then back into the conference with the agent."""

    name = agent_capture.RESULT_STATE

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        capture = _capture(ctx, conv)
        del AgentData(conv).capture
        said: tuple[Prompt, ...]
        if capture.status is CaptureStatus.APPROVED:
            number = SpokenDigits(capture.confirmation_number or "", SPOKEN_GROUPS)
            said = (
                approval(capture.amount_cents, capture.fee_cents),
                Prompt("confirmation_number", {"number": number}),
            )
        else:
            said = (Prompt(capture.reason or "agent_capture_failed"),)
        room = Conference(conference_name(conv.sid))
        return Turn((*said, Prompt("returning_to_agent")), end=room)


def give_up(conv: Conversation, ctx: Context) -> Go | None:
    """A caller in an agent's capture who stops answering goes back to the agent, not off the
    line: nothing is charged and the agent is told."""
    capture = agent_capture.running(conv, ctx)
    if capture is None:
        return None
    end_capture(conv, ctx)
    agent_capture.update(capture, CaptureStatus.FAILED, reason="agent_capture_failed")
    agent_capture.record_result(ctx.session, capture, actor=f"caller:{conv.caller or 'unknown'}")
    return Go(agent_capture.RESULT_STATE)


GIVE_UP = Hook("give_up", give_up, goes_to=(agent_capture.RESULT_STATE,))
AGENT_STEPS: tuple[Step, ...] = (AgentCaptureStart(), AgentCaptureStop(), AgentCaptureResult())


def redirected(
    flow: Flow, conv: Conversation, ctx: Context, *, capture_id: int, step: str, nonce: str
) -> Turn | None:
    """Apply the console's redirect of the call (start, a field again, cancel); ``None`` for a
    repeated or out-of-date one (another capture, or one already over)."""
    token = f"{capture_id}:{step}:{nonce}"
    data = AgentData(conv)
    if step not in ENTRIES or data.capture != capture_id:
        return None
    if data.moved == token:  # the last console redirect applied: a repeat changes nothing
        return None
    data.moved = token
    if step in agent_capture.FIELDS:
        agent_capture.asking(conv, ctx, step)
    return flow.jump(conv, ctx, ENTRIES[step])


def caller_language(session: Session, call_sid: str, default: str) -> str:
    conv = session.get(Conversation, call_sid)
    return conv.language if conv is not None else default


# --- What the console may do (the views call these inside one transaction) ---


def open_calls(session: Session, agent: Agent) -> list[AgentCall]:
    """Calls waiting for any agent, and this agent's own, oldest first."""
    query = (
        select(AgentCall)
        .where(
            AgentCall.status != AgentCallStatus.ENDED,
            (AgentCall.agent_id.is_(None)) | (AgentCall.agent_id == agent.id),
        )
        .order_by(AgentCall.created_at, AgentCall.id)
    )
    return list(session.scalars(query))


def handoff_for(session: Session, agent: Agent, handoff_id: int) -> AgentCall:
    """The call if this agent may see it: waiting for anyone, or claimed by them."""
    handoff = session.get(AgentCall, handoff_id)
    if handoff is None:
        raise ConsoleRefusedError("There is no such call.")
    if handoff.agent_id is not None and handoff.agent_id != agent.id:
        raise ConsoleRefusedError("This call belongs to another agent.", forbidden=True)
    return handoff


def claim(session: Session, agent: Agent, handoff_id: int) -> AgentCall:
    """Take a waiting call; of two agents claiming at once, one gets it."""
    taken = session.execute(
        update(AgentCall)
        .where(
            AgentCall.id == handoff_id,
            AgentCall.agent_id.is_(None),
            AgentCall.status == AgentCallStatus.WAITING,
        )
        .values(agent_id=agent.id, status=AgentCallStatus.CLAIMED)
    )
    handoff = handoff_for(session, agent, handoff_id)
    session.refresh(handoff)
    if taken.rowcount == 0 and handoff.agent_id != agent.id:  # type: ignore[attr-defined]
        raise ConsoleRefusedError("This call has ended.")
    return handoff


def _own_live_call(session: Session, agent: Agent, handoff: AgentCall) -> Conversation:
    if handoff.agent_id != agent.id:
        raise ConsoleRefusedError("Claim the call first.")
    conv = session.get(Conversation, handoff.call_sid, with_for_update=True)
    if (
        handoff.status is AgentCallStatus.ENDED
        or conv is None
        or conv.status is SessionStatus.ENDED
    ):
        raise ConsoleRefusedError("The caller has hung up.")
    return conv


def latest_capture(session: Session, handoff: AgentCall) -> AgentCapture | None:
    query = (
        select(AgentCapture)
        .where(AgentCapture.handoff_id == handoff.id)
        .order_by(AgentCapture.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def start_capture(
    session: Session, settings: Settings, agent: Agent, handoff_id: int, amount_cents: int
) -> AgentCapture:
    """Record a capture of ``amount_cents`` on the agent's call (the caller is moved after
    commit). The amount obeys the same policy as a caller paying alone."""
    # Locks in the webhooks' order (call session, then handoff), so the two never deadlock.
    handoff = handoff_for(session, agent, handoff_id)
    conv = _own_live_call(session, agent, handoff)
    session.refresh(handoff, with_for_update=True)
    account = session.get(Account, handoff.account_id) if handoff.account_id else None
    if account is None or not handoff.verified:
        raise ConsoleRefusedError("The caller is not verified, so the IVR cannot take a payment.")
    moves_caller = settings.CAPTURE_MODE != TWILIO_PAY
    if moves_caller and not (handoff.bridged and handoff.conference_sid):
        # Only the conference keeps the agent on the line while the caller's leg is away.
        raise ConsoleRefusedError(
            "The caller and you are not connected in the call's conference yet: answer the "
            "call on your phone (it joins you to the conference), then try again."
        )
    running = latest_capture(session, handoff)
    if running is not None and running.status not in agent_capture.FINAL:
        raise ConsoleRefusedError("A secure payment is already in progress on this call.")
    declines = ledger.DeclineLimits.from_settings(settings)
    if ledger.decline_limit(session, account.id, conv.sid, declines) is not None:
        raise ConsoleRefusedError(_DECLINE_LIMIT)
    policy = PaymentPolicy.from_settings(settings)
    payable = ledger.payable_cents(session, account, settings.RECONNECTION_FEE_CENTS)
    error = policy.check(amount_cents, payable)
    if error is not None:
        limit = {
            "amount_too_small": policy.min_cents,
            "amount_too_large": policy.max_cents,
            "amount_over_balance": max(payable, 0),
        }[error.value]
        raise ConsoleRefusedError(f"{_AMOUNT_REFUSALS[error.value]} {Money(limit).write('en-US')}.")
    capture = AgentCapture(
        handoff_id=handoff.id,
        call_sid=conv.sid,
        agent_id=agent.id,
        account_id=account.id,
        amount_cents=amount_cents,
        fee_cents=policy.fee(amount_cents),
        mode=settings.CAPTURE_MODE,
        status=CaptureStatus.CONNECTING,
        fields=agent_capture.fresh_fields(),
        version=1,
    )
    session.add(capture)
    session.flush()
    if capture.mode == TWILIO_PAY:
        # Twilio charges when the last field is in: the ledger row must exist before that.
        new = ledger.NewPayment(
            account_id=account.id,
            amount_cents=capture.amount_cents,
            fee_cents=capture.fee_cents,
            idempotency_key=f"{conv.sid}:agent-{capture.id}",
            channel=conv.channel,
            session_sid=conv.sid,
            gateway=TWILIO_PAY,
        )
        try:
            payment = ledger.begin(
                session,
                new,
                allow_overpayment=settings.ALLOW_OVERPAYMENT,
                declines=declines,
                reconnection_fee_cents=settings.RECONNECTION_FEE_CENTS,
            )
        except ledger.DeclineLimitError:
            raise ConsoleRefusedError(_DECLINE_LIMIT) from None
        except ledger.PaymentRefusedError:
            raise ConsoleRefusedError("Another payment on this account is in progress.") from None
        capture.payment_id = payment.id
    else:
        AgentData(conv).capture = capture.id
        handoff.agent_held = True  # the console holds the agent before moving the caller
    return capture


_DECLINE_LIMIT = (
    "Too many cards have been declined on this call, or on this account in the last 24 hours, "
    "so no more cards can be tried: offer the caller more time to pay, or to try again tomorrow."
)
_AMOUNT_REFUSALS = {
    "amount_too_small": "The smallest payment by phone is",
    "amount_too_large": "The largest payment by phone is",
    "amount_over_balance": "That is more than can be paid now:",
}


def _own_running_capture(session: Session, agent: Agent, capture_id: int) -> AgentCapture:
    capture = session.get(AgentCapture, capture_id, with_for_update=True, populate_existing=True)
    if capture is None:
        raise ConsoleRefusedError("There is no such payment.")
    if capture.agent_id != agent.id:
        raise ConsoleRefusedError("This payment belongs to another agent.", forbidden=True)
    if capture.status in agent_capture.FINAL:
        raise ConsoleRefusedError("This payment is already over.")
    if capture.status is CaptureStatus.AUTHORIZING:
        raise ConsoleRefusedError("The card is being charged; wait for the result.")
    return capture


def rerequest(session: Session, agent: Agent, capture_id: int, field: str) -> AgentCapture:
    """Ask the caller for ``field`` again. Only a field already keyed can be asked again; the
    caller then returns to where they were (the card number starts the capture over)."""
    peek = session.get(AgentCapture, capture_id)
    # The call session first, then the capture: the order the caller's webhooks lock them in.
    conv = session.get(Conversation, peek.call_sid, with_for_update=True) if peek else None
    capture = _own_running_capture(session, agent, capture_id)
    if field not in agent_capture.FIELDS:
        raise ConsoleRefusedError("There is no such card field.")
    if capture.fields[field]["status"] not in (agent_capture.VALID, agent_capture.INVALID):
        raise ConsoleRefusedError("That field has not been keyed yet.")
    if conv is None or conv.status is SessionStatus.ENDED:
        raise ConsoleRefusedError("The caller has hung up.")
    if capture.mode == TWILIO_PAY:
        agent_capture.update(capture, fields={field: (agent_capture.ENTERING, None)})
        return capture
    if field != agent_capture.FIELDS[0] and conv.state != field:
        AgentData(conv).resume = conv.state
    agent_capture.update(capture)
    return capture


def cancel(session: Session, agent: Agent, capture_id: int) -> AgentCapture:
    """Stop the capture: nothing is charged and the caller is told so."""
    capture = _own_running_capture(session, agent, capture_id)
    if capture.mode == TWILIO_PAY and capture.payment_id is not None:
        ledger.settle(session, capture.payment_id, agent_capture.NOT_CHARGED)
    agent_capture.update(capture, CaptureStatus.CANCELLED, reason="agent_capture_cancelled")
    agent_capture.record_result(session, capture, actor=f"agent:{agent.username}")
    return capture


@dataclass(frozen=True)
class ArrangementLine:
    """An arrangement as the console lists it: its terms, and the next installment unmet."""

    arrangement: Arrangement
    paid: int
    installments: int
    next_installment: ArrangementInstallment | None


@dataclass(frozen=True)
class SavedMethod:
    """A saved card, masked to brand, last four and expiry, and whether it may be charged."""

    brand: str
    last4: str
    expiry: str
    state: str  # active, expired or removed


@dataclass(frozen=True)
class AccountSummary:
    """What the console shows of an account: balance and recent payments, cards masked, its
    arrangements, disputes (open and resolved), verification locks and saved cards."""

    account: Account
    payments: list[Payment]
    locks: list[lockout.Lock]  # verification locks in force on the account number
    arrangements: list[ArrangementLine]
    disputes: list[Dispute]
    methods: list[SavedMethod]
    disputable_cents: int  # owed and not yet in dispute: the most a new dispute may hold


def _arrangement_line(made: Arrangement) -> ArrangementLine:
    paid = sum(1 for i in made.installments if i.status is InstallmentStatus.PAID)
    unmet = [i for i in made.installments if i.status is InstallmentStatus.SCHEDULED]
    following = unmet[0] if made.status is ArrangementStatus.ACTIVE and unmet else None
    return ArrangementLine(made, paid, len(made.installments), following)


def _saved_method(method: PaymentMethod, today: dt.date) -> SavedMethod:
    expired = (method.exp_year, method.exp_month) < (today.year, today.month)
    state = "removed" if method.removed_at else "expired" if expired else "active"
    return SavedMethod(
        method.brand, method.last4, f"{method.exp_month:02d}/{method.exp_year}", state
    )


def account_summary(session: Session, account: Account, now: dt.datetime) -> AccountSummary:
    query = (
        select(Payment)
        .where(Payment.account_id == account.id, Payment.status != PaymentStatus.PENDING)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(RECENT_PAYMENTS)
    )
    locks = lockout.locks(session, now, [lockout.account_subject(account.number)])
    made = session.scalars(
        select(Arrangement)
        .where(Arrangement.account_id == account.id)
        .options(selectinload(Arrangement.installments))
        .order_by(Arrangement.created_at.desc(), Arrangement.id.desc())
        .limit(RECENT_RECORDS)
    )
    disputed = session.scalars(
        select(Dispute)
        .where(Dispute.account_id == account.id)
        .order_by(Dispute.created_at.desc(), Dispute.id.desc())
        .limit(RECENT_RECORDS)
    )
    today = account.local_date(now)
    return AccountSummary(
        account,
        list(session.scalars(query)),
        locks,
        [_arrangement_line(arrangement) for arrangement in made],
        list(disputed),
        [_saved_method(method, today) for method in methods.on_file(session, account.id)],
        max(owed_cents(session, account), 0),
    )


def caller_locks(session: Session, handoff: AgentCall, now: dt.datetime) -> list[lockout.Lock]:
    """Verification locks in force on the phone the call comes from (or on the withheld-number
    pool), so the agent knows why the IVR turned the caller away."""
    conv = session.get(Conversation, handoff.call_sid)
    if conv is None:
        return []
    return lockout.locks(session, now, [lockout.caller_or_pool(conv.caller)])


def lift_lock(
    session: Session, settings: Settings, agent: Agent, subject: str, handoff_id: int | None
) -> str:
    """Lift a lock the console shows the agent, once they have verified the caller themselves:
    an account's, or the one on the phone of a call they have taken; the withheld-number pool
    is every hidden caller's, so only an operator lifts it. Audited with the agent's name (by
    :func:`verification.lockout.lift`, as ``ivr locks clear``). Returns the subject lifted."""
    try:
        named = lockout.parse_subject(subject, settings.DEFAULT_REGION)
    except ValueError:
        raise ConsoleRefusedError("There is no such lock.") from None
    if named == lockout.ANONYMOUS:
        raise ConsoleRefusedError(
            "Every caller who withholds their number shares this lock, so only an operator "
            "lifts it (ivr locks clear caller:anonymous)."
        )
    if named.startswith("caller:"):
        handoff = handoff_for(session, agent, handoff_id) if handoff_id else None
        conv = session.get(Conversation, handoff.call_sid) if handoff else None
        mine = handoff is not None and handoff.agent_id == agent.id
        if not (mine and conv is not None and lockout.caller_or_pool(conv.caller) == named):
            raise ConsoleRefusedError(
                "Only the lock on the phone of a call you have taken can be lifted here.",
                forbidden=True,
            )
    elif find_account(session, named.removeprefix("account:")) is None:
        raise ConsoleRefusedError("There is no such account.")
    if not lockout.lift(session, named, actor=f"agent:{agent.username}"):
        raise ConsoleRefusedError(f"{named} has no lock to lift.")
    return named


def record_dispute(
    session: Session,
    settings: Settings,
    agent: Agent,
    handoff_id: int,
    amount_cents: int,
    now: dt.datetime,
) -> Dispute:
    """Record a dispute of ``amount_cents`` for the account of the agent's verified call, as
    the caller's own dispute by phone is recorded (the whole amount owed, or part of it), and
    send the caller its reference number the same way."""
    handoff = handoff_for(session, agent, handoff_id)
    if handoff.agent_id != agent.id:
        raise ConsoleRefusedError("Claim the call first.")
    account = session.get(Account, handoff.account_id) if handoff.account_id else None
    if account is None or not handoff.verified:
        raise ConsoleRefusedError("The caller is not verified, so no dispute can be recorded.")
    owed = owed_cents(session, account)
    scope = Scope.BALANCE if amount_cents == owed else Scope.AMOUNT
    try:
        dispute = open_dispute(
            session,
            account.id,
            amount_cents,
            scope,
            channel=CONSOLE,
            session_sid=handoff.call_sid,
            actor=f"agent:{agent.username}",
            now=now,
        )
    except DisputeError:
        most = Money(max(owed, 0)).write("en-US")
        raise ConsoleRefusedError(f"Up to {most} can be disputed on this account.") from None
    conv = session.get(Conversation, handoff.call_sid)
    if conv is not None:
        send_receipt(session, conv, account, dispute, settings.COMPANY_NAME)
    return dispute
