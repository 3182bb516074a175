"""Signing in to the agent console: passwords, lockout, CSRF, log-out, disabled agents,
cookies and headers (through the Flask test client; the browser tests cover the pages)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import Counter
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import check_password_hash

from flows.agent_capture import fresh_fields
from ivr.models import (
    Agent,
    AgentCall,
    AgentCallStatus,
    AgentCapture,
    AuditEvent,
    CaptureStatus,
    ConsoleSession,
)
from tests.support.agent_desk import PASSWORD, Desk, csrf_of, make_agent
from tests.support.factories import add_account
from verification.agents import set_disabled


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


# --- a console session lives on the server: a copied cookie dies with it ---


def copy_of(desk: Desk, app) -> FlaskClient:
    """Another browser holding a copy of the agent's cookie."""
    thief = app.test_client()
    thief.set_cookie("session", desk.client.get_cookie("session").value)
    assert thief.get("/agent/").status_code == 200
    return thief


def test_a_copied_cookie_stops_working_at_log_out(app, client, alice):
    desk = Desk(client)
    desk.login()
    thief = copy_of(desk, app)
    desk.post("/agent/logout")
    assert thief.get("/agent/").status_code == 302
    assert thief.post("/agent/logout", data={"csrf_token": desk.csrf}).status_code == 401


def test_a_copied_cookie_stops_working_when_the_agent_is_disabled(app, client, db, alice):
    desk = Desk(client)
    desk.login()
    thief = copy_of(desk, app)
    set_disabled(db, db.get(Agent, alice), True, actor="operator")
    db.commit()
    assert thief.get("/agent/").status_code == 302
    assert db.scalars(select(ConsoleSession)).all() == []


def age_sessions(db, by: dt.timedelta) -> None:
    """Move the sessions' clock back: as if ``by`` had passed since the agent last acted."""
    db.rollback()
    for row in db.scalars(select(ConsoleSession)):
        row.last_seen_at -= by
    db.commit()


def test_a_copied_cookie_stops_working_after_the_idle_time(app, client, db, settings, alice):
    desk = Desk(client)
    desk.login()
    thief = copy_of(desk, app)
    idle = dt.timedelta(minutes=settings.CONSOLE_IDLE_MINUTES)
    age_sessions(db, idle - dt.timedelta(minutes=2))
    assert client.get("/agent/").status_code == 200  # the agent acts: the idle clock restarts
    age_sessions(db, idle - dt.timedelta(minutes=2))
    assert client.get("/agent/").status_code == 200
    age_sessions(db, idle)
    assert thief.get("/agent/").status_code == 302
    reply = client.get("/agent/", follow_redirects=True)
    assert "Your console session has ended. Sign in again." in reply.get_data(as_text=True)


def test_the_pages_own_refreshes_do_not_keep_an_idle_session_alive(client, db, settings, alice):
    desk = Desk(client)
    desk.login()
    idle = dt.timedelta(minutes=settings.CONSOLE_IDLE_MINUTES)
    background = {"Sec-Fetch-Mode": "cors"}
    age_sessions(db, idle - dt.timedelta(minutes=1))
    assert client.get("/agent/", headers=background).status_code == 200
    age_sessions(db, dt.timedelta(minutes=2))
    assert client.get("/agent/", headers=background).status_code == 401  # the script reloads


def test_the_event_stream_refuses_an_ended_session(app, client, alice):
    desk = Desk(client)
    desk.login()
    thief = copy_of(desk, app)
    desk.post("/agent/logout")
    assert thief.get("/agent/payments/1/events").status_code == 401


