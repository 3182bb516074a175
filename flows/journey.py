"""The caller journey: greeting, identification, verification, main menu (DESIGN.md steps 1-3)."""

from __future__ import annotations

import math

from flows import accessible
from flows.agent import AGENT_STEPS, ENTRIES, GIVE_UP, to_agent
from flows.arrangement import ARRANGEMENT_STEPS
from flows.assistance import ASSISTANCE_STEPS
from flows.balance import balance_prompts
from flows.context import Context, phrase
from flows.data import CallerData
from flows.dispute import DISPUTE_STEPS
from flows.engine import Ask, Finish, Flow, Go, Retry, Step, Turn, goodbye
from flows.payment import PAYMENT_STEPS
from ivr import audit
from ivr.models import Account, Conversation
from payments.ledger import last_approved_payment
from prompts import Money, Prompt, SpokenDate, SpokenDigits
from verification import accounts_for_caller, lockout

ACCOUNT_DIGITS = (4, 16)
PIN_DIGITS = (4, 8)
SPANISH = "es-US"
ENGLISH = "en-US"


def _menu_turn() -> Turn:
    return Turn((phrase("main_menu"),), Ask(max_digits=1))


class Greeting(Step):
    """Welcome, with the offer of the other language."""

    name = "greeting"
    goes_to = ("identify",)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        accessible.on_greeting(conv, ctx)
        other = ENGLISH if conv.language == SPANISH else SPANISH
        offer = Prompt("language_offer", language=other)
        return Turn((phrase("welcome", company=ctx.settings.COMPANY_NAME), offer), Ask(timeout=3))

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go:
        if digits == "9" and conv.language != SPANISH:
            conv.language = SPANISH
        elif digits == "1" and conv.language == SPANISH:
            conv.language = ENGLISH
        return Go("identify")

    def on_no_input(self, conv: Conversation, ctx: Context) -> Go:
        return Go("identify")


class Identify(Step):
    """Decide how to identify: by caller ID when it matches exactly one account."""

    name = "identify"
    goes_to = ("confirm_caller_account", "enter_account")

    def prompt(self, conv: Conversation, ctx: Context) -> Go:
        matches = accounts_for_caller(ctx.session, ctx.caller)
        if len(matches) == 1:
            CallerData(conv).account_number = matches[0].number
            return Go("confirm_caller_account")
        return Go("enter_account")


