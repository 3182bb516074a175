"""The secure pay page behind a one-time link: what it shows, and what a submitted card does.

The view only moves form fields in and a :class:`Page` out. Here: the link is looked up and
locked, the card checked by the same rules as keypad capture (``payments.cards``), a pending
ledger row committed, the gateway asked outside any transaction with the card held in memory
for this request only, and the result settled with the link spent, the confirmation texted
to the phone that asked for the link and, if the cardholder ticked the box, the card saved
for paying by text. Once too many cards were declined through the link or on its account
(``payments.ledger.DeclineLimits``), the page takes no more cards and says whom to call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from flows.receipts import payment_receipt
from ivr import logs, outbox
from ivr.config import Settings
from ivr.db import transaction
from ivr.logs import mask_phone
from ivr.models import PayLink, Payment, PaymentStatus
from ivr.outbox import opted_out
from payments import ledger, methods, paylinks
from payments.confirmation import SPOKEN_GROUPS
from payments.paylinks import CardForm, LinkState
from payments.service import Authorize, CardInHand, PaymentService
from prompts import Money, Prompt, SpokenDate, SpokenDigits, render
from verification import readable_phone

log = logging.getLogger("ivr.paypage")

FIELDS = ("number", "expiry", "code", "postal")
# What a link that cannot take a payment says, and its HTTP status.
_GONE = {
    LinkState.EXPIRED: ("paypage_expired", 410),
    LinkState.USED: ("paypage_used", 410),
    LinkState.PAID: ("paypage_paid", 410),
    LinkState.PENDING: ("paypage_pending", 409),
    LinkState.UNKNOWN: ("paypage_unknown", 404),
}


@dataclass(frozen=True)
class Page:
    """One page to show: its template, HTTP status, language and what the template needs."""

    template: str
    status: int
    language: str
    values: dict[str, Any] = field(default_factory=dict)

    def say(self) -> Callable[..., str]:
        """``say(key, **params)`` for the template: every word comes from the catalog."""

        def words(key: str, **params: Any) -> str:
            return render(Prompt(key, params), self.language, medium="text")

        return words


@dataclass(frozen=True)
class PayPage:
    factory: sessionmaker[Session]
    settings: Settings
    payments: PaymentService

    def form_token(self, link: PayLink) -> str:
        """Ties a submitted form to the page served for this link (CSRF protection)."""
        message = f"paylink-form:{link.id}:{link.salt}".encode()
        return hmac.new(self.settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()

    @property
    def declines(self) -> ledger.DeclineLimits:
        return ledger.DeclineLimits.from_settings(self.settings)

    def _decline_limit(self, db: Session, link: PayLink) -> ledger.DeclineScope | None:
        return ledger.decline_limit(db, link.account_id, paylinks.session_sid(link), self.declines)

    def show(self, token: str, now: dt.datetime) -> Page:
        with transaction(self.factory) as db:
            link = paylinks.find(db, token)
            state = paylinks.state(db, link, now)
            if link is None or state is not LinkState.OPEN:
                return self._gone(db, link, state)
            scope = self._decline_limit(db, link)
            if scope is not None:
                return self._limited(link, scope, 429)
            return self._form(link)

    def submit(self, token: str, form: Mapping[str, str], now: dt.datetime) -> Page:
        with transaction(self.factory) as db:
            link = paylinks.find(db, token, lock=True)
            state = paylinks.state(db, link, now)
            if link is None or state is not LinkState.OPEN:
                return self._gone(db, link, state)
            if not hmac.compare_digest(form.get("form_token", ""), self.form_token(link)):
                logs.event(log, "paypage.bad_form", logging.WARNING, link=link.id)
                return self._gone(db, None, LinkState.UNKNOWN, status=400)
            fields = CardForm(*(form.get(name, "")[:40] for name in FIELDS))
            card = paylinks.check_card(fields, link.account.local_date(now))
            if isinstance(card, dict):
                return self._form(link, errors={k: v.value for k, v in card.items()}, status=422)
            try:
                payment = paylinks.begin_payment(
                    db,
                    link,
                    card,
                    gateway=self.settings.PAYMENT_GATEWAY,
                    allow_overpayment=self.settings.ALLOW_OVERPAYMENT,
                    declines=self.declines,
                    reconnection_fee_cents=self.settings.RECONNECTION_FEE_CENTS,
                )
            except ledger.DeclineLimitError as refused:
                return self._limited(link, refused.scope, 429)
            except ledger.PaymentRefusedError:
                return self._message(link.language, "payment_in_progress", 409)
            link_id, payment_id = link.id, payment.id
        settled = self.payments.authorize(Authorize(payment_id, CardInHand(card)), now)
        del card
        with transaction(self.factory) as db:
            link = paylinks.spend(db, link_id, settled, now)
            payment = db.get_one(Payment, payment_id, populate_existing=True)
            logs.event(
                log, "paypage.result", link=link.id, payment=payment.id, status=payment.status
            )
            if payment.status is PaymentStatus.APPROVED:
                saved = form.get("save") == "yes" and (
                    methods.save_from(db, payment, "web", now) is not None
                )
                return self._approved(db, link, payment, saved)
            if payment.status in ledger.SETTLED:
                scope = self._decline_limit(db, link)
                if scope is not None:
                    return self._limited(link, scope, 402)
                return self._form(link, declined=payment.decline_reason or "declined", status=402)
            return self._message(link.language, "paypage_pending", 202)

    def _base(self, link: PayLink) -> dict[str, Any]:
        """What every page of the link shows: the payment, any fee apart, and the total."""
        return {
            "company": self.settings.COMPANY_NAME,
            "amount": Money(link.amount_cents),
            "fee": Money(link.fee_cents) if link.fee_cents else None,
            "total": Money(link.amount_cents + link.fee_cents),
            "last4": link.account.last4,
        }

    def _form(
        self,
        link: PayLink,
        *,
        errors: dict[str, str] | None = None,
        declined: str | None = None,
        status: int = 200,
    ) -> Page:
        values = {
            **self._base(link),
            "form_token": self.form_token(link),
            "errors": errors or {},
            "declined": declined,
        }
        return Page("paypage/form.html", status, link.language, values)

    def _approved(self, db: Session, link: PayLink, payment: Payment, saved: bool) -> Page:
        texted = None
        if link.phone and not opted_out(db, link.phone):
            company = self.settings.COMPANY_NAME
            receipt = payment_receipt("receipt_sms", company, link.account, payment)
            outbox.enqueue(db, "sms", link.phone, render(receipt, link.language, medium="text"))
            texted = link.phone[-4:]
            logs.event(log, "paypage.receipt_texted", link=link.id, phone=mask_phone(link.phone))
        values = {
            **self._base(link),
            "number": SpokenDigits(payment.confirmation_number or "", SPOKEN_GROUPS),
            "texted": texted,
            "saved": saved,
        }
        return Page("paypage/done.html", 200, link.language, values)

    def _gone(
        self, db: Session, link: PayLink | None, state: LinkState, status: int | None = None
    ) -> Page:
        language = link.language if link else self.settings.DEFAULT_LANGUAGE
        key, gone_status = _GONE[state]
        params: dict[str, Any] = {}
        paid = paylinks.paid_since(db, link) if link and state is LinkState.PAID else None
        if link is not None and paid is not None:
            params["date"] = SpokenDate(link.account.local_date(paid.created_at))
        return self._message(language, key, status or gone_status, **params)

    def _limited(self, link: PayLink, scope: ledger.DeclineScope, status: int) -> Page:
        """Too many declines: no card form, and a number where a representative can help."""
        key = f"paypage_decline_limit_{scope.value}"
        number = readable_phone(self.settings.AGENT_NUMBER, self.settings.DEFAULT_REGION)
        return self._message(link.language, key, status, number=number)

    def _message(self, language: str, key: str, status: int, **params: Any) -> Page:
        values = {"company": self.settings.COMPANY_NAME, "message": key, "params": params}
        return Page("paypage/gone.html", status, language, values)
