"""Texting the app the way Twilio delivers messages: signed ``/sms/incoming`` posts."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.card_scan import CODE
from tests.support.factories import ADA_PHONE
from tests.support.webhooks import post

_SIDS = itertools.count(1)
MAX_REPLY = 320  # two text segments: replies must stay short
# Words only a keypad prompt says: a text reply with them used a voice prompt by mistake.
KEYPAD_WORDS = re.compile(r"\b(press|pound|oprima|numeral|asterisco|star)\b", re.IGNORECASE)
LINK = re.compile(r"https://pay\.example\.com(/pay/[A-Za-z0-9_-]+)")
VISA = "4242 4242 4242 4242"  # as people type it on the pay page


def message_form(body: str, sender: str = ADA_PHONE, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or f"SM{next(_SIDS):032d}",
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+15005550000",
        "Body": body,
        "NumMedia": "0",
    }


def reply_of(xml: str) -> str:
    """The text of the reply's ``<Message>`` ("" when the app sends nothing)."""
    root = ET.fromstring(xml)  # noqa: S314 - our own app's TwiML
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) <= 1
    return messages[0].text or "" if messages else ""


class Phone:
    """One phone texting the app: ``send`` returns the reply's text, which must never tell a
    texter to press a key, and must stay short."""

    def __init__(self, client: FlaskClient, number: str = ADA_PHONE) -> None:
        self.client = client
        self.number = number
        self.replies: list[str] = []

    def send(self, body: str, sid: str | None = None) -> str:
        response = post(self.client, "/sms/incoming", message_form(body, self.number, sid))
        assert response.status_code == 200, response.status_code
        assert response.mimetype == "application/xml"
        reply = reply_of(response.get_data(as_text=True))
        assert not KEYPAD_WORDS.search(reply), reply
        assert len(reply) <= MAX_REPLY, reply
        self.replies.append(reply)
        return reply

    def conversation(self, *bodies: str) -> list[str]:
        return [self.send(body) for body in bodies]


def link_in(reply: str) -> str:
    """The path of the pay link in a reply."""
    found = LINK.search(reply)
    assert found, reply
    return found.group(1)


def form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([a-f0-9]+)"', html)
    assert found, "page has no form token"
    return found.group(1)


def pay(
    client: FlaskClient,
    path: str,
    number: str = VISA,
    expiry: str = "12/30",
    code: str = CODE,
    postal: str = "94105",
    **extra: Any,
) -> TestResponse:
    """Open the pay page at ``path`` and submit its form with this card."""
    page = client.get(path)
    assert page.status_code == 200
    fields = {"number": number, "expiry": expiry, "code": code, "postal": postal}
    return client.post(path, data={"form_token": form_token(page.text), **fields, **extra})
