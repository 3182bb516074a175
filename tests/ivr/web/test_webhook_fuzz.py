"""Every Twilio webhook, signed, with any parameters at all: an answer, never a server error.

hypothesis draws the query string and the form (Twilio's own parameter names with hostile
values, plus names we never expect), for a call that exists or not. Each answer is a 2xx or a
deliberate 4xx (a 403 cannot happen: every request is signed), and TwiML answers parse.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.factories import add_account
from tests.support.webhooks import call_form, post

WEBHOOKS = [
    "/voice/incoming",
    "/voice/step",
    "/voice/status",
    "/voice/pay-status",
    "/voice/whisper",
    "/voice/hold",
    "/voice/agent-capture",
    "/voice/agent-pay-status",
    "/voice/agent-connect",
    "/voice/bridge",
    "/voice/agent-bridge",
    "/voice/bridge-status",
    "/voice/agent-hold",
    "/sms/incoming",
]
TWILIO_NAMES = [
    "CallSid", "From", "To", "Digits", "CallStatus", "Body", "MessageSid", "Result",
    "PaymentCardNumber", "PaymentToken", "ExpirationDate", "Capture", "ErrorType",
    "PartialResult", "Required", "PaymentConfirmationCode", "ConnectorError", "SpeechResult",
]  # fmt: skip
HOSTILE = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        ["", "0", "-1", "9" * 40, "4242424242424242", "CA" + "1" * 32, "<Say>x</Say>", "'; --",
         "\x00", "é" * 10, "+15005550006", "completed", "success", "payment-card-number"]
    ),
)  # fmt: skip
QUERY = st.dictionaries(
    st.sampled_from(["turn", "silence", "resume", "pay", "call", "capture", "v", "x"]),
    st.one_of(st.sampled_from(["1", "0", "", "-3", "99999999999"]), st.text(max_size=8)),
    max_size=4,
)
FORM = st.dictionaries(st.one_of(st.sampled_from(TWILIO_NAMES), st.text(max_size=12)), HOSTILE)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=st.sampled_from(WEBHOOKS), query=QUERY, extra=FORM, known_call=st.booleans())
def test_any_parameters_on_any_webhook_get_an_answer_never_a_500(
    client, db, settings_for_fuzz, path, query, extra, known_call
):
    sid = "CA" + "3" * 32
    if known_call:
        post(client, "/voice/incoming", call_form(sid=sid))
    url = path + ("?" + urlencode(query) if query else "")
    form = {**call_form(sid=sid), **extra} if known_call else extra
    response = post(client, url, {k: v for k, v in form.items() if "\x00" not in k + v})
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.status_code != 403
    if response.mimetype in ("application/xml", "text/xml") and response.get_data():
        assert ET.fromstring(response.get_data(as_text=True)).tag == "Response"  # noqa: S314


@pytest.fixture
def settings_for_fuzz(db, settings):
    """One account, so identification and verification paths are reachable too."""
    add_account(db, settings)
    return settings
