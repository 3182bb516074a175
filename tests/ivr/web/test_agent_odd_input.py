"""Odd input to the agent console gets a clear 400 or 404, never a 500: control characters in
any field (NUL bytes, line breaks), ids beyond the database's integers, a ``next=`` that would
leave the console or break the redirect, and a database that cannot be reached (503). On both
databases, through the Flask test client."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.support.agent_desk import PASSWORD, csrf_of, make_agent

TOO_BIG = [2**31, 2**63, 10**30]
CONTROL = ["\x00", "\r\n", "\x1b", "\x7f"]


def login_form(client, **fields: str) -> dict[str, str]:
    token = csrf_of(client.get("/agent/login").get_data(as_text=True))
    return {"username": "alice", "password": PASSWORD, "csrf_token": token, **fields}


@pytest.mark.parametrize("bad", CONTROL)
@pytest.mark.parametrize("field", ["username", "password"])
def test_a_control_character_in_the_log_in_is_a_400_without_signing_in(client, db, field, bad):
    make_agent(db)
    form = login_form(client)
    form[field] = form[field][:2] + bad + form[field][2:]
    reply = client.post("/agent/login", data=form)
    assert reply.status_code == 400
    assert "control character" in reply.get_data(as_text=True)
    assert client.get("/agent/").status_code == 302


@pytest.mark.parametrize("bad", CONTROL)
def test_a_control_character_in_next_after_the_right_password_is_a_400(client, db, bad):
    make_agent(db)
    form = login_form(client)
    reply = client.post(
        "/agent/login?" + urlencode({"next": f"/agent/{bad}Set-Cookie: x=1"}), data=form
    )
    assert reply.status_code == 400
    assert "Set-Cookie" not in str(reply.headers.get("Location"))


@pytest.mark.parametrize(
    "target", ["/agent/\\evil.example", "/agent/..//evil.example", "\\\\evil.example/agent/"]
)
def test_next_returns_only_to_a_path_of_the_console(client, db, target):
    make_agent(db)
    reply = client.post("/agent/login?" + urlencode({"next": target}), data=login_form(client))
    assert reply.headers["Location"] == "/agent/"


SIGNED_IN_FIELDS = [
    ("GET", "/agent/accounts", "number"),
    ("POST", "/agent/calls/1/payment", "amount"),
    ("POST", "/agent/payments/1/rerequest", "field"),
    ("POST", "/agent/payments/1/cancel", "back"),
    ("POST", "/agent/calls/1/claim", "anything"),
    ("POST", "/agent/calls/1/disputes", "amount"),
    ("POST", "/agent/calls/1/locks/lift", "subject"),
    ("POST", "/agent/locks/lift", "back"),
    ("GET", "/agent/", "next"),
]


@pytest.mark.parametrize(("method", "path", "field"), SIGNED_IN_FIELDS)
def test_a_control_character_in_any_field_is_a_400(desk, method, path, field):
    for bad in CONTROL:
        value = f"7000{bad}0001"
        if method == "GET":
            reply = desk.client.get(path, query_string={field: value})
        else:
            reply = desk.post(path, **{field: value})
        assert reply.status_code == 400, repr(bad)
        assert "control character" in reply.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("GET", "/agent/calls/{}"),
        ("POST", "/agent/calls/{}/claim"),
        ("POST", "/agent/calls/{}/payment"),
        ("POST", "/agent/calls/{}/disputes"),
        ("POST", "/agent/calls/{}/locks/lift"),
        ("POST", "/agent/payments/{}/rerequest"),
        ("POST", "/agent/payments/{}/cancel"),
        ("GET", "/agent/payments/{}/events"),
    ],
)
def test_ids_beyond_the_databases_integers_are_404(desk, method, route):
    for number in TOO_BIG:
        path = route.format(number)
        reply = desk.client.get(path) if method == "GET" else desk.post(path, amount="10")
        assert reply.status_code == 404, path
    # the largest id the database holds is an ordinary "no such call or payment"
    largest = route.format(2**31 - 1)
    reply = desk.client.get(largest) if method == "GET" else desk.post(largest, amount="10")
    assert reply.status_code in (302, 404)


def test_odd_account_numbers_are_an_answer_not_an_error(desk):
    arabic_digits = "\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0661"
    for number in ["7" * 5000, arabic_digits, "-1", "1e9", "%00"]:
        reply = desk.client.get("/agent/accounts", query_string={"number": number})
        assert reply.status_code == 302, number  # to the calls, saying there is no such account


def test_a_database_that_cannot_be_reached_is_a_503_page(make_app, database_url, tmp_path):
    unreachable = (
        f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}"
        if database_url.startswith("sqlite")
        else "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"
    )
    client = make_app(DATABASE_URL=unreachable).test_client()
    reply = client.post("/agent/login", data=login_form(client))
    assert reply.status_code == 503
    assert "cannot reach its database right now" in reply.get_data(as_text=True)
