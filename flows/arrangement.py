"""More time to pay (DESIGN.md step 6): offer what policy allows, take the caller's pick, read
the terms back, confirm, and give a confirmation number.

Every step asks ``payments.arrangements`` afresh rather than trusting what an earlier webhook
saw, and :func:`payments.arrangements.create` checks once more under the account lock, so a
caller can never confirm terms that policy no longer allows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from flows.context import Context, phrase, verified_account
from flows.data import ArrangementData, PaymentData
from flows.engine import Ask, Finish, Go, Retry, Step, Turn, goodbye
from flows.payment import RECEIPT, STARTS_CAPTURE, TWILIO_PAY, start_capture
from flows.receipts import send_receipts
from ivr.models import Account, Arrangement, ArrangementKind, Conversation, Payment
from payments import arrangements as policy_rules
from payments.arrangements import (
    ArrangementPolicy,
    ArrangementRefusedError,
    Choice,
    DateError,
    Extension,
    Offers,
    OnCreated,
    Plan,
    Refusal,
    Refused,
    Terms,
)
from payments.confirmation import SPOKEN_GROUPS
from payments.disputes import owed_cents
from payments.promises import card_on_file
from prompts import Money, Prompt, SpokenDate, SpokenDigits


def _policy(ctx: Context) -> ArrangementPolicy:
    return ArrangementPolicy.from_settings(ctx.settings)


def _today(conv: Conversation, ctx: Context) -> dt.date:
    return verified_account(conv).local_date(ctx.now)


def _offer(conv: Conversation, ctx: Context) -> Offers | Refused:
    account = verified_account(conv)
    history = policy_rules.history(ctx.session, account.id)
    owed = owed_cents(ctx.session, account)
    return policy_rules.offers(_policy(ctx), account, history, _today(conv, ctx), owed)


def _refuse(conv: Conversation, refused: Refused) -> Go:
    reason, reconnect = refused.reason.value, refused.reconnect_cents
    ArrangementData(conv).refusal = {"reason": reason, "reconnect": reconnect}
    return Go("arrangement_refused")


def _choose(conv: Conversation, choice: Choice) -> Go:
    data = ArrangementData(conv)
    if isinstance(choice, Extension):
        data.choice = {"date": choice.date.isoformat()}
    else:
        data.choice = {"count": choice.count}
    return Go("arrangement_terms")


def _choice(conv: Conversation) -> Choice:
    saved = ArrangementData(conv).choice
    if "date" in saved:
        return Extension(dt.date.fromisoformat(saved["date"]))
    return Plan(int(saved["count"]))


def summary(terms: Terms) -> Prompt:
    """The terms in one phrase, for the read-back and the receipts alike."""
    first, last = terms.schedule[0], terms.schedule[-1]
    if terms.kind is ArrangementKind.EXTENSION:
        return phrase(
            "arrangement_summary_extension",
            amount=Money(terms.amount_cents),
            date=SpokenDate(first.date),
        )
    return phrase(
        "arrangement_summary_down_payment"
        if terms.down_payment_cents
        else "arrangement_summary_installments",
        amount=Money(terms.amount_cents),
        down=Money(terms.down_payment_cents),
        count=len(terms.schedule),
        first=Money(first.amount_cents),
        date=SpokenDate(first.date),
        rest=Money(last.amount_cents),
        last_date=SpokenDate(last.date),
    )


class ArrangementOffer(Step):
    """Says only what policy allows this account: the latest date, plans, or why not."""

    name = "arrangement_offer"
    goes_to = (
        "arrangement_refused",
        "arrangement_terms",
        "arrangement_date",
        "arrangement_installments",
        "agent",
        "main_menu",
    )

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        offer = _offer(conv, ctx)
        if isinstance(offer, Refused):
            return _refuse(conv, offer)
        say = []
        if offer.latest is not None:
            say.append(phrase("arrangement_offer_extension", date=SpokenDate(offer.latest)))
        if offer.plans:
            say.append(phrase("arrangement_offer_installments"))
        if offer.plans and offer.down_payment_cents:
            say.append(phrase("arrangement_down_payment", amount=Money(offer.down_payment_cents)))
        say.append(phrase("arrangement_offer_end"))
        return Turn(tuple(say), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        offer = _offer(conv, ctx)
        if isinstance(offer, Refused):
            return _refuse(conv, offer)
        if digits == "1" and offer.latest is not None:
            return _choose(conv, Extension(offer.latest))
        if digits == "2" and offer.latest is not None:
            return Go("arrangement_date")
        if digits == "3" and offer.plans:
            return Go("arrangement_installments")
        if digits == "0":
            return Go("agent")
        if digits == "*":
            return Go("main_menu")
        return Retry(phrase("invalid_choice"))


def _date_retry(error: DateError, offer: Offers) -> Retry:
    params: dict[str, Any] = {}
    if error is DateError.TOO_LATE and offer.latest is not None:
        params["date"] = SpokenDate(offer.latest)
    elif error is DateError.NOT_LATER and offer.earliest is not None:
        params["date"] = SpokenDate(offer.earliest - dt.timedelta(days=1))
    return Retry(Prompt(f"arrangement_date_{error.value}", params))


class ArrangementDate(Step):
    """An earlier date than the latest, keyed as MMDD."""

    name = "arrangement_date"
    goes_to = ("arrangement_offer", "arrangement_refused", "arrangement_terms")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        offer = _offer(conv, ctx)
        if isinstance(offer, Refused) or offer.latest is None:
            return Go("arrangement_offer")
        return Turn(
            (phrase("arrangement_enter_date", date=SpokenDate(offer.latest)),),
            Ask(max_digits=4, timeout=10),
        )

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if "*" in digits:
            return Go("arrangement_offer")
        offer = _offer(conv, ctx)
        if isinstance(offer, Refused):
            return _refuse(conv, offer)
        checked = policy_rules.check_date(digits, offer, _today(conv, ctx))
        if isinstance(checked, DateError):
            return _date_retry(checked, offer)
        return _choose(conv, Extension(checked))


def _plan_option(plan: Terms) -> Prompt:
    count = len(plan.schedule)
    first, rest = plan.schedule[0].amount_cents, plan.schedule[-1].amount_cents
    if first == rest:
        return phrase("arrangement_plan_even", count=count, amount=Money(rest))
    return phrase("arrangement_plan_uneven", count=count, first=Money(first), amount=Money(rest))


def _leading(plans: tuple[Terms, ...]) -> tuple[Terms, ...]:
    """The two plans most callers want: done soonest (fewest payments) and the smallest
    payments (the most); the others are offered on request."""
    return plans if len(plans) <= 2 else (plans[0], plans[-1])


OTHER_PLANS = "1"  # a plan is keyed by its number of payments, never fewer than 2


class ArrangementInstallments(Step):
    """The leading two allowed plans, each keyed by its number of payments, and the others on
    request (:class:`ArrangementOtherPlans`)."""

    name = "arrangement_installments"
    others = False
    back = "arrangement_offer"
    goes_to: tuple[str, ...] = (
        back,
        "arrangement_other_plans",
        "arrangement_refused",
        "arrangement_terms",
    )

    def _shown(self, plans: tuple[Terms, ...]) -> tuple[Terms, ...]:
        leading = _leading(plans)
        return tuple(p for p in plans if p not in leading) if self.others else leading

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        offer = _offer(conv, ctx)
        if isinstance(offer, Refused) or not self._shown(offer.plans):
            return Go("arrangement_offer" if isinstance(offer, Refused) else self.back)
        start = SpokenDate(offer.plans[0].schedule[0].date)
        say = [phrase("arrangement_plans_intro", date=start)]
        say.extend(_plan_option(plan) for plan in self._shown(offer.plans))
        if not self.others and len(offer.plans) > len(_leading(offer.plans)):
            say.append(phrase("arrangement_plans_more"))
        say.append(phrase("arrangement_plans_back"))
        return Turn(tuple(say), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "*":
            return Go(self.back)
        offer = _offer(conv, ctx)
        if isinstance(offer, Refused):
            return _refuse(conv, offer)
        if digits == OTHER_PLANS and not self.others and len(offer.plans) > 2:
            return Go("arrangement_other_plans")
        if any(str(len(plan.schedule)) == digits for plan in offer.plans):
            return _choose(conv, Plan(int(digits)))
        return Retry(phrase("invalid_choice"))


class ArrangementOtherPlans(ArrangementInstallments):
    """The plans :class:`ArrangementInstallments` left out; star goes back to the first two."""

    name = "arrangement_other_plans"
    others = True
    back = ArrangementInstallments.name
    goes_to = (back, "arrangement_refused", "arrangement_terms")


def _receipts(conv: Conversation, ctx: Context) -> OnCreated:
    """Receipts rendered in the caller's language, queued with the arrangement itself."""

    def queue(session: Session, account: Account, made: Arrangement, terms: Terms) -> None:
        params = {
            "company": ctx.settings.COMPANY_NAME,
            "last4": account.last4,
            "summary": summary(terms),
            "number": SpokenDigits(made.confirmation_number, SPOKEN_GROUPS),
        }
        sent = send_receipts(session, conv, account, "arrangement_receipt", params)
        ArrangementData(conv).receipts = sent

    return queue


