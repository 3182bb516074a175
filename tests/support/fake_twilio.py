"""Twilio's REST API, faked at the SDK's HTTP boundary.

``twilio.rest.Client(sid, token, http_client=FakeTwilio(sid, token))`` runs the real SDK (URL
building, form encoding, error parsing) and answers its requests here, the way api.twilio.com
would, so nothing reaches the network. It knows the two resources our adapter uses:

- ``POST /2010-04-01/Accounts/{AC}/Messages.json``: a Message resource (201, ``SM...`` sid);
- ``POST /2010-04-01/Accounts/{AC}/Calls/{CA}/Recordings/Twilio.CURRENT.json``: a Recording;
- ``POST /2010-04-01/Accounts/{AC}/Calls/{CA}.json``: a Call update (``Url``: a redirect);
- ``POST .../Calls/{CA}/Payments.json`` and ``.../Payments/{PK}.json``: an agent's Payments
  session, created and updated (``Capture`` or ``Status``), deduplicated by ``IdempotencyKey``;
- ``POST .../Conferences/{CF}/Participants/{CA}.json``: a participant put on hold or taken off
  it (``Hold``, ``HoldUrl``, ``HoldMethod``); only a ``CF`` sid names a conference.

Anything else, a call listed in :attr:`FakeTwilio.not_recording`, or a wrong account answers
with Twilio's error JSON. It is thread-safe, for tests with concurrent workers.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from twilio.http import HttpClient
from twilio.http.response import Response

API = "https://api.twilio.com/2010-04-01"
_RECORDING = re.compile(
    r"/Accounts/(?P<account>AC\w+)/Calls/(?P<call>CA\w+)/Recordings/Twilio\.CURRENT\.json"
)
_CALL = re.compile(r"/Accounts/(?P<account>AC\w+)/Calls/(?P<call>CA\w+)\.json")
_PAYMENTS = re.compile(
    r"/Accounts/(?P<account>AC\w+)/Calls/(?P<call>CA\w+)/Payments(?:/(?P<payment>PK\w+))?\.json"
)
_PARTICIPANT = re.compile(
    r"/Accounts/(?P<account>AC\w+)/Conferences/(?P<conference>CF\w+)/Participants/(?P<call>CA\w+)\.json"
)
_MESSAGES = re.compile(r"/Accounts/(?P<account>AC\w+)/Messages\.json")


@dataclass(frozen=True)
class Request:
    """One request as Twilio received it."""

    method: str
    url: str
    data: dict[str, Any]
    auth: tuple[str, str] | None
    headers: dict[str, str]


@dataclass(frozen=True)
class Failure:
    """An error Twilio answers with (status, Twilio error code, message)."""

    status: int
    code: int
    message: str


class FakeTwilio(HttpClient):
    """Answers the SDK like Twilio's API and records every request in :attr:`requests`."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__(logging.getLogger("tests.fake_twilio"), is_async=False)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[Request] = []
        self.messages: list[dict[str, Any]] = []  # every Message resource Twilio created
        self.not_recording: set[str] = set()  # calls whose Twilio.CURRENT answers 404
        self.ended_calls: set[str] = set()  # calls that can no longer be redirected
        self.redirects: list[tuple[str, str]] = []  # (call sid, URL) of each redirect
        self.holds: list[tuple[str, str, dict[str, Any]]] = []  # (conference, call, form)
        # Payments requests Twilio acted on, by IdempotencyKey: (call, payment sid, form)
        self.payment_actions: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self.sms_failure: Failure | None = None  # when set, every SMS is refused with it
        self.recording_failure: Failure | None = None  # when set, recording updates fail with it
        # Runs once Twilio has created a message, before the SDK hears back (to inject a crash,
        # or to hold a worker there).
        self.after_message: Callable[[dict[str, Any]], None] | None = None
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        request = Request(method, url, dict(data or {}), auth, dict(headers or {}))
        with self._lock:
            self.requests.append(request)
        return self._answer(request)

    def _answer(self, request: Request) -> Response:
        if request.auth != (self.account_sid, self.auth_token):
            return _error(Failure(401, 20003, "Authenticate"))
        path = request.url.removeprefix(API)
        if request.method == "POST" and (match := _RECORDING.fullmatch(path)):
            if match["account"] != self.account_sid:
                return _error(Failure(403, 20403, "Forbidden"))
            if match["call"] in self.not_recording:
                return _not_found(path)
            if self.recording_failure is not None:
                return _error(self.recording_failure)
            return _json(200, self._recording(match["call"], request.data["Status"]))
        if request.method == "POST" and (match := _PAYMENTS.fullmatch(path)):
            if match["account"] != self.account_sid:
                return _error(Failure(403, 20403, "Forbidden"))
            if match["call"] in self.ended_calls:
                return _error(Failure(400, 21220, "Call is not in-progress."))
            key = request.data["IdempotencyKey"]
            with self._lock:
                known = self.payment_actions.get(key)
                payment_sid = match["payment"] or (known[1] if known else "PK" + uuid.uuid4().hex)
                self.payment_actions.setdefault(key, (match["call"], payment_sid, request.data))
            return _json(
                201 if match["payment"] is None else 200, self._payment(match, payment_sid)
            )
        if request.method == "POST" and (match := _PARTICIPANT.fullmatch(path)):
            if match["call"] in self.ended_calls:
                return _not_found(path)  # a participant who left is no longer a resource
            with self._lock:
                self.holds.append((match["conference"], match["call"], request.data))
            return _json(200, self._participant(match, request.data))
        if request.method == "POST" and (match := _CALL.fullmatch(path)):
            if match["account"] != self.account_sid:
                return _error(Failure(403, 20403, "Forbidden"))
            if match["call"] in self.ended_calls:
                return _error(Failure(400, 21220, "Call is not in-progress. Cannot redirect."))
            with self._lock:
                self.redirects.append((match["call"], request.data["Url"]))
            return _json(200, self._call(match["call"]))
        if request.method == "POST" and (match := _MESSAGES.fullmatch(path)):
            if match["account"] != self.account_sid:
                return _error(Failure(403, 20403, "Forbidden"))
            if self.sms_failure is not None:
                return _error(self.sms_failure)
            message = self._message(request.data)
            with self._lock:
                self.messages.append(message)
            if self.after_message is not None:
                self.after_message(message)
            return _json(201, message)
        return _not_found(path)

    def _recording(self, call_sid: str, status: str) -> dict[str, Any]:
        sid = "RE" + uuid.uuid4().hex
        now = formatdate(usegmt=True)
        call_uri = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call_sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "call_sid": call_sid,
            "conference_sid": None,
            "channels": 1,
            "date_created": now,
            "date_updated": now,
            "start_time": now,
            "duration": None,
            "price": None,
            "price_unit": None,
            "sid": sid,
            "source": "StartCallRecordingAPI",
            "status": status,
            "error_code": None,
            "encryption_details": None,
            "track": "both",
            "uri": f"{call_uri}/Recordings/{sid}.json",
        }

    def _payment(self, match: re.Match[str], payment_sid: str) -> dict[str, Any]:
        now = formatdate(usegmt=True)
        return {
            "account_sid": self.account_sid,
            "call_sid": match["call"],
            "sid": payment_sid,
            "date_created": now,
            "date_updated": now,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{match['call']}"
            f"/Payments/{payment_sid}.json",
        }

    def _participant(self, match: re.Match[str], form: dict[str, Any]) -> dict[str, Any]:
        now = formatdate(usegmt=True)
        return {
            "account_sid": self.account_sid,
            "call_sid": match["call"],
            "conference_sid": match["conference"],
            "date_created": now,
            "date_updated": now,
            "end_conference_on_exit": True,
            "hold": form.get("Hold") == "true",
            "muted": False,
            "status": "connected",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Conferences/{match['conference']}"
            f"/Participants/{match['call']}.json",
        }

    def _call(self, call_sid: str) -> dict[str, Any]:
        now = formatdate(usegmt=True)
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "sid": call_sid,
            "status": "in-progress",
            "direction": "inbound",
            "date_created": now,
            "date_updated": now,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call_sid}.json",
        }

    def _message(self, form: dict[str, Any]) -> dict[str, Any]:
        sid = "SM" + uuid.uuid4().hex
        now = formatdate(usegmt=True)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": form["To"],
            "uri": f"{uri}.json",
        }


def _json(status: int, payload: dict[str, Any]) -> Response:
    return Response(status, json.dumps(payload), {"Content-Type": "application/json"})


def _error(failure: Failure) -> Response:
    return _json(
        failure.status,
        {
            "code": failure.code,
            "message": failure.message,
            "more_info": f"https://www.twilio.com/docs/errors/{failure.code}",
            "status": failure.status,
        },
    )


def _not_found(path: str) -> Response:
    return _error(Failure(404, 20404, f"The requested resource /2010-04-01{path} was not found"))