def test_an_open_event_stream_stops_when_its_session_ends(app, client, db, settings, alice):
    account = add_account(db, settings)
    call = AgentCall(call_sid="CA" + "1" * 32, account_id=account.id, verified=True,
                   agent_id=alice, status=AgentCallStatus.CLAIMED)  # fmt: skip
    db.add(call)
    db.flush()
    capture = AgentCapture(
        handoff_id=call.id, call_sid=call.call_sid, agent_id=alice, account_id=account.id,
        amount_cents=14250, mode="dtmf", status=CaptureStatus.CAPTURING, fields=fresh_fields(),
    )  # fmt: skip
    db.add(capture)
    db.commit()
    desk = Desk(client)
    desk.login()
    watcher = copy_of(desk, app)
    first, signed_out = threading.Event(), threading.Event()
    chunks: list[bytes] = []

    def watch() -> None:  # the whole stream is read in this one thread
        reply = watcher.get(f"/agent/payments/{capture.id}/events", buffered=False)
        for chunk in reply.response:
            chunks.append(chunk)
            first.set()
            signed_out.wait(10)
        reply.close()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    assert first.wait(10)
    desk.post("/agent/logout")
    signed_out.set()
    reader.join(10)
    assert not reader.is_alive(), "the stream went on after log-out"
    [event] = chunks
    assert b'"status": "capturing"' in event


# --- a log-in tells nobody which usernames exist ---


def answer(reply) -> tuple[int, list[tuple[str, str]], bytes]:
    """All a browser learns from a log-in's reply but the cookie it re-signs."""
    headers = sorted((name, value) for name, value in reply.headers if name != "Set-Cookie")
    return reply.status_code, headers, reply.get_data()


def counting_checks(app) -> Counter[str]:
    """Count the password hash checks the console makes, by hash (the real check still runs)."""
    console = app.extensions["ivr"].agent_console
    counts: Counter[str] = Counter()

    def check(hashed: str, password: str) -> bool:
        counts[hashed] += 1
        return check_password_hash(hashed, password)

    console.policy = dataclasses.replace(console.policy, check_password=check)
    return counts


def test_unknown_and_real_usernames_get_byte_identical_answers_across_the_throttle(
    app, client, db, settings, alice
):
    checks = counting_checks(app)
    desk = Desk(client)  # one browser, so one CSRF token in every page
    rounds = settings.AGENT_MAX_FAILED_LOGINS + 2
    for n in range(rounds):
        before = sum(checks.values())
        real = answer(desk.login("alice", "wrong password"))
        assert sum(checks.values()) == before + (n < settings.AGENT_MAX_FAILED_LOGINS)
        unknown = answer(desk.login("nobody", "wrong password"))
        assert unknown == real, f"round {n + 1} tells the usernames apart"
        assert sum(checks.values()) == before + 2 * (n < settings.AGENT_MAX_FAILED_LOGINS)
    page = real[2].decode()
    assert (
        f"Too many failed log-ins: try again in {settings.AGENT_LOCKOUT_MINUTES} minutes." in page
    )
    [real_hash] = [h for h in checks if h == db.get(Agent, alice).password_hash]
    assert checks[real_hash] == settings.AGENT_MAX_FAILED_LOGINS  # and as many dummy checks
    assert sum(checks.values()) == 2 * settings.AGENT_MAX_FAILED_LOGINS


def test_a_disabled_agent_gets_the_answer_of_an_unknown_one(app, client, db, settings, alice):
    set_disabled(db, db.get(Agent, alice), True, actor="operator")
    db.commit()
    desk = Desk(client)
    for _ in range(settings.AGENT_MAX_FAILED_LOGINS + 1):
        assert answer(desk.login("alice")) == answer(desk.login("nobody", "wrong password"))


def client_from(app, address: str) -> FlaskClient:
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


def test_failures_from_one_address_lock_it_whatever_usernames_it_tries(make_app, db, alice):
    app = make_app(AGENT_MAX_FAILED_LOGINS_PER_ADDRESS=3)
    guesser = Desk(client_from(app, "203.0.113.9"))
    for name in ("ann", "bea", "cal"):
        assert guesser.login(name, "wrong password").status_code == 401
    reply = guesser.login()  # alice's right password, from the locked address
    assert reply.status_code == 401 and "Too many failed log-ins" in reply.get_data(as_text=True)
    elsewhere = Desk(client_from(app, "198.51.100.20"))
    assert elsewhere.login().status_code == 302
