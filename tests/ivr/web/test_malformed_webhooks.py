"""Malformed and oversized requests to every Twilio webhook: 400, 403 or 413, never 500, and
nothing written. The routes come from the app's URL map, so a new webhook is covered too."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.models import Base
from ivr.web.signature import twilio_webhook
from tests.support.webhooks import call_form

# Every view wrapped by ``twilio_webhook`` runs this one function's code.
_CHECKED = twilio_webhook(lambda: None).__code__


def webhook_paths(app: Flask) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if app.view_functions[rule.endpoint].__code__ is _CHECKED
    )


def rows(db: Session) -> int:
    """Rows in every table: proof that a request wrote nothing at all."""
    db.rollback()
    return sum(
        db.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    )


def test_the_url_map_lists_all_fourteen_webhooks(app: Flask) -> None:
    paths = webhook_paths(app)
    assert len(paths) == 14, paths
    assert {"/voice/incoming", "/voice/status", "/sms/incoming"} <= set(paths)


JSON_BODY = json.dumps(call_form()).encode()
FORM = "application/x-www-form-urlencoded"
MALFORMED = {
    "json": (JSON_BODY, "application/json"),
    "multipart-without-boundary": (b"CallSid=CA1", "multipart/form-data"),
    "unknown-content-type": (b"\x00\x01CallSid", "application/x-unknown"),
    "garbage-bytes": (bytes(range(256)) * 4, FORM),
    "non-utf8-form": (b"CallSid=CA\xff\xfe&From=%FF%FE%00", FORM),
    "non-utf8-json": (b'{"CallSid": "\xff\xfe"}', "application/json"),
    "bad-percent-escapes": (b"CallSid=%ZZ%&%", FORM),
}


@pytest.mark.parametrize("signature", ["forged", None], ids=["any-signature", "unsigned"])
@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_bodies_get_400_or_403_on_every_webhook(
    app: Flask, client: FlaskClient, db: Session, case: str, signature: str | None
) -> None:
    body, content_type = MALFORMED[case]
    headers = {"Content-Type": content_type}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    answers = {
        path: client.post(path, data=body, headers=headers).status_code
        for path in webhook_paths(app)
    }
    assert {path: code for path, code in answers.items() if code not in (400, 403)} == {}
    assert rows(db) == 0


@pytest.mark.parametrize("query", ["turn=\xff", "turn=\xc3(", "bodySHA256=\xff"])
def test_a_query_string_that_is_not_utf8_is_403_on_every_webhook(
    app: Flask, client: FlaskClient, db: Session, query: str
) -> None:
    """Raw bytes in the URL (Twilio percent-encodes its own), as a WSGI server passes them."""
    answers = {
        path: client.post(
            path,
            data=call_form(),
            headers={"X-Twilio-Signature": "forged"},
            environ_overrides={"QUERY_STRING": query},
        ).status_code
        for path in webhook_paths(app)
    }
    assert set(answers.values()) == {403}, answers
    assert rows(db) == 0


@pytest.mark.parametrize("path", ["/voice/status", "/sms/incoming"])
def test_a_json_body_with_a_forged_body_hash_is_403(
    client: FlaskClient, db: Session, path: str
) -> None:
    digest = hashlib.sha256(JSON_BODY).hexdigest()
    response = client.post(
        f"{path}?bodySHA256={digest}",
        data=JSON_BODY,
        headers={"X-Twilio-Signature": "forged", "Content-Type": "application/json"},
    )
    assert response.status_code == 403
    assert rows(db) == 0


class HugeBody(io.RawIOBase):
    """An 80 MB upload made only as it is read, counting what was read (it can tell its size,
    as the test client asks, without making it)."""

    size = 80 * 1024 * 1024

    def __init__(self) -> None:
        self.position = self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = offset + (self.size if whence == io.SEEK_END else 0)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.size - self.position)
        buffer[:count] = b"x" * count
        self.position += count
        self.read_bytes += count
        return count


def test_bodies_over_max_content_length_get_413_unread_on_every_webhook(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    """An unsigned 80 MB body: refused before the signature check would read it."""
    for path in webhook_paths(app):
        body = HugeBody()
        response = client.post(
            path,
            input_stream=body,
            content_type="application/x-www-form-urlencoded",
        )
        assert (response.status_code, body.read_bytes) == (413, 0), path
    assert rows(db) == 0


def test_a_body_just_under_the_limit_is_read_and_judged(client: FlaskClient, db: Session) -> None:
    form = call_form(Body="x" * (60 * 1024))
    response = client.post("/sms/incoming", data=form, headers={"X-Twilio-Signature": "forged"})
    assert response.status_code == 403
    assert rows(db) == 0


def test_the_limit_is_a_setting(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(MAX_CONTENT_LENGTH=1024).test_client()
    assert client.post("/sms/incoming", data={"Body": "x" * 2000}).status_code == 413
    assert client.post("/sms/incoming", data={"Body": "x" * 500}).status_code == 403
