"""The flows' typed views over ``Conversation.data``: the keys stored before the views existed
still read, and one key belongs to one view."""

from __future__ import annotations

import pytest

from flows.data import CallerData, ConversationData, FlowData, PaymentData, Slot
from ivr.models import Conversation


def conversation(**data: object) -> Conversation:
    return Conversation(sid="CA1", state="main_menu", data=dict(data), language="en-US", turn=0)


def test_a_session_in_flight_reads_through_the_views_under_its_old_keys() -> None:
    conv = conversation(account_number="70000001", pin_ok=True, pay_attempt=2, _tries=1)
    assert CallerData(conv).account_number == "70000001"
    assert CallerData(conv).pin_ok is True
    assert PaymentData(conv).attempt == 2
    assert ConversationData(conv).tries == 1


def test_writes_land_in_the_json_column_under_the_same_keys() -> None:
    conv = conversation()
    PaymentData(conv).pay = {"amount": 2500, "fee": 0}
    ConversationData(conv).silences += 1
    assert conv.data == {"pay": {"amount": 2500, "fee": 0}, "_silences": 1}


def test_a_missing_key_reads_as_its_default_or_names_itself() -> None:
    conv = conversation()
    assert CallerData(conv).failed_attempts == 0
    assert PaymentData(conv).offered is None
    with pytest.raises(KeyError, match="'account_number' was never set"):
        _ = CallerData(conv).account_number


def test_deleting_forgets_the_key_and_a_missing_one_is_no_error() -> None:
    conv = conversation(pin_ok=False)
    del CallerData(conv).pin_ok
    del CallerData(conv).pin_ok
    assert conv.data == {}


def test_two_views_cannot_claim_one_key() -> None:
    with pytest.raises(TypeError, match="the key 'pay' is PaymentData's"):

        class Mine(FlowData):
            pay = Slot[int]("pay")
