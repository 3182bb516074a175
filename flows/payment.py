"""Paying by phone (DESIGN.md steps 4-5): amount, card capture, read-back, authorization,
confirmation number, and what to do after a decline.

The flow never holds card data: each card field goes straight to the capture vault in
``payments/``, and the flow keeps only the verdict, brand and last four. Authorization is split
from the caller's "1 to confirm": that webhook commits a pending payment and answers "one
moment" with a redirect (``Turn.resume``); on the redirected request the ``authorizing`` step
asks for the charge as a value on its turn (``Turn.authorize``), which the channel hands to
:meth:`payments.service.PaymentService.authorize` outside any transaction, and then goes on
with the settled row (:class:`~flows.engine.Authorized`). No step moves money itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from flows import agent_capture
from flows.balance import balance_now, due_now
from flows.context import Context, phrase, verified_account
from flows.data import Pay, PaymentData
from flows.engine import (
    Ask,
    Authorized,
    Finish,
    Go,
    PayResult,
    Repeat,
    Resume,
    Retry,
    SecureCapture,
    Step,
    Turn,
    goodbye,
)
from flows.receipts import email_receipt, masked_email, payment_receipt, text_recipient
from ivr import outbox
from ivr.models import (
    AccountStatus,
    Conversation,
    PayLink,
    Payment,
    PaymentMethod,
    PaymentStatus,
    ReconnectionRequest,
)
from payments import ledger, methods, paylinks
from payments.amounts import AmountsDue
from payments.capture import FieldVerdict
from payments.cards import Brand, code_length
from payments.confirmation import SPOKEN_GROUPS
from payments.gateways import DeclineReason
from payments.ledger import DeclineScope
from payments.policy import AmountError, parse_amount
from payments.service import Authorize, PaymentSource, SavedCard
from prompts import Money, Prompt, SpokenDate, SpokenDigits, render
from verification import readable_phone

RECEIPT = "payment_receipt"
PAY_METHOD = "pay_method"  # by phone: a saved card, another card, or a link by text
RECONNECTED = "reconnection_requested"
TWILIO_PAY = "twilio-pay"
DECLINE_LIMIT = "decline_limit"


def _amount_refusal(ctx: Context, error: AmountError, payable: int) -> Prompt:
    policy = ctx.payment_policy
    limit = {
        AmountError.TOO_SMALL: policy.min_cents,
        AmountError.TOO_LARGE: policy.max_cents,
        AmountError.OVER_BALANCE: max(payable, 0),
    }[error]
    return phrase(error.value, amount=Money(limit))


def _twilio_pay(ctx: Context) -> bool:
    """Card capture by Twilio's ``<Pay>`` (and its connector) rather than by our own steps."""
    return ctx.settings.CAPTURE_MODE == TWILIO_PAY


CAPTURE = "capture"  # where card details are taken: each channel's flow has its own step
STARTS_CAPTURE = (DECLINE_LIMIT, CAPTURE)  # where start_capture goes
# Where a settled payment goes on to: its receipt or the step that asked for it (an
# arrangement's down payment), another try, or the menu when the bank's answer is unknown.
SETTLED = (RECEIPT, RECONNECTED, "arrangement_down_paid", "payment_declined", "main_menu")


def _decline_limit(conv: Conversation, ctx: Context) -> DeclineScope | None:
    """The decline limit this call (or text conversation) or its account has reached."""
    account = verified_account(conv)
    return ledger.decline_limit(ctx.session, account.id, conv.sid, ctx.decline_limits)


def _refuse_card(conv: Conversation, ctx: Context) -> DeclineScope | None:
    """:func:`_decline_limit`, audited: the caller asked to pay by card."""
    account = verified_account(conv)
    return ledger.refuse_card(ctx.session, account, conv.channel, conv.sid, ctx.decline_limits)


def decline_limit_reached(scope: DeclineScope, *said: Prompt) -> Go:
    """No more cards are tried: say why, and offer a representative."""
    return Go(DECLINE_LIMIT, (*said, phrase(f"decline_limit_{scope.value}")))


