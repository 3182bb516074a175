"""Signing in to the agent console: passwords, lockout, CSRF, log-out, disabled agents,
cookies and headers (through the Flask test client; the browser tests cover the pages)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from ivr.models import Agent, AuditEvent
from tests.ivr.agent_desk import PASSWORD, Desk, csrf_of, make_agent


def logins(db) -> list[tuple[str, str]]:
    db.rollback()
    query = select(AuditEvent).where(AuditEvent.action == "agent.login").order_by(AuditEvent.id)
    return [(event.actor, event.outcome) for event in db.scalars(query)]


@pytest.fixture
def alice(db) -> int:
    return make_agent(db)


def test_the_console_sends_strangers_to_the_log_in_page(client):
    reply = client.get("/agent/")
    assert reply.status_code == 302
    assert reply.headers["Location"].startswith("/agent/login")
    assert client.get("/agent/payments/1/events").status_code == 401


def test_a_good_log_in_sets_a_protected_session_cookie_and_is_audited(client, db, alice):
    reply = Desk(client).login()
    assert reply.status_code == 302 and reply.headers["Location"] == "/agent/"
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert logins(db) == [("agent:alice", "success")]
    page = client.get("/agent/")
    assert 'Signed in as <strong id="agent-name">alice</strong>' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_secure_cookies_follow_the_setting(make_app):
    app = make_app(SESSION_COOKIE_SECURE=False)
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert make_app(SESSION_COOKIE_SECURE=True).config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong password"), ("eve", PASSWORD)])
def test_wrong_credentials_get_one_answer(client, db, alice, username, password):
    reply = Desk(client).login(username, password)
    assert reply.status_code == 401
    assert "Wrong username or password." in reply.get_data(as_text=True)
    assert client.get("/agent/").status_code == 302
    assert logins(db)[-1][1] == "bad_credentials"


def test_repeated_failures_lock_the_agent_even_with_the_right_password(client, db, settings, alice):
    desk = Desk(client)
    for _ in range(settings.AGENT_MAX_FAILED_LOGINS):
        desk.login(password="wrong password")
    reply = desk.login()
    assert reply.status_code == 401
    assert (
        f"Too many failed log-ins: try again in {settings.AGENT_LOCKOUT_MINUTES} minutes."
        in reply.get_data(as_text=True)
    )
    assert logins(db)[-2:] == [("agent:alice", "locked"), ("agent:alice", "locked")]


def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(client, db, alice):
    desk = Desk(client)
    desk.login()
    for token in ("", "forged"):
        reply = client.post("/agent/logout", data={"csrf_token": token})
        assert reply.status_code == 403
        assert "did not come from the console" in reply.get_data(as_text=True)
    assert client.get("/agent/").status_code == 200  # still signed in


def test_a_log_in_form_needs_its_csrf_token_too(client, db, alice):
    client.get("/agent/login")
    reply = client.post("/agent/login", data={"username": "alice", "password": PASSWORD})
    assert reply.status_code == 403
    assert logins(db) == []


def test_log_out_ends_the_session(client, db, alice):
    desk = Desk(client)
    desk.login()
    assert desk.post("/agent/logout").status_code == 302
    assert client.get("/agent/").status_code == 302
    db.rollback()
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["agent.login", "agent.logout"]


def test_a_disabled_agent_is_signed_out_on_the_next_request(client, db, alice):
    Desk(client).login()
    db.get(Agent, alice).disabled = True
    db.commit()
    assert client.get("/agent/").status_code == 302
    assert Desk(client).login().status_code == 401


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/agent/", "/agent//evil.example/"]
)
def test_log_in_returns_only_to_console_pages(client, db, alice, target):
    page = client.get("/agent/login", query_string={"next": target}).get_data(as_text=True)
    reply = client.post(
        "/agent/login?" + urlencode({"next": target}),
        data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(page)},
    )
    assert reply.headers["Location"] == "/agent/"
