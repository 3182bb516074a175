"""The balance's words (flows/balance.py) as a caller and a texter get them: one fact a
sentence, credits and zero in words, on both databases."""

from __future__ import annotations

import pytest

from flows.balance import balance_now, balance_prompts
from flows.context import Context
from ivr.db import transaction
from ivr.models import Account
from payments.disputes import Scope, open_dispute
from prompts import render
from tests.support.factories import NOW, add_account

pytestmark = pytest.mark.ada(due_date="2026-12-19")


def words(factory, settings, account, language="en-US", medium="voice"):
    with transaction(factory) as session:
        ctx = Context(session, settings, "+15005550006", "test", NOW)
        said = balance_prompts(ctx, session.get(Account, account.id))
        return [render(prompt, language, medium) for prompt in said]


@pytest.mark.parametrize(
    ("cents", "english", "spanish"),
    [
        (0, "You now have no balance due.", "Ahora su cuenta no tiene saldo pendiente."),
        (
            -2500,
            "Your balance is now a credit of 25 dollars.",
            "Su saldo ahora es de un crédito de 25 dólares.",
        ),
        (1, "Your balance is now 1 cent.", "Su saldo ahora es de 1 centavo."),
    ],
)
def test_the_balance_after_paying_is_never_0_dollars(cents, english, spanish):
    assert render(balance_now(cents), "en-US") == english
    assert render(balance_now(cents), "es-US") == spanish


def test_a_disputed_part_is_a_fact_of_its_own(standalone_factory, settings, ada):
    with transaction(standalone_factory) as session:
        open_dispute(
            session, ada.id, 14250, Scope.BALANCE, channel="voice", session_sid="CA1",
            actor="caller:x", now=NOW,
        )  # fmt: skip
    assert words(standalone_factory, settings, ada) == [
        "Your balance is 142 dollars and 50 cents, due on Saturday, December 19, 2026.",
        "Of that, 142 dollars and 50 cents is in dispute and not due while we review it.",
        "Nothing else is due now.",
    ]
    assert words(standalone_factory, settings, ada, "es-US", "text")[1:] == [
        "De ese saldo, $142.50 está en disputa y no vence mientras lo revisamos.",
        "No hay nada más que pagar ahora.",
    ]


def test_a_disconnected_account_is_told_so_first(standalone_factory, db, settings):
    account = add_account(db, settings, status="disconnected", balance="0", minimum_due="0")
    assert words(standalone_factory, settings, account, "es-US") == [
        "Su servicio está desconectado.",
        "Para reconectarlo, debe el cargo de reconexión de 50 dólares.",
        "Su cuenta no tiene saldo pendiente.",
    ]


@pytest.mark.parametrize("language", ["en-US", "es-US"])
def test_a_credit_is_never_minus(standalone_factory, db, settings, language):
    account = add_account(db, settings, balance="-25.00", minimum_due="0")
    [said] = words(standalone_factory, settings, account, language)
    assert said in (
        "You have a credit of 25 dollars on your account.",
        "Tiene un crédito de 25 dólares en su cuenta.",
    )