def start_capture(conv: Conversation, ctx: Context, amount: int, then: str = RECEIPT) -> Go:
    """Take ``amount`` by card through the capture steps, announcing any fee first; once it is
    approved the flow goes on to step ``then`` (another flow's, for a down payment). Past a
    decline limit no card is asked for at all."""
    scope = _refuse_card(conv, ctx)
    if scope is not None:
        return decline_limit_reached(scope)
    return capture_with_fee(conv, amount, ctx.payment_policy.fee(amount), then)


def capture_with_fee(
    conv: Conversation, amount: int, fee: int, then: str | None, said: tuple[Prompt, ...] = ()
) -> Go:
    """The one place a fee is announced, with the total, before any card field, for every
    path (keypad, ``<Pay>``, a saved card or a link by text, an agent's capture): the channel's
    capture step then lets the caller decline it. ``then`` is ``None`` for an agent's capture,
    which goes back to the agent instead."""
    pay: Pay = {"amount": amount, "fee": fee}
    if then is not None:
        pay["then"] = then
    PaymentData(conv).pay = pay
    notice = (phrase("fee_notice", fee=Money(fee), total=Money(amount + fee)),) if fee else ()
    return Go(CAPTURE, (*said, *notice))


def approval(amount: int, fee: int) -> Prompt:
    """What an approval says: the payment, and the fee apart from it."""
    if not fee:
        return phrase("payment_approved", amount=Money(amount))
    return phrase(
        "payment_approved_with_fee", amount=Money(amount), fee=Money(fee), total=Money(amount + fee)
    )


def choose_amount(conv: Conversation, ctx: Context, amount: int) -> Go | Retry:
    """Accept ``amount`` if policy allows, and move on to capture. A disconnected account's
    payment may pay for reconnecting: the caller then hears what happens next."""
    account = verified_account(conv)
    payable = ledger.payable_cents(ctx.session, account, ctx.settings.RECONNECTION_FEE_CENTS)
    error = ctx.payment_policy.check(amount, payable)
    if error is not None:
        return Retry(_amount_refusal(ctx, error, payable))
    disconnected = account.status is AccountStatus.DISCONNECTED
    return start_capture(conv, ctx, amount, RECONNECTED if disconnected else RECEIPT)


@dataclass(frozen=True)
class Offer:
    """An amount the pay menu offers at a key, and the catalog key that offers it."""

    cents: int
    key: str
    params: dict[str, Money | SpokenDate] = field(default_factory=dict)


def pay_offers(due: AmountsDue) -> list[Offer]:
    """At most two offers, at keys 1 and 2 (3 is another amount), most pressing first: the
    reconnection, else a plan's installment, then the balance; else the minimum; with nothing
    else to pay, the disputed amount, which a caller may still pay."""
    full = Offer(due.full_cents, "pay_menu_full", {"amount": Money(due.full_cents)})
    if due.confirming_cents:
        confirming = Money(due.confirming_cents)
        full = Offer(
            due.full_cents, "pay_menu_confirming", {**full.params, "confirming": confirming}
        )
    if due.reconnect_fee_cents:
        fee = Money(due.reconnect_fee_cents)
        if not due.full_cents:
            return [Offer(due.reconnect_cents, "pay_menu_reconnect_fee", {"fee": fee})]
        amount = Money(due.reconnect_cents)
        return [
            Offer(due.reconnect_cents, "pay_menu_reconnect", {"amount": amount, "fee": fee}),
            full,
        ]
    if due.installment is not None:
        plan = due.installment
        date = SpokenDate(plan.date)
        first = Offer(
            plan.amount_cents,
            "pay_menu_installment",
            {"amount": Money(plan.amount_cents), "date": date},
        )
        return [first, full] if plan.amount_cents < due.full_cents else [first]
    if due.full_cents > 0:
        minimum = Offer(due.minimum_cents, "pay_menu_minimum", {"amount": Money(due.minimum_cents)})
        return [full, minimum] if 0 < due.minimum_cents < due.full_cents else [full]
    if due.disputed_cents > 0 and due.with_disputed_cents > 0:
        disputed = Money(due.with_disputed_cents)
        return [Offer(due.with_disputed_cents, "pay_menu_disputed", {"amount": disputed})]
    return []


