"""Every webhook refuses requests Twilio did not sign, and writes nothing when it does."""

import pytest

from tests.conftest import PUBLIC_BASE_URL
from tests.ivr.webhooks import call_form, post, row_counts, sign

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
