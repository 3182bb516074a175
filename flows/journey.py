"""The caller journey: greeting, identification, verification, then the menus (DESIGN.md steps
1-3).

0 reaches a person from every prompt, before verification too (:func:`to_person`; the agent
sees the caller as unverified), and a caller who fails verification is told so. Once the
account is known its language leads, unless the caller chose one at the greeting.
"""

from __future__ import annotations

import math

from flows import accessible, agent_capture
from flows.agent import AGENT_STEPS, ENTRIES, GIVE_UP, to_agent
from flows.arrangement import ARRANGEMENT_STEPS
from flows.assistance import ASSISTANCE_STEPS
from flows.context import Context, phrase
from flows.data import CallerData
from flows.dispute import DISPUTE_STEPS
from flows.engine import Ask, Finish, Flow, Go, Hook, Retry, Step, Turn, goodbye
from flows.menus import ENGLISH, MENU_STEPS, PAY_OFFER, SPANISH
from flows.payment import PAYMENT_STEPS, end_capture
from flows.saved_cards import SAVED_CARDS_STEPS
from ivr import audit
from ivr.models import Account, Conversation
from prompts import Prompt, SpokenDigits
from verification import accounts_for_caller, lockout

ACCOUNT_DIGITS = (4, 16)
CARD_STEPS = frozenset((*agent_capture.FIELDS, "pay_confirm"))  # where card fields wait
PIN_DIGITS = (4, 8)


def _account_language(conv: Conversation, account: Account) -> None:
    """The account's language leads once it is known, unless the caller chose one."""
    if not CallerData(conv).language_chosen:
        conv.language = account.language


class Greeting(Step):
    """Welcome, with the offer of the other language."""

    name = "greeting"
    goes_to = ("identify", "agent")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        accessible.on_greeting(conv, ctx)
        other = ENGLISH if conv.language == SPANISH else SPANISH
        offer = Prompt("language_offer", language=other)
        return Turn((phrase("welcome", company=ctx.settings.COMPANY_NAME), offer), Ask(timeout=3))

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go:
        if digits == "0":
            return Go("agent")
        if digits == "9" and conv.language != SPANISH:
            conv.language = SPANISH
            CallerData(conv).language_chosen = True
        elif digits == "1" and conv.language == SPANISH:
            conv.language = ENGLISH
            CallerData(conv).language_chosen = True
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
            _account_language(conv, matches[0])
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

    def __init__(self, account_step: str = "enter_account", verified_step: str = PAY_OFFER) -> None:
        """``account_step``: where a caller who keyed their account number keys it again
        after a failed verification; ``verified_step``: where a verified caller goes."""
        self.account_step = account_step
        self.verified_step = verified_step
        self.goes_to = (verified_step, "locked", "enter_pin", account_step)

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
            conv.account = outcome.account  # loaded now, for the offer in this same turn
            conv.verified = True
            accessible.on_verified(conv, ctx)
            _account_language(conv, outcome.account)
            return Go(self.verified_step, (phrase("verified"),))
        caller.failed_attempts += 1
        if outcome.locked_until is not None:
            return Go("locked")
        restart = "enter_pin" if caller.identified_by == "caller_id" else self.account_step
        return Go(restart, (phrase("verify_failed"), phrase("forgot_credentials")))


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
            failed_verifications=CallerData(conv).failed_attempts,
        )
        return Turn((phrase("transferring"),), end=to_agent(conv, ctx))


def to_person(conv: Conversation, ctx: Context) -> Go:
    """0 at a prompt with no other use for it: whatever card fields were keyed are wiped; a
    caller in an agent's capture goes back to that agent, anyone else to the agents."""
    if conv.state in CARD_STEPS:
        end_capture(conv, ctx)
    return agent_capture.abandoned(conv, ctx, "pay_cancelled") or Go("agent")


def agent_whisper(conv: Conversation) -> tuple[Prompt, ...]:
    """What the representative hears before the caller is connected: verified, or not, and
    whether a verification failed (a forgotten PIN, most often)."""
    if conv.verified and conv.account is not None:
        return (phrase("agent_whisper_verified", last4=SpokenDigits(conv.account.last4)),)
    if CallerData(conv).failed_attempts:
        return (phrase("agent_whisper_not_verified_after_failure"),)
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
        *MENU_STEPS,
        TransferToAgent(),
        *PAYMENT_STEPS,
        *ARRANGEMENT_STEPS,
        *DISPUTE_STEPS,
        *ASSISTANCE_STEPS,
        *SAVED_CARDS_STEPS,
        *AGENT_STEPS,
    ],
    start="greeting",
    give_up=GIVE_UP,
    name="voice",
    entries=ENTRIES.values(),
    person=Hook("zero", to_person, goes_to=("agent", agent_capture.RESULT_STATE)),
    offers_help=True,
)