def _card_step(ctx: Context) -> str:
    return "pay_verb" if _twilio_pay(ctx) else "card_number"


class CaptureMethod(Step):
    """Card details by our own keypad steps, or by Twilio's ``<Pay>``; with a fee (just
    announced by :func:`capture_with_fee`), only once the caller accepts it. Declining charges
    nothing: the caller goes back to the menu, or to the agent who started the capture."""

    name = CAPTURE
    goes_to = ("card_number", "pay_verb", PAY_METHOD, "main_menu", agent_capture.RESULT_STATE)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        pay = PaymentData(conv).pay
        if not pay["fee"]:
            return self._accepted(conv, ctx)
        key = "fee_choice_agent" if agent_capture.running(conv, ctx) else "fee_choice"
        return Turn((phrase(key, total=Money(pay["amount"] + pay["fee"])),), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "1":
            return self._accepted(conv, ctx)
        if digits == "2":
            return _abandon_capture(conv, ctx, agent_capture.FEE_DECLINED)
        return Retry(phrase("invalid_choice"))

    def _accepted(self, conv: Conversation, ctx: Context) -> Go:
        """An agent's capture takes a card as keyed; a caller alone may choose a saved one."""
        return Go(_card_step(ctx) if agent_capture.running(conv, ctx) else PAY_METHOD)


def saved_card(conv: Conversation, ctx: Context) -> PaymentMethod | None:
    """The saved card to offer: the latest consented one that is not removed or expired."""
    account = verified_account(conv)
    found = methods.usable(ctx.session, account.id, account.local_date(ctx.now))
    return found[0] if found else None


def pay_with_saved(conv: Conversation, ctx: Context, saved: PaymentMethod, key: str) -> Go:
    """Begin the chosen payment on ``saved`` (idempotency ``key``): ``authorizing`` charges it
    through the one payment path, by text or by phone."""
    try:
        payment = _begin(conv, ctx, saved.brand, saved.last4, gateway=saved.gateway, key=key)
    except ledger.DeclineLimitError as refused:
        return decline_limit_reached(refused.scope)
    except ledger.PaymentRefusedError:
        return Go("main_menu", (phrase("payment_in_progress"),))
    data = PaymentData(conv)
    data.payment_id = payment.id
    data.pay = {**data.pay, "saved_method": saved.id}
    return Go("authorizing")


def new_pay_link(conv: Conversation, ctx: Context, phone: str | None) -> tuple[PayLink, str]:
    """A one-time link to the pay page for the chosen amount, and its address (said once)."""
    pay = PaymentData(conv).pay
    link, token = paylinks.create(
        ctx.session,
        ctx.settings.SECRET_KEY,
        paylinks.NewLink(
            verified_account(conv).id, pay["amount"], pay["fee"], phone, conv.language
        ),
        now=ctx.now,
        ttl=dt.timedelta(minutes=ctx.settings.PAYLINK_TTL_MINUTES),
    )
    return link, paylinks.url_for(ctx.settings.PUBLIC_BASE_URL, token)


def total(conv: Conversation) -> Money:
    """The chosen amount with its fee: what a saved card or a link charges."""
    pay = PaymentData(conv).pay
    return Money(pay["amount"] + pay["fee"])


class PayMethod(Step):
    """By phone, once the amount (and any fee) is agreed: a saved card (1), another card (2),
    or a one-time pay link by text (3) when the account has a phone that takes texts. With no
    saved card, the card is asked for straight away, as before: asking would lengthen the
    time to pay, so the link is then offered at the pay menu instead (4)."""

    name = PAY_METHOD
    goes_to = ("card_number", "pay_verb", "authorizing", DECLINE_LIMIT, "main_menu")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        phone = text_recipient(ctx.session, conv, verified_account(conv))
        if PaymentData(conv).pay.get("by_link") and phone is not None:
            return self._link_by_text(conv, ctx, phone)  # asked for at the pay menu
        saved = saved_card(conv, ctx)
        if saved is None:
            return self._new_card(conv, ctx)
        brand, last4 = phrase(f"brand_{saved.brand}"), SpokenDigits(saved.last4)
        said = [phrase("pay_saved_choice", brand=brand, last4=last4)]
        if phone is not None:
            said.append(phrase("pay_link_choice"))
        return Turn(tuple(said), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        saved = saved_card(conv, ctx)
        if digits == "1" and saved is not None:
            return pay_with_saved(conv, ctx, saved, _idempotency_key(conv))
        if digits == "2":
            return self._new_card(conv, ctx)
        phone = text_recipient(ctx.session, conv, verified_account(conv))
        if digits == "3" and phone is not None:
            return self._link_by_text(conv, ctx, phone)
        return Retry(phrase("invalid_choice"))

    def _new_card(self, conv: Conversation, ctx: Context) -> Go:
        data = PaymentData(conv)
        pay = data.pay.copy()
        pay.pop("saved_method", None)  # after a declined saved card, the card keyed now
        data.pay = pay
        return Go(_card_step(ctx))

    def _link_by_text(self, conv: Conversation, ctx: Context, phone: str) -> Go:
        _, url = new_pay_link(conv, ctx, phone)
        minutes = ctx.settings.PAYLINK_TTL_MINUTES
        sent = phrase("text_paylink_sent", amount=total(conv), url=url, minutes=minutes)
        outbox.enqueue(ctx.session, "sms", phone, render(sent, conv.language, medium="text"))
        last4 = SpokenDigits(phone[-4:])
        return Go("main_menu", (phrase("pay_link_texted", last4=last4, minutes=minutes),))


class PayMenu(Step):
    """What can be paid now, each at its key (see :func:`pay_offers`), another amount, a link
    by text for the first amount (on a call), or back."""

    name = "pay_menu"
    goes_to = ("main_menu", "enter_amount", *STARTS_CAPTURE)  # 4: a link, through CAPTURE

    def __init__(self, links: bool = False) -> None:
        """``links``: a call, which may ask for a pay link by text (a text has one anyway)."""
        self.links = links

    def _link_phone(self, conv: Conversation, ctx: Context) -> str | None:
        if not self.links:
            return None
        return text_recipient(ctx.session, conv, verified_account(conv))

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        due = due_now(ctx, verified_account(conv))
        offers = pay_offers(due)
        if not offers:
            if due.confirming_cents:
                confirming = Money(due.confirming_cents)
                return Go(
                    "main_menu", (phrase("payment_confirming_nothing_due", amount=confirming),)
                )
            return Go("main_menu", (phrase("no_balance"),))
        say = [phrase(o.key, **o.params, digit=n) for n, o in enumerate(offers, start=1)]
        if self._link_phone(conv, ctx) is not None:
            say.append(phrase("pay_menu_link", amount=Money(offers[0].cents)))
        # The key pays the amount just heard; the ledger re-checks it under the account lock.
        PaymentData(conv).offered = [offer.cents for offer in offers]
        return Turn((*say, phrase("pay_menu_other")), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        # A call that reached the menu before offers were kept has them worked out again.
        offered = PaymentData(conv).offered
        if offered is None:
            offered = [o.cents for o in pay_offers(due_now(ctx, verified_account(conv)))]
        if digits in ("1", "2") and int(digits) <= len(offered) and offered[int(digits) - 1] > 0:
            return choose_amount(conv, ctx, offered[int(digits) - 1])
        if digits == "3":
            return Go("enter_amount")
        if digits == "4" and offered and self._link_phone(conv, ctx) is not None:
            return self._by_link(conv, ctx, offered[0])
        if digits == "*":
            return Go("main_menu")
        return Retry(phrase("invalid_choice"))

    def _by_link(self, conv: Conversation, ctx: Context, amount: int) -> Go | Retry:
        """The first amount offered, as any amount chosen (its fee said, the decline limits
        checked), to be paid through a link by text rather than a card keyed now."""
        chosen = choose_amount(conv, ctx, amount)
        if isinstance(chosen, Go) and chosen.state == CAPTURE:
            data = PaymentData(conv)
            data.pay = {**data.pay, "by_link": True}
        return chosen


class EnterAmount(Step):
    name = "enter_amount"
    goes_to = STARTS_CAPTURE

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return Turn((phrase("enter_amount"),), Ask(max_digits=12, finish_on_key="#", timeout=10))

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        amount = parse_amount(digits)
        if amount is None:
            return Retry(phrase("amount_invalid"))
        return choose_amount(conv, ctx, amount)


def _field_retry(verdict: FieldVerdict) -> Retry:
    assert verdict.error is not None
    return Retry(phrase(f"card_{verdict.error.value}"))


class CaptureStep(Step):
    """A card field. ``*`` anywhere wipes what was entered and starts over at the number."""

    next_state: str
    # The next field, or back to a field or the read-back the agent asked for again.
    goes_to = (*agent_capture.FIELDS, "pay_confirm")

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if "*" in digits:
            ctx.vault.wipe(conv.sid)
            agent_capture.restarted(conv, ctx)
            return Go("card_number", (phrase("capture_restart"),))
        verdict = self.accept(conv, ctx, digits)
        target = agent_capture.field_checked(conv, ctx, self.name, verdict, self.next_state)
        return Go(target) if verdict.ok else _field_retry(verdict)

    def accept(self, conv: Conversation, ctx: Context, digits: str) -> FieldVerdict:
        raise NotImplementedError


class CardNumber(CaptureStep):
    name = "card_number"
    next_state = "card_expiry"

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        say = [phrase("enter_card_number")]
        data = PaymentData(conv)
        if not data.recording_paused:
            if ctx.recording is not None:
                ctx.recording.pause_recording(conv.sid)
            data.recording_paused = True
            say.insert(0, phrase("capture_intro"))
        return Turn(tuple(say), Ask(max_digits=20, finish_on_key="#", timeout=15))

    def accept(self, conv: Conversation, ctx: Context, digits: str) -> FieldVerdict:
        verdict = ctx.vault.enter_number(conv.sid, digits)
        if verdict.ok and verdict.brand is not None:
            PaymentData(conv).card = {"brand": verdict.brand.value, "last4": verdict.last4}
        return verdict


class CardExpiry(CaptureStep):
    name = "card_expiry"
    next_state = "card_code"

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return Turn((phrase("enter_card_expiry"),), Ask(max_digits=4, timeout=10))

    def accept(self, conv: Conversation, ctx: Context, digits: str) -> FieldVerdict:
        today = verified_account(conv).local_date(ctx.now)
        return ctx.vault.enter_expiry(conv.sid, digits, today=today)


class CardCode(CaptureStep):
    name = "card_code"
    next_state = "card_zip"

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        brand = Brand(PaymentData(conv).card["brand"])
        key = "enter_card_code_front" if brand is Brand.AMEX else "enter_card_code_back"
        return Turn((phrase(key),), Ask(max_digits=code_length(brand), timeout=10))

    def accept(self, conv: Conversation, ctx: Context, digits: str) -> FieldVerdict:
        return ctx.vault.enter_code(conv.sid, digits)


class CardZip(CaptureStep):
    name = "card_zip"
    next_state = "pay_confirm"

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return Turn((phrase("enter_card_zip"),), Ask(max_digits=5, timeout=10))

    def accept(self, conv: Conversation, ctx: Context, digits: str) -> FieldVerdict:
        return ctx.vault.enter_zip(conv.sid, digits)


def _resume_recording(conv: Conversation, ctx: Context) -> None:
    data = PaymentData(conv)
    paused = data.recording_paused
    del data.recording_paused
    if paused and ctx.recording is not None:
        ctx.recording.resume_recording(conv.sid)


def end_capture(conv: Conversation, ctx: Context) -> None:
    """Nothing will be charged: wipe the card fields and resume recording."""
    ctx.vault.wipe(conv.sid)
    _resume_recording(conv, ctx)


def _abandon_capture(conv: Conversation, ctx: Context, reason: str, alone: Go | None = None) -> Go:
    """Back to the agent who started the capture, or else to ``alone`` (the menu), saying why."""
    end_capture(conv, ctx)
    return agent_capture.abandoned(conv, ctx, reason) or alone or Go("main_menu", (phrase(reason),))


def _idempotency_key(conv: Conversation) -> str:
    """One key per call and attempt: a replayed webhook maps to the same payment."""
    return f"{conv.sid}:{PaymentData(conv).attempt}"


def _begin(
    conv: Conversation,
    ctx: Context,
    brand: str | None,
    last4: str | None,
    *,
    gateway: str | None = None,
    key: str | None = None,
) -> Payment:
    """A pending payment of the chosen amount; ``gateway`` and ``key`` for a saved card."""
    pay = PaymentData(conv).pay
    return ledger.begin(
        ctx.session,
        ledger.NewPayment(
            account_id=verified_account(conv).id,
            amount_cents=pay["amount"],
            fee_cents=pay["fee"],
            idempotency_key=key or _idempotency_key(conv),
            channel=conv.channel,
            session_sid=conv.sid,
            gateway=gateway or (TWILIO_PAY if _twilio_pay(ctx) else ctx.settings.PAYMENT_GATEWAY),
            brand=brand,
            last4=last4,
        ),
        allow_overpayment=ctx.settings.ALLOW_OVERPAYMENT,
        declines=ctx.decline_limits,
        reconnection_fee_cents=ctx.settings.RECONNECTION_FEE_CENTS,
    )


class PayConfirm(Step):
    """Read back card and amount; 1 confirms, 2 cancels."""

    name = "pay_confirm"
    goes_to = ("authorizing", DECLINE_LIMIT, "main_menu", agent_capture.RESULT_STATE)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        data = PaymentData(conv)
        pay, card = data.pay, data.card
        params = {
            "brand": phrase(f"brand_{card['brand']}"),
            "last4": SpokenDigits(card["last4"]),
            "amount": Money(pay["amount"]),
        }
        if pay["fee"]:
            readback = phrase(
                "pay_readback_with_fee",
                **params,
                fee=Money(pay["fee"]),
                total=Money(pay["amount"] + pay["fee"]),
            )
        else:
            readback = phrase("pay_readback", **params)
        return Turn((readback,), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "1":
            card = PaymentData(conv).card
            try:
                payment = _begin(conv, ctx, card["brand"], card["last4"])
            except ledger.DeclineLimitError as refused:
                reason = f"decline_limit_{refused.scope.value}"
                return _abandon_capture(conv, ctx, reason, decline_limit_reached(refused.scope))
            except ledger.PaymentRefusedError:
                return _abandon_capture(conv, ctx, "payment_in_progress")
            PaymentData(conv).payment_id = payment.id
            agent_capture.authorizing(conv, ctx, payment)
            return Go("authorizing")
        if digits == "2":
            return _abandon_capture(conv, ctx, "pay_cancelled")
        return Retry(phrase("invalid_choice"))


def _after_settlement(
    conv: Conversation, ctx: Context, payment: Payment, with_agent: bool = True
) -> Go:
    _resume_recording(conv, ctx)
    data = PaymentData(conv)
    data.payment_id = payment.id
    back_to_agent = agent_capture.settled(conv, ctx, payment) if with_agent else None
    if back_to_agent is not None:
        return back_to_agent
    if payment.status is PaymentStatus.APPROVED:
        then = data.pay.get("then", RECEIPT)
        return Go(then, (approval(payment.amount_cents, payment.fee_cents),))
    if payment.status in (PaymentStatus.DECLINED, PaymentStatus.FAILED):
        return Go("payment_declined")
    return Go("main_menu", (phrase("payment_unknown"),))


def _source(conv: Conversation, ctx: Context) -> PaymentSource | None:
    """The card the pending payment is charged with: the saved method chosen, else
    the card keyed into this call's vault (its row, as the channel read it)."""
    method_id = PaymentData(conv).pay.get("saved_method")
    if method_id is None:
        return ctx.vault.captured(conv.sid)
    method = ctx.session.get(PaymentMethod, method_id)
    return SavedCard(method.gateway_token) if method else None


class Authorizing(Step):
    """Says "one moment" and comes straight back, asks the channel to charge the payment, and
    goes on with the answer."""

    name = "authorizing"

    def __init__(self, with_agent: bool = True) -> None:
        """``with_agent``: an agent may have started the capture (never on a text), and
        then hears how it went."""
        self.with_agent = with_agent
        self.goes_to = (*SETTLED, agent_capture.RESULT_STATE) if with_agent else SETTLED

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return Turn((phrase("processing"),), resume=True)

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Repeat:
        return Repeat()

    def on_event(
        self, conv: Conversation, ctx: Context, event: Resume | PayResult | Authorized
    ) -> Go | Repeat | Authorize:
        if isinstance(event, Authorized):
            if event.payment.status is PaymentStatus.PENDING:
                return Repeat()
            return _after_settlement(conv, ctx, event.payment, self.with_agent)
        source = _source(conv, ctx) if isinstance(event, Resume) else None
        if source is None:
            return Repeat()
        # Whether an earlier try settled it already is for the payment service to say.
        return Authorize(PaymentData(conv).payment_id, source)


class PayVerb(Step):
    """``CAPTURE_MODE=twilio-pay``: Twilio's ``<Pay>`` captures and charges; we settle it."""

    name = "pay_verb"
    goes_to = (DECLINE_LIMIT, *SETTLED, agent_capture.RESULT_STATE)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        pay = PaymentData(conv).pay
        try:
            payment = _begin(conv, ctx, None, None)
        except ledger.DeclineLimitError as refused:
            return decline_limit_reached(refused.scope)
        except ledger.PaymentRefusedError:
            return Go("main_menu", (phrase("payment_in_progress"),))
        PaymentData(conv).payment_id = payment.id
        description = f"Account {verified_account(conv).last4} payment {payment.id}"
        charge = SecureCapture(pay["amount"] + pay["fee"], description, ctx.settings.PAY_CONNECTOR)
        return Turn((), pay=charge)

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Repeat:
        return Repeat()

    def on_event(
        self, conv: Conversation, ctx: Context, event: Resume | PayResult | Authorized
    ) -> Go | Repeat | Authorize:
        if isinstance(event, PayResult):
            return Authorize(PaymentData(conv).payment_id, event.paid)
        if not isinstance(event, Authorized):
            return Repeat()
        if event.payment.decline_reason == DeclineReason.CANCELLED.value:
            return Go("main_menu", (phrase("pay_cancelled"),))
        return _after_settlement(conv, ctx, event.payment)


class PaymentReceipt(Step):
    """The confirmation number, slowly, with the new balance; 1 repeats, 2 texts it, 3 emails
    it (offered when the account has an email), 4 saves the card (when it can be saved)."""

    name = RECEIPT
    goes_to = (RECEIPT, "main_menu")

    def _payment(self, conv: Conversation, ctx: Context) -> Payment:
        payment = ctx.session.get(Payment, PaymentData(conv).payment_id)
        assert payment is not None and payment.confirmation_number is not None
        return payment

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        payment = self._payment(conv, ctx)
        account = verified_account(conv)
        number = SpokenDigits(payment.confirmation_number or "", SPOKEN_GROUPS)
        offers = []
        if account.email:
            offers.append(phrase("receipt_email_offer", email=masked_email(account.email)))
        if methods.can_save(ctx.session, payment):
            offers.append(phrase("save_card_offer"))
        return Turn(
            (
                phrase("confirmation_number", number=number),
                balance_now(account.balance_cents),
                phrase("receipt_options"),
                *offers,
                phrase("receipt_options_end"),
            ),
            Ask(timeout=8),
        )

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "1":
            return Go(self.name)
        if digits == "2":
            return Go("main_menu", (self._text_receipt(conv, ctx),))
        if digits == "3":
            payment, account = self._payment(conv, ctx), verified_account(conv)
            company = ctx.settings.COMPANY_NAME
            sent = email_receipt(ctx.session, company, account, payment, conv.language)
            if sent is not None:
                return Go("main_menu", (phrase("receipt_emailed", email=masked_email(sent)),))
        if digits == "4":
            saved = methods.save_from(ctx.session, self._payment(conv, ctx), "voice", ctx.now)
            if saved is not None:
                brand, last4 = phrase(f"brand_{saved.brand}"), SpokenDigits(saved.last4)
                return Go("main_menu", (phrase("card_saved", brand=brand, last4=last4),))
        if digits == "*":
            return Go("main_menu")
        return Retry(phrase("invalid_choice"))

    def on_no_input(self, conv: Conversation, ctx: Context) -> Finish:
        return goodbye(phrase("thanks_goodbye"))

    def _text_receipt(self, conv: Conversation, ctx: Context) -> Prompt:
        account = verified_account(conv)
        phone = text_recipient(ctx.session, conv, account)
        if phone is None:
            return phrase("receipt_no_phone")
        receipt = payment_receipt(
            "receipt_sms", ctx.settings.COMPANY_NAME, account, self._payment(conv, ctx)
        )
        outbox.enqueue(ctx.session, "sms", phone, render(receipt, conv.language, medium="text"))
        return phrase("receipt_texted", last4=SpokenDigits(phone[-4:]))


class ReconnectionRequested(Step):
    """After a disconnected account's approved payment: if it paid for reconnecting, what
    happens next and by when; then the receipt."""

    name = RECONNECTED
    goes_to = (RECEIPT,)

    def prompt(self, conv: Conversation, ctx: Context) -> Go:
        query = select(ReconnectionRequest).where(
            ReconnectionRequest.payment_id == PaymentData(conv).payment_id
        )
        request = ctx.session.scalars(query).one_or_none()
        if request is None:
            return Go(RECEIPT)
        back = SpokenDate(verified_account(conv).local_date(request.expected_by))
        hours = ctx.settings.RECONNECTION_HOURS
        return Go(RECEIPT, (phrase("reconnection_requested", hours=hours, date=back),))


class PaymentDeclined(Step):
    """Why the card was not charged, and another card unless that was one decline too many."""

    name = "payment_declined"
    goes_to = (*STARTS_CAPTURE, "main_menu")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        payment = ctx.session.get(Payment, PaymentData(conv).payment_id)
        reason = (payment.decline_reason if payment else None) or DeclineReason.DECLINED.value
        scope = _decline_limit(conv, ctx)
        if scope is not None:
            return decline_limit_reached(scope, phrase(f"declined_{reason}"))
        return Turn((phrase(f"declined_{reason}"), phrase("declined_options")), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "1":
            data = PaymentData(conv)
            attempt = data.attempt
            assert isinstance(attempt, int)  # an agent's capture goes back to the agent instead
            data.attempt = attempt + 1
            return Go(CAPTURE)
        if digits == "*":
            return Go("main_menu")
        return Retry(phrase("invalid_choice"))


class DeclineLimit(Step):
    """Too many cards were declined (this call, or this account today): the line takes no more
    cards, so it cannot be used to test stolen ones; a representative can still help."""

    name = DECLINE_LIMIT
    goes_to = ("agent", "main_menu")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        number = readable_phone(ctx.settings.AGENT_NUMBER, ctx.settings.DEFAULT_REGION)
        return Turn((phrase("decline_limit_options", number=number),), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "0":
            return Go("agent")
        if digits == "*":
            return Go("main_menu")
        return Retry(phrase("invalid_choice"))


PAYMENT_STEPS: tuple[Step, ...] = (
    PayMenu(links=True),
    CaptureMethod(),
    PayMethod(),
    EnterAmount(),
    CardNumber(),
    CardExpiry(),
    CardCode(),
    CardZip(),
    PayConfirm(),
    Authorizing(),
    PayVerb(),
    PaymentReceipt(),
    ReconnectionRequested(),
    PaymentDeclined(),
    DeclineLimit(),
)
