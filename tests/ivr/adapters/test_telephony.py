"""The Twilio REST adapter (ivr/adapters/telephony.py), against Twilio's API faked at the HTTP
boundary."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from ivr.adapters.telephony import (
    LocalTelephony,
    TelephonyError,
    TwilioTelephony,
    telephony_from_settings,
)
from ivr.channels.services import checked_settings
from ivr.config import ConfigError, load_settings
from tests.support.fake_twilio import API, Failure, FakeTwilio

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "twilio-test-token"
FROM = "+15005550006"
TO = "+12025550123"
CALL = "CA" + "c3" * 16
RECORDING_URL = f"{API}/Accounts/{ACCOUNT_SID}/Calls/{CALL}/Recordings/Twilio.CURRENT.json"
BODY = "Riverside Utilities: we received $142.50. Confirmation 482 913 0057."


@pytest.fixture
def twilio() -> FakeTwilio:
    return FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)


def adapter(http: HttpClient, token: str = AUTH_TOKEN) -> TwilioTelephony:
    return TwilioTelephony(Client(ACCOUNT_SID, token, http_client=http), FROM)


@pytest.mark.parametrize(
    ("action", "status"),
    [("pause_recording", "paused"), ("resume_recording", "in-progress")],
)
def test_recording_changes_post_the_status_to_the_calls_current_recording(
    twilio: FakeTwilio, action: str, status: str
) -> None:
    getattr(adapter(twilio), action)(CALL)

    [request] = twilio.requests
    assert (request.method, request.url) == ("POST", RECORDING_URL)
    assert request.data == {"Status": status}
    assert request.auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_send_sms_posts_a_message_and_returns_twilios_sid(twilio: FakeTwilio) -> None:
    sid = adapter(twilio).send_sms(TO, BODY)

    [request] = twilio.requests
    assert (request.method, request.url) == ("POST", f"{API}/Accounts/{ACCOUNT_SID}/Messages.json")
    assert request.data == {"To": TO, "From": FROM, "Body": BODY}
    [message] = twilio.messages
    assert sid == message["sid"] and sid.startswith("SM") and len(sid) == 34


@pytest.mark.parametrize("action", ["pause_recording", "resume_recording"])
def test_a_call_that_is_not_recorded_is_not_an_error(
    twilio: FakeTwilio, action: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ivr")
    twilio.not_recording.add(CALL)

    getattr(adapter(twilio), action)(CALL)

    assert len(twilio.requests) == 1
    assert f"event=telephony.not_recording call={CALL}" in caplog.text


def test_a_refused_recording_change_raises_naming_the_call_and_twilios_code(
    twilio: FakeTwilio,
) -> None:
    twilio.recording_failure = Failure(500, 20500, "Internal Server Error")

    with pytest.raises(TelephonyError) as raised:
        adapter(twilio).pause_recording(CALL)

    message = str(raised.value)
    assert f"recording of call {CALL} to paused" in message
    assert "HTTP 500, error 20500" in message


def test_a_refused_sms_raises_with_the_number_masked_and_no_body(twilio: FakeTwilio) -> None:
    twilio.sms_failure = Failure(400, 21211, f"The 'To' number {TO} is not a valid phone number.")

    with pytest.raises(TelephonyError) as raised:
        adapter(twilio).send_sms(TO, BODY)

    message = str(raised.value)
    assert "SMS to ***0123" in message and "error 21211" in message
    assert TO not in message and "142.50" not in message
    assert twilio.messages == []


def test_wrong_credentials_say_which_settings_to_check(twilio: FakeTwilio) -> None:
    with pytest.raises(TelephonyError, match="check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"):
        adapter(twilio, token="not-the-token").resume_recording(CALL)


class Unreachable(HttpClient):
    """The network is down: every request fails like ``requests`` does."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("tests.unreachable"), is_async=False)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        raise requests.ConnectionError(f"cannot connect to {url}")


def test_an_unreachable_twilio_raises_telephony_error() -> None:
    with pytest.raises(TelephonyError, match="Twilio could not be reached"):
        adapter(Unreachable()).send_sms(TO, BODY)


def test_local_telephony_keeps_what_it_sent_and_logs_no_body_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="ivr")
    local = LocalTelephony(keep=2)

    sids = [local.send_sms(TO, f"{BODY} #{n}") for n in range(3)]
    local.pause_recording(CALL)
    local.resume_recording(CALL)

    assert [sms.sid for sms in local.sent] == sids[1:]
    assert [sms.body for sms in local.sent] == [f"{BODY} #1", f"{BODY} #2"]
    assert list(local.recordings) == [(CALL, "paused"), (CALL, "in-progress")]
    assert all(sid.startswith("SM") and len(sid) == 34 for sid in sids)
    info = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "event=sms.local to=***0123" in info
    assert f"event=telephony.recording_paused call={CALL}" in info
    assert "142.50" not in info and TO not in info
    assert TO not in repr(local.sent[0]) and "142.50" not in repr(local.sent[0])


