"""Texting the app the way Twilio delivers messages: signed ``/sms/incoming`` posts."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

from flask.testing import FlaskClient

from tests.ivr.webhooks import post

ADA_PHONE = "+15005550006"
_SIDS = itertools.count(1)
MAX_REPLY = 320  # two text segments: replies must stay short
# Words only a keypad prompt says: a text reply with them used a voice prompt by mistake.
KEYPAD_WORDS = re.compile(r"\b(press|pound|oprima|numeral|asterisco|star)\b", re.IGNORECASE)


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