def _who_pays(ctx: Context, account: Account, terms: Terms) -> Prompt:
    """Which card the installments will be charged to, or that the caller pays them."""
    if terms.down_payment_cents and ctx.settings.CAPTURE_MODE != TWILIO_PAY:
        return phrase("arrangement_installments_down_card")
    card = card_on_file(ctx.session, account.id, ctx.settings.PAYMENT_GATEWAY, terms.final_date)
    if card is None:
        return phrase("arrangement_installments_self")
    brand = phrase(f"brand_{card.brand or 'card'}")
    return phrase(
        "arrangement_installments_card", brand=brand, last4=SpokenDigits(card.last4 or "")
    )


class ArrangementTerms(Step):
    """The terms once more; 1 writes the arrangement, 2 leaves everything as it was."""

    name = "arrangement_terms"
    goes_to = (
        "arrangement_refused",
        "arrangement_offer",
        "main_menu",
        "arrangement_confirmed",
        *STARTS_CAPTURE,
    )

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        offer = _offer(conv, ctx)
        if isinstance(offer, Refused):
            return _refuse(conv, offer)
        terms = policy_rules.terms_for(_choice(conv), offer)
        if terms is None:
            return Go("arrangement_offer")
        say = [phrase("arrangement_terms", summary=summary(terms))]
        if terms.kind is ArrangementKind.INSTALLMENTS:
            say.insert(0, _who_pays(ctx, verified_account(conv), terms))
        return Turn(tuple(say), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "2":
            del ArrangementData(conv).choice
            return Go("main_menu", (phrase("arrangement_cancelled"),))
        if digits != "1":
            return Retry(phrase("invalid_choice"))
        offer = _offer(conv, ctx)
        if isinstance(offer, Refused):
            return _refuse(conv, offer)
        terms = policy_rules.terms_for(_choice(conv), offer)
        if terms is not None and terms.down_payment_cents:
            # The plan is written only once its down payment is approved (ArrangementDownPaid).
            return start_capture(conv, ctx, terms.down_payment_cents, ArrangementDownPaid.name)
        made = _write(conv, ctx, None)
        return _refuse(conv, made) if isinstance(made, Refused) else made


def _write(conv: Conversation, ctx: Context, down_payment: Payment | None) -> Go | Refused:
    """Write the chosen terms (policy decides once more, under the account lock)."""
    try:
        made = policy_rules.create(
            ctx.session,
            _policy(ctx),
            verified_account(conv).id,
            _choice(conv),
            now=ctx.now,
            by=policy_rules.Origin(f"caller:{ctx.caller or 'unknown'}", ctx.origin),
            card_gateway=ctx.settings.PAYMENT_GATEWAY,
            down_payment=down_payment,
            on_created=_receipts(conv, ctx),
        )
    except ArrangementRefusedError as error:
        return error.refused
    data = ArrangementData(conv)
    del data.choice
    data.arrangement_id = made.id
    return Go("arrangement_confirmed", (phrase("arrangement_made"),))


class ArrangementDownPaid(Step):
    """The down payment was approved: now write the plan. Should policy no longer allow it (a
    second call made an arrangement meanwhile), the payment stands and the caller is told."""

    name = "arrangement_down_paid"
    goes_to = (RECEIPT, "arrangement_confirmed")

    def prompt(self, conv: Conversation, ctx: Context) -> Go:
        payment = ctx.session.get(Payment, PaymentData(conv).payment_id)
        assert payment is not None
        made = _write(conv, ctx, payment)
        if isinstance(made, Refused):
            return Go(RECEIPT, (phrase("arrangement_not_made_after_down_payment"),))
        return made


class ArrangementConfirmed(Step):
    """The confirmation number in 3-3-4 groups; 1 repeats it."""

    name = "arrangement_confirmed"
    goes_to = ("arrangement_confirmed", "main_menu")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        data = ArrangementData(conv)
        made = ctx.session.get(Arrangement, data.arrangement_id)
        assert made is not None
        say = [
            phrase(
                "confirmation_number", number=SpokenDigits(made.confirmation_number, SPOKEN_GROUPS)
            )
        ]
        if data.receipts:
            say.append(phrase("arrangement_receipt_sent"))
        say.append(phrase("arrangement_confirmed_options"))
        return Turn(tuple(say), Ask(timeout=8))

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "1":
            return Go(self.name)
        if digits == "*":
            return Go("main_menu")
        return Retry(phrase("invalid_choice"))

    def on_no_input(self, conv: Conversation, ctx: Context) -> Finish:
        return goodbye(phrase("goodbye"))


class ArrangementRefused(Step):
    """Why not, in plain words, and a person who may be able to help."""

    name = "arrangement_refused"
    goes_to = ("agent", "main_menu")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        refusal = ArrangementData(conv).refusal or {
            "reason": Refusal.NOTHING_TO_OFFER.value,
            "reconnect": 0,
        }
        params: dict[str, Any] = {}
        if refusal["reason"] == Refusal.DISCONNECTED.value:
            params = {
                "amount": Money(refusal["reconnect"]),
                "fee": Money(_policy(ctx).reconnection_fee_cents),
            }
        reason = Prompt(f"arrangement_refused_{refusal['reason']}", params)
        return Turn((reason, phrase("arrangement_refused_options")), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "0":
            return Go("agent")
        if digits == "*":
            return Go("main_menu")
        return Retry(phrase("invalid_choice"))


ARRANGEMENT_STEPS: tuple[Step, ...] = (
    ArrangementOffer(),
    ArrangementDate(),
    ArrangementInstallments(),
    ArrangementOtherPlans(),
    ArrangementTerms(),
    ArrangementConfirmed(),
    ArrangementRefused(),
    ArrangementDownPaid(),
)