def test_settings_choose_local_by_default_and_twilio_when_asked() -> None:
    assert isinstance(telephony_from_settings(load_settings(environ={})), LocalTelephony)
    twilio = load_settings(
        environ={},
        overrides={
            "TELEPHONY": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        },
    )
    assert isinstance(telephony_from_settings(twilio), TwilioTelephony)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"TELEPHONY": "vonage"}, "TELEPHONY='vonage' is unknown; use one of: local, twilio."),
        ({"TELEPHONY": "twilio"}, "TELEPHONY=twilio needs your account's TWILIO_ACCOUNT_SID"),
    ],
)
def test_unusable_telephony_settings_are_config_errors(
    overrides: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        checked_settings(environ={}, overrides=overrides)
    assert expected in str(raised.value)


def test_redirect_call_updates_the_live_call_with_the_new_url(twilio: FakeTwilio) -> None:
    adapter(twilio).redirect_call(CALL, "https://pay.example.com/voice/agent-capture?capture=1")

    [request] = twilio.requests
    assert (request.method, request.url) == (
        "POST",
        f"{API}/Accounts/{ACCOUNT_SID}/Calls/{CALL}.json",
    )
    assert request.data == {
        "Url": "https://pay.example.com/voice/agent-capture?capture=1",
        "Method": "POST",
    }
    assert twilio.redirects == [(CALL, "https://pay.example.com/voice/agent-capture?capture=1")]


def test_redirecting_an_ended_call_says_so(twilio: FakeTwilio) -> None:
    twilio.ended_calls.add(CALL)
    with pytest.raises(
        TelephonyError, match=rf"redirect call {CALL} \(has the caller hung up\?\).*21220"
    ):
        adapter(twilio).redirect_call(CALL, "https://pay.example.com/voice/hold")


def test_local_redirects_wait_in_the_database_until_taken(standalone_factory) -> None:
    sender = LocalTelephony(factory=standalone_factory)
    receiver = LocalTelephony(factory=standalone_factory)  # another process, the same database
    assert receiver.take_redirect(CALL) is None

    sender.redirect_call(CALL, "https://pay.example.com/voice/agent-capture?step=start")
    sender.redirect_call(CALL, "https://pay.example.com/voice/agent-capture?step=cancel")

    assert receiver.take_redirect(CALL) == "https://pay.example.com/voice/agent-capture?step=cancel"
    assert receiver.take_redirect(CALL) is None


def test_local_redirects_need_a_database() -> None:
    with pytest.raises(TelephonyError, match="without a database"):
        LocalTelephony().redirect_call(CALL, "https://pay.example.com/voice/hold")


CONFERENCE = "CF" + "d4" * 16
PARTICIPANT_URL = f"{API}/Accounts/{ACCOUNT_SID}/Conferences/{CONFERENCE}/Participants/{CALL}.json"
MUSIC = "https://pay.example.com/voice/agent-hold"


def test_holding_a_participant_posts_hold_and_our_music_to_the_participants_api(
    twilio: FakeTwilio,
) -> None:
    phone = adapter(twilio)
    phone.hold_participant(CONFERENCE, CALL, MUSIC)
    phone.hold_participant(CONFERENCE, CALL)

    held, unheld = twilio.requests
    assert (held.method, held.url) == ("POST", PARTICIPANT_URL)
    assert held.data == {"Hold": "true", "HoldUrl": MUSIC, "HoldMethod": "POST"}
    assert (unheld.method, unheld.url) == ("POST", PARTICIPANT_URL)
    assert unheld.data == {"Hold": "false"}


def test_holding_a_participant_who_left_says_so(twilio: FakeTwilio) -> None:
    twilio.ended_calls.add(CALL)
    with pytest.raises(
        TelephonyError, match=rf"Could not unhold call {CALL} in conference {CONFERENCE}.*20404"
    ):
        adapter(twilio).hold_participant(CONFERENCE, CALL)


def test_local_holds_wait_in_the_database_for_the_simulator(standalone_factory) -> None:
    server = LocalTelephony(factory=standalone_factory)
    simulator = LocalTelephony(factory=standalone_factory)
    assert not simulator.on_hold(CALL)

    server.hold_participant(CONFERENCE, CALL, MUSIC)
    assert simulator.on_hold(CALL)
    server.hold_participant(CONFERENCE, CALL)
    assert not simulator.on_hold(CALL)