class ConfirmCallerAccount(Step):
    name = "confirm_caller_account"
    goes_to = ("enter_pin", "enter_account")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        last4 = SpokenDigits(CallerData(conv).account_number[-4:])
        return Turn((phrase("confirm_caller_account", last4=last4),), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "1":
            CallerData(conv).identified_by = "caller_id"
            return Go("enter_pin")
        if digits == "2":
            del CallerData(conv).account_number
            return Go("enter_account")
        return Retry(phrase("invalid_choice"))


class EnterAccount(Step):
    name = "enter_account"
    goes_to = ("enter_pin",)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        key = "enter_account_again" if CallerData(conv).failed_attempts else "enter_account"
        return Turn(
            (phrase(key),), Ask(max_digits=ACCOUNT_DIGITS[1] + 1, finish_on_key="#", timeout=10)
        )

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        low, high = ACCOUNT_DIGITS
        if not (digits.isdigit() and low <= len(digits) <= high):
            return Retry(phrase("invalid_account_format", min=low, max=high))
        caller = CallerData(conv)
        caller.account_number = digits
        caller.identified_by = "keypad"
        return Go("enter_pin")


class EnterPin(Step):
    name = "enter_pin"
    goes_to = ("locked", "enter_detail")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        if ctx.verifier.locked_until(CallerData(conv).account_number):
            return Go("locked")
        return Turn((phrase("enter_pin"),), Ask(max_digits=PIN_DIGITS[1] + 1, finish_on_key="#"))

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        low, high = PIN_DIGITS
        if not (digits.isdigit() and low <= len(digits) <= high):
            return Retry(phrase("invalid_pin_format"))
        caller = CallerData(conv)
        # Only the verdict is kept between webhooks, never the PIN; it is revealed to nobody
        # until the account detail has been asked too.
        caller.pin_ok = ctx.verifier.pin_matches(caller.account_number, digits)
        return Go("enter_detail")


class EnterDetail(Step):
    name = "enter_detail"

    def __init__(self, account_step: str = "enter_account") -> None:
        """``account_step``: where a caller who keyed their account number keys it again
        after a failed verification."""
        self.account_step = account_step
        self.goes_to = ("main_menu", "locked", "enter_pin", account_step)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return Turn((phrase("enter_detail"),), Ask(max_digits=5, finish_on_key="#", timeout=10))

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if not (digits.isdigit() and len(digits) in (4, 5)):
            return Retry(phrase("invalid_detail_format"))
        caller = CallerData(conv)
        pin_ok = caller.pin_ok
        del caller.pin_ok
        outcome = ctx.verifier.conclude(caller.account_number, pin_ok=pin_ok, detail=digits)
        if outcome.account is not None:
            conv.account_id = outcome.account.id
            conv.verified = True
            accessible.on_verified(conv, ctx)
            return Go("main_menu", (phrase("verified"),))
        caller.failed_attempts += 1
        if outcome.locked_until is not None:
            return Go("locked")
        restart = "enter_pin" if caller.identified_by == "caller_id" else self.account_step
        return Go(restart, (phrase("verify_failed"),))


class Locked(Step):
    """Tell the caller the account is locked, for how long, and offer a person."""

    name = "locked"
    goes_to = ("agent",)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        until = ctx.verifier.locked_until(CallerData(conv).account_number) or ctx.now
        if lockout.is_hard(until):
            return Turn((phrase("locked_hard"),), Ask())
        minutes = max(1, math.ceil((until - ctx.now).total_seconds() / 60))
        return Turn((phrase("locked", minutes=minutes),), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Finish:
        return Go("agent") if digits == "0" else goodbye(phrase("goodbye"))

    def on_no_input(self, conv: Conversation, ctx: Context) -> Finish:
        return goodbye(phrase("goodbye"))


def last_payment_prompts(ctx: Context, account: Account) -> tuple[Prompt, ...]:
    payment = last_approved_payment(ctx.session, account.id)
    if payment is None or payment.confirmation_number is None:
        return (phrase("no_payments"),)
    return (
        phrase(
            "last_payment",
            amount=Money(payment.amount_cents),
            date=SpokenDate(account.local_date(payment.created_at)),
            number=SpokenDigits(payment.confirmation_number, (3, 3, 4)),
        ),
    )


class MainMenu(Step):
    name = "main_menu"
    goes_to = (
        "identify",
        "main_menu",
        "pay_menu",
        "arrangement_offer",
        "dispute_menu",
        "assistance_programs",
        "agent",
    )

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return _menu_turn()

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        account = conv.account
        if account is None:
            return Go("identify")
        if digits == "1":
            return Go(self.name, balance_prompts(ctx, account))
        if digits == "2":
            return Go("pay_menu")
        if digits == "3":
            return Go("arrangement_offer")
        if digits == "4":
            return Go(self.name, last_payment_prompts(ctx, account))
        if digits == "5":
            return Go("dispute_menu")
        if digits == "6":
            return Go("assistance_programs")
        if digits == "7":
            return Go(self.name, (accessible.toggle(conv, ctx),))
        if digits == "0":
            return Go("agent")
        if digits == "*":
            return Go(self.name)
        return Retry(phrase("invalid_choice"))


class TransferToAgent(Step):
    """Hand the call to a representative; the verified context stays on the session."""

    name = "agent"

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        audit.record(
            ctx.session,
            "call.transfer",
            actor=f"caller:{ctx.caller or 'unknown'}",
            outcome="verified" if conv.verified else "unverified",
            resource=f"account:{conv.account.number}" if conv.account else None,
            origin=ctx.origin,
        )
        return Turn((phrase("transferring"),), end=to_agent(conv, ctx))


def agent_whisper(conv: Conversation) -> tuple[Prompt, ...]:
    """What the representative hears before the caller is connected."""
    if conv.verified and conv.account is not None:
        return (phrase("agent_whisper_verified", last4=SpokenDigits(conv.account.last4)),)
    return (phrase("agent_whisper_unverified"),)


CALL_FLOW = Flow(
    [
        Greeting(),
        Identify(),
        ConfirmCallerAccount(),
        EnterAccount(),
        EnterPin(),
        EnterDetail(),
        Locked(),
        MainMenu(),
        TransferToAgent(),
        *PAYMENT_STEPS,
        *ARRANGEMENT_STEPS,
        *DISPUTE_STEPS,
        *ASSISTANCE_STEPS,
        *AGENT_STEPS,
    ],
    start="greeting",
    give_up=GIVE_UP,
    name="voice",
    entries=ENTRIES.values(),
)
