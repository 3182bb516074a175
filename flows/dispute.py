"""Disputing a charge (other choices 1; by text, 5): the whole balance or an amount keyed,
confirmed, given a reference number, held out of the amount due, then a representative offered.

Billing data carries no bill lines, so a caller picks the balance or keys the amount; what can
be disputed is what is owed and not already in dispute (``payments.disputes``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from flows.context import Context, phrase, verified_account
from flows.data import DisputeData
from flows.engine import Ask, Finish, Go, Retry, Step, Turn, goodbye
from flows.receipts import send_receipts
from ivr.models import Account, Conversation, Dispute
from payments.confirmation import SPOKEN_GROUPS
from payments.disputes import DisputeError, Scope, open_dispute, owed_cents
from payments.policy import parse_amount
from prompts import Money, SpokenDigits


def _choose(conv: Conversation, amount: int, scope: Scope) -> Go:
    DisputeData(conv).choice = {"amount": amount, "scope": scope.value}
    return Go("dispute_confirm")


class DisputeMenu(Step):
    """The whole amount owed, or part of it; nothing to dispute when nothing is owed."""

    name = "dispute_menu"
    goes_to = ("main_menu", "dispute_confirm", "dispute_amount", "agent")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        owed = owed_cents(ctx.session, verified_account(conv))
        if owed <= 0:
            return Go("main_menu", (phrase("dispute_nothing"),))
        return Turn((phrase("dispute_menu", amount=Money(owed)),), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        owed = owed_cents(ctx.session, verified_account(conv))
        if digits == "1" and owed > 0:
            return _choose(conv, owed, Scope.BALANCE)
        if digits == "2":
            return Go("dispute_amount")
        if digits == "0":
            return Go("agent")
        if digits == "*":
            return Go("main_menu")
        return Retry(phrase("invalid_choice"))


class DisputeAmount(Step):
    """Dollars, star, cents, pound: up to what is owed and not yet disputed."""

    name = "dispute_amount"
    goes_to = ("dispute_confirm",)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return Turn(
            (phrase("dispute_enter_amount"),), Ask(max_digits=12, finish_on_key="#", timeout=10)
        )

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        amount = parse_amount(digits)
        if amount is None or amount <= 0:
            return Retry(phrase("amount_invalid"))
        owed = owed_cents(ctx.session, verified_account(conv))
        if amount > owed:
            return Retry(phrase("dispute_too_much", amount=Money(max(owed, 0))))
        return _choose(conv, amount, Scope.AMOUNT)


class DisputeConfirm(Step):
    """What happens to the amount while it is reviewed; 1 records it, 2 changes nothing."""

    name = "dispute_confirm"
    goes_to = ("main_menu", "dispute_menu", "dispute_recorded")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        amount = Money(DisputeData(conv).choice["amount"])
        return Turn((phrase("dispute_confirm", amount=amount),), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "2":
            del DisputeData(conv).choice
            return Go("main_menu", (phrase("dispute_cancelled"),))
        if digits != "1":
            return Retry(phrase("invalid_choice"))
        data = DisputeData(conv)
        chosen = data.choice
        del data.choice
        account = verified_account(conv)
        try:
            dispute = open_dispute(
                ctx.session,
                account.id,
                chosen["amount"],
                Scope(chosen["scope"]),
                channel=conv.channel,
                session_sid=conv.sid,
                actor=f"caller:{ctx.caller or 'unknown'}",
                now=ctx.now,
            )
        except DisputeError:
            # Another call disputed or changed the balance meanwhile: start from what is left.
            return Go("dispute_menu", (phrase("dispute_changed"),))
        send_receipt(ctx.session, conv, account, dispute, ctx.settings.COMPANY_NAME)
        data.dispute_id = dispute.id
        return Go("dispute_recorded")


class DisputeRecorded(Step):
    """The reference number in 3-3-4 groups, then a representative offered; 1 repeats."""

    name = "dispute_recorded"
    goes_to = ("dispute_recorded", "agent", "main_menu")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        dispute = ctx.session.get(Dispute, DisputeData(conv).dispute_id)
        assert dispute is not None
        number = SpokenDigits(dispute.reference_number, SPOKEN_GROUPS)
        return Turn(
            (
                phrase("dispute_recorded", amount=Money(dispute.amount_cents), number=number),
                phrase("dispute_recorded_options"),
            ),
            Ask(timeout=8),
        )

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "1":
            return Go(self.name)
        if digits == "0":
            return Go("agent")
        if digits == "*":
            return Go("main_menu")
        return Retry(phrase("invalid_choice"))

    def on_no_input(self, conv: Conversation, ctx: Context) -> Finish:
        return goodbye(phrase("goodbye"))


def send_receipt(
    session: Session, conv: Conversation, account: Account, dispute: Dispute, company: str
) -> None:
    """The dispute's reference number by text and email, in the language of the call (or
    text) it was recorded on; the IVR's flow and the agent console both send it."""
    params = {
        "company": company,
        "last4": account.last4,
        "amount": Money(dispute.amount_cents),
        "number": SpokenDigits(dispute.reference_number, SPOKEN_GROUPS),
    }
    send_receipts(session, conv, account, "dispute_receipt", params)


DISPUTE_STEPS: tuple[Step, ...] = (
    DisputeMenu(),
    DisputeAmount(),
    DisputeConfirm(),
    DisputeRecorded(),
)
