"""Our signature check against the request-validator test vectors Twilio publishes with its
helper libraries (twilio-python ``tests/unit/test_request_validator.py``): auth token ``12345``,
the same URL with its port added or removed, repeated keys, and a JSON body signed through
``bodySHA256``."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from ivr.web.signature import is_signed

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
BODY = '{"property": "value", "boolean": true}'
BODY_SHA256 = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
REPEATED = MultiDict(
    [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
)


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        (URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (URL.replace(".com", ".com:1234"), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),  # port removed
        (URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),  # signed with :443 added
        (URL.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # signed with :80
        (URL.replace(".com", ".com:1234").replace("https", "http"), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
    ],
)  # fmt: skip
def test_published_form_vectors_are_accepted(url: str, signature: str) -> None:
    assert is_signed(TOKEN, url, PARAMS, signature)


def test_repeated_keys_count_every_value() -> None:
    assert is_signed(TOKEN, URL, REPEATED, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    only_first = MultiDict([(key, REPEATED[key]) for key in REPEATED])
    assert not is_signed(TOKEN, URL, only_first, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")


def test_json_body_is_signed_through_its_sha256_in_the_url() -> None:
    url = f"{URL}&bodySHA256={BODY_SHA256}"
    assert is_signed(TOKEN, url, BODY, "a9nBmqA0ju/hNViExpshrM61xv4=")
    assert not is_signed(
        TOKEN, url, BODY.replace("value", "forged"), "a9nBmqA0ju/hNViExpshrM61xv4="
    )


@pytest.mark.parametrize("body", [BODY, "", "{", "\ufffd\x00"])
def test_a_body_without_its_sha256_in_the_url_is_refused_not_an_error(body: str) -> None:
    """The validator would sign the body's characters as if they were form keys and fail."""
    assert not is_signed(TOKEN, URL, body, "a9nBmqA0ju/hNViExpshrM61xv4=")


@pytest.mark.parametrize(
    ("url", "params", "token"),
    [
        ("https://mycompany.com/myapp.php?bar=2&foo=1", PARAMS, TOKEN),  # query reordered
        (URL + "&extra=1", PARAMS, TOKEN),  # query parameter injected
        (URL, {**PARAMS, "Digits": "9999"}, TOKEN),  # form value changed
        (URL, {**PARAMS, "Extra": "1"}, TOKEN),  # form parameter injected
        (URL, PARAMS, "54321"),  # another account's token
    ],
)
def test_any_change_breaks_the_signature(url: str, params: dict[str, str], token: str) -> None:
    assert not is_signed(token, url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


@pytest.mark.parametrize("signature", [None, "", "not base64 at all", "RSOYDt4T1cUTdK1PDd93"])
def test_missing_or_malformed_signatures_are_refused_not_errors(signature: str | None) -> None:
    assert not is_signed(TOKEN, URL, PARAMS, signature)
