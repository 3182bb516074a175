"""Every webhook refuses requests Twilio did not sign, and writes nothing when it does."""

import hashlib
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from ivr.config import DEV_AUTH_TOKEN
from payments.gateways.sandbox_tables import SandboxCharge
from tests.conftest import PUBLIC_BASE_URL
from tests.support.factories import add_account
from tests.support.keys import paying, posted
from tests.support.webhooks import call_form, post, row_counts, sign

WEBHOOKS = ["/voice/incoming", "/voice/step?turn=1", "/voice/status", "/voice/whisper?call=CA1"]


@pytest.mark.parametrize("path", WEBHOOKS)
def test_missing_signature_is_403_and_writes_nothing(client, db, path):
    response = client.post(path, data=call_form())
    assert response.status_code == 403
    assert row_counts(db) == (0, 0, 0)


@pytest.mark.parametrize("path", WEBHOOKS)
def test_forged_signature_is_403(client, db, path):
    form = call_form()
    bad = {"X-Twilio-Signature": sign(PUBLIC_BASE_URL + path, form, token="not-the-token")}
    assert client.post(path, data=form, headers=bad).status_code == 403
    assert row_counts(db) == (0, 0, 0)


def test_tampered_parameter_is_403(client, db):
    form = call_form()
    signature = sign(PUBLIC_BASE_URL + "/voice/incoming", form)
    tampered = {**form, "From": "+15005550009"}
    response = client.post(
        "/voice/incoming", data=tampered, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403
    assert row_counts(db) == (0, 0, 0)


def test_injected_parameter_is_403(client, db):
    form = call_form()
    signature = sign(PUBLIC_BASE_URL + "/voice/incoming", form)
    response = client.post(
        "/voice/incoming", data={**form, "Digits": "1"}, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


def test_signature_for_plain_http_is_refused_when_public_url_is_https(client, db):
    http_url = PUBLIC_BASE_URL.replace("https://", "http://") + "/voice/incoming"
    response = post(client, "/voice/incoming", call_form(), signed_url=http_url)
    assert response.status_code == 403
    assert row_counts(db) == (0, 0, 0)


def test_valid_signature_behind_a_proxy_is_accepted(client, db):
    """The app sees http://localhost; Twilio signed the public https URL. PUBLIC_BASE_URL wins."""
    response = post(
        client,
        "/voice/incoming",
        call_form(),
        headers={"X-Forwarded-Proto": "https", "Host": "10.0.0.5:8000"},
    )
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert row_counts(db)[0] == 1


def test_signature_with_default_port_is_accepted(client):
    url = PUBLIC_BASE_URL.replace(".com", ".com:443") + "/voice/incoming"
    assert post(client, "/voice/incoming", call_form(), signed_url=url).status_code == 200


def test_query_string_is_part_of_the_signed_url(client):
    post(client, "/voice/incoming", call_form())
    other_turn = PUBLIC_BASE_URL + "/voice/step?turn=2"
    response = post(client, "/voice/step?turn=1", call_form(Digits="1"), signed_url=other_turn)
    assert response.status_code == 403


def test_check_can_be_turned_off_explicitly(make_app):
    app = make_app(VERIFY_SIGNATURES=False)
    response = app.test_client().post("/voice/incoming", data=call_form())
    assert response.status_code == 200


def test_reordered_query_is_403(client):
    post(client, "/voice/incoming", call_form())
    signed = PUBLIC_BASE_URL + "/voice/step?turn=1&silence=1"
    response = post(client, "/voice/step?silence=1&turn=1", call_form(), signed_url=signed)
    assert response.status_code == 403


def test_json_body_webhooks_are_checked_by_body_hash(client, db):
    body = '{"CallSid": "CA1", "CallStatus": "completed"}'
    digest = hashlib.sha256(body.encode()).hexdigest()
    path = f"/voice/status?bodySHA256={digest}"
    signature = RequestValidator(DEV_AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path, {})
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/json"}
    assert client.post(path, data=body, headers=headers).status_code == 204
    forged = body.replace("completed", "busy")
    assert client.post(path, data=forged, headers=headers).status_code == 403


def test_a_rejected_authorization_never_reaches_the_gateway(app, db, settings):
    """The caller confirms; the 'one moment' redirect that would charge arrives forged: 403 and
    no charge. The genuine redirect then charges once."""
    add_account(db, settings)
    presses = posted(paying())
    sid, client = "CA" + "7" * 32, app.test_client()
    post(client, "/voice/incoming", call_form(sid))
    for turn, keys in enumerate(presses, start=1):
        path = f"/voice/step?turn={turn}" + ("" if keys else "&silence=1")
        confirmed = post(client, path, call_form(sid, **({"Digits": keys} if keys else {})))
    resume = ET.fromstring(confirmed.get_data(as_text=True)).find("Redirect").text  # noqa: S314

    forged = sign(PUBLIC_BASE_URL + resume, call_form(sid), token="not-the-token")
    refused = client.post(resume, data=call_form(sid), headers={"X-Twilio-Signature": forged})
    assert refused.status_code == 403
    assert charges(db) == 0
    assert post(client, resume, call_form(sid)).status_code == 200
    assert charges(db) == 1


def charges(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(SandboxCharge))
