"""Slower prompts on the voice line: on by itself for relay services' caller IDs, switched
with main-menu 7 and remembered on the account; slower speech and longer time-outs."""

import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from ivr.models import VoicePreference
from ivr.simulator.emulator import keys_from
from prompts.catalog import en_us, es_us
from tests.conftest import simulator_for
from tests.support.keys import SLOWER_PROMPTS
from tests.support.webhooks import call_form, post

RELAY = "+15005550006"
SID = "CA" + "5" * 32


class RawCall:
    """A call driven webhook by webhook, keeping the TwiML itself."""

    def __init__(self, client):
        self.client = client
        self.turn = 0
        self.twiml = self._post("/voice/incoming", {})

    def _post(self, path, extra):
        response = post(self.client, path, call_form(SID, **extra))
        assert response.status_code == 200
        self.turn += 1
        return ET.fromstring(response.get_data(as_text=True))  # noqa: S314

    def press(self, digits):
        self.twiml = self._post(f"/voice/step?turn={self.turn}", {"Digits": digits})
        return self.twiml

    def gather_timeout(self):
        return int(self.twiml.find("Gather").get("timeout"))

    def slow(self):
        says = self.twiml.iter("Say")
        return [say.find("prosody") is not None for say in says]


def test_relay_caller_ids_get_slow_prompts_from_the_first_word(make_app, ada):
    call = RawCall(make_app(RELAY_CALLER_IDS=f"+15005550100, {RELAY}").test_client())
    assert call.gather_timeout() == 3 * 3
    assert set(call.slow()) == {True}
    assert call.twiml.find("Gather/Say/prosody").get("rate") == "slow"


def test_other_callers_get_the_usual_pace(make_app, ada):
    call = RawCall(make_app(RELAY_CALLER_IDS="+15005550100").test_client())
    assert call.gather_timeout() == 3
    assert set(call.slow()) == {False}


def test_menu_7_switches_slow_prompts_and_the_account_remembers(client, db, ada, simulator):
    record = simulator.call(keys_from(SLOWER_PROMPTS), caller=RELAY)
    assert (
        "Slower prompts are on, with more time to answer. Press star to hear a question "
        "again. We will remember this for your account. To turn them off, press 4 at the main "
        "menu, then 3." in record.said
    )
    db.rollback()
    assert db.get(VoicePreference, ada.id).slow_prompts is True

    # The next call: the usual pace until the caller is known, then slow.
    call = RawCall(client)
    assert call.gather_timeout() == 3 and set(call.slow()) == {False}
    for keys in ("1", "1", "1234", "94105", "2", "4"):  # English; mine; PIN; ZIP; menu; other
        call.press(keys)
    assert set(call.slow()) == {True}
    assert call.gather_timeout() == 6 * 3
    call.press("3")
    assert set(call.slow()) == {False} and call.gather_timeout() == 6
    db.rollback()
    assert db.get(VoicePreference, ada.id, populate_existing=True).slow_prompts is False
    assert len(db.scalars(select(VoicePreference)).all()) == 1


def said(twiml):
    return ["".join(say.itertext()) for say in twiml.iter("Say")]


@pytest.mark.parametrize(("relay", "repeats"), [(RELAY, True), ("+15005550100", False)])
def test_with_slower_prompts_a_star_no_step_uses_repeats_the_question(
    make_app, ada, relay, repeats
):
    call = RawCall(make_app(RELAY_CALLER_IDS=relay).test_client())
    question = said(call.press("1"))  # "Is this about the account ending in ...?"
    again = said(call.press("*"))
    if repeats:
        assert again == question
    else:
        assert again == ["Sorry, that is not one of the choices.", *question]
    call.press("1")
    assert "Enter your PIN" in said(call.press("*"))[-1]


def test_the_other_choices_offer_slower_prompts_in_both_languages():
    assert "Slower prompts on or off, 3." in en_us.MESSAGES["other_choices_menu"]
    assert "Mensajes más lentos, activar o desactivar, 3." in es_us.MESSAGES["other_choices_menu"]


def test_every_prompt_is_translated():
    """Same keys is checked elsewhere; here, no Spanish prompt is the English one left over
    (card brand names, and prompts that are only placeholders, are the same in both)."""
    untranslated = [
        key
        for key, english in en_us.MESSAGES.items()
        if es_us.MESSAGES[key] == english
        and not key.startswith("brand_")
        and re.sub(r"\{\w+\}|[\s:,.]", "", english)
    ]
    assert untranslated == []


@pytest.mark.parametrize(("relay", "repeats"), [(RELAY, 2), ("+15005550100", 1)])
def test_with_slower_prompts_silence_is_waited_out_once_more(make_app, ada, relay, repeats):
    app = make_app(RELAY_CALLER_IDS=relay)
    record = simulator_for(app).call(keys_from(["", "", "", "", ""]), caller=RELAY)
    assert record.said.count("Sorry, I did not hear anything.") == repeats
    assert record.said[-1] in ("Thank you for calling. Goodbye.", "Gracias por llamar. Adiós.")
