"""Disputing a charge (main menu 5), whole calls through the simulator on both databases."""

from sqlalchemy import select

from ivr.models import Dispute, DisputeStatus, OutboxMessage
from ivr.simulator.emulator import keys_from
from payments.confirmation import is_valid
from tests.support.card_scan import database_dump, leaks
from tests.support.factories import add_account
from tests.support.keys import DISPUTE, VERIFY, card, in_spanish
from tests.support.webhooks import twice_simulator


def call(simulator, presses):
    return simulator.call(keys_from(presses), caller="+15005550006")


def disputes(db):
    db.rollback()
    return db.scalars(select(Dispute).order_by(Dispute.id)).all()


def spoken_number(number):
    return ", ".join(" ".join(part) for part in (number[:3], number[3:6], number[6:]))


def test_disputing_the_whole_balance_then_reaching_a_representative(db, simulator, ada):
    record = call(simulator, [*DISPUTE, "1", "1", "0"])
    assert (
        "To dispute the full amount due of 142 dollars and 50 cents, press 1. To dispute part of "
        "it, press 2. To speak with a representative, press 0. For the main menu, press star."
        in record.said
    )
    assert (
        "You are disputing 142 dollars and 50 cents. While we review it, this amount is not due "
        "and does not count toward disconnection. To confirm, press 1. To cancel, press 2."
        in record.said
    )
    [made] = disputes(db)
    assert (made.amount_cents, made.scope, made.status) == (14250, "balance", DisputeStatus.OPEN)
    assert is_valid(made.reference_number)
    assert (
        "Your dispute of 142 dollars and 50 cents is recorded. Its reference number is "
        f"{spoken_number(made.reference_number)}." in record.said
    )
    assert record.transfers == ["queue:agents"]
    db.rollback()
    sms, email = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert (sms.recipient, email.recipient) == ("+15005550006", "ada@example.com")
    assert "$142.50 is held out of the amount due" in sms.body

    # nothing is offered before the menu: 1 pays, 3 is more time
    paying = call(simulator, [*VERIFY, "1", "*"])
    assert (
        "Nothing else is due now. To pay the disputed amount too, 142 dollars and 50 cents, "
        "press 1." in paying.said
    )
    arranging = call(simulator, [*VERIFY, "3", "*"])
    assert "Your account has no balance due, so there is nothing to arrange." in arranging.said


def test_disputing_part_holds_it_out_of_the_pay_menu(db, simulator, ada):
    record = call(simulator, [*DISPUTE, "2", "500#", "50#", "1", "*", "2", "1", "*"])
    assert "You can dispute up to 142 dollars and 50 cents." in record.said
    [made] = disputes(db)
    assert (made.amount_cents, made.scope) == (5000, "amount")
    assert "Of that, 50 dollars is in dispute and not due while we review it." in record.said
    assert "Your balance is 92 dollars and 50 cents. To pay it all, press 1." in record.said
    assert "For the minimum due, 35 dollars, press 2." in record.said


def test_a_second_dispute_can_only_cover_what_is_left(db, simulator, ada):
    call(simulator, [*DISPUTE, "2", "100#", "1", "*"])
    record = call(simulator, [*DISPUTE, "1", "1", "*"])
    assert any(
        line.startswith("To dispute the full amount due of 42 dollars and 50 cents, press 1.")
        for line in record.said
    )
    assert [d.amount_cents for d in disputes(db)] == [10000, 4250]
    nothing = call(simulator, [*VERIFY, "4", "1", "*"])  # nothing to offer: the menu first
    assert "There is no amount due on this account to dispute." in nothing.said


def test_cancelling_records_nothing(db, simulator, ada):
    record = call(simulator, [*DISPUTE, "1", "2", "*"])
    assert "All right, no dispute was recorded." in record.said
    assert disputes(db) == []


def test_a_disconnected_account_reconnects_for_what_is_not_in_dispute(db, settings, simulator):
    add_account(db, settings, status="disconnected")
    record = call(simulator, [*DISPUTE, "2", "42*50#", "1", "*", "3", "*"])
    assert (
        "To reconnect service, the amount due is 150 dollars: your balance plus the "
        "reconnection fee of 50 dollars." in " ".join(record.said)
    )


def test_spanish_callers_dispute_in_spanish(db, simulator, ada):
    record = call(simulator, [*in_spanish(DISPUTE), "1", "1", "*"])
    assert any(line.startswith("Su disputa de 142 dólares con 50 centavos") for line in record.said)


def test_every_webhook_delivered_twice_records_one_dispute(db, app, settings, ada):
    simulator, mismatches = twice_simulator(app, settings)
    call(simulator, [*DISPUTE, "2", "25#", "1", "*"])
    assert mismatches == []
    assert [d.amount_cents for d in disputes(db)] == [2500]


def test_no_card_data_anywhere_after_disputing_then_paying(db, simulator, ada):
    call(simulator, [*DISPUTE, "2", "42*50#", "1", "*", "1", "1", *card(), "1", "*"])
    [made] = disputes(db)
    assert made.amount_cents == 4250
    assert leaks(database_dump(db)) == []
