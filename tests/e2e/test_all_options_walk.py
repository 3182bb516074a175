"""Every key at every prompt a caller or texter can reach by keys alone, through the real
signed webhooks: never a server error, always a reply worth sending.

The walk is generated, not scripted: from the first contact and from the main menu it presses
each key, notes the state the conversation moved to (the session row), and walks every new
state the same way. A new option or menu is walked without editing this file; what it finds is
checked against the flows' own declarations: every option the main menu declares is reached,
and the engine itself refuses (a server error here) any move a step did not declare.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from flows.engine import DONE
from flows.journey import CALL_FLOW
from flows.text import TEXT_FLOW
from ivr.config import Settings
from ivr.models import Conversation
from tests.support.factories import add_account
from tests.support.keys import TEXT_VERIFY
from tests.support.texting import Phone
from tests.support.webhooks import call_form, post

KEYS = (*"0123456789", "*", "#")
NOT_AFTER_VERIFYING = {"identify"}  # the main menu's way back for a session without an account


@dataclass
class Contact:
    """One call or text conversation of the walk, on an account of its own."""

    say: Callable[[str], str | None]  # a key in; a problem with the reply, if any
    state: Callable[[], str]
    open: Callable[[], bool]  # whether it still takes keys


@dataclass
class Walk:
    contact: Callable[[], Contact]
    moves: dict[tuple[str, str], str] = field(default_factory=dict)  # (state, key) -> state
    problems: list[str] = field(default_factory=list)

    def replay(self, path: tuple[str, ...]) -> Contact:
        contact = self.contact()
        for key in path:
            problem = contact.say(key)
            assert problem is None, f"{path}: {problem}"
        return contact

    def run(self, *roots: tuple[str, ...]) -> set[str]:
        """Every state reached from ``roots`` (key paths from the first contact) by keys."""
        todo = deque((root, self.replay(root).state()) for root in roots)
        reached = {state for _, state in todo}
        while todo:
            path, state = todo.popleft()
            for key in KEYS:
                contact = self.replay(path)
                problem = contact.say(key)
                after = contact.state()
                self.moves[(state, key)] = after
                if problem is not None:
                    self.problems.append(f"{state} {key!r} (after {path}): {problem}")
                if after not in reached and after != DONE and contact.open():
                    reached.add(after)
                    todo.append(((*path, key), after))
        return reached


def _session(db: Session, sid: str) -> Conversation:
    db.rollback()
    db.expire_all()
    conv = db.get(Conversation, sid)
    assert conv is not None
    return conv


def _numbers() -> Callable[[Session, Settings], str]:
    """A fresh account per contact (its own phone), so that no walk sees another's dispute,
    arrangement or lockout."""
    counter = itertools.count(1)

    def fresh(db: Session, settings: Settings) -> str:
        n = next(counter)
        phone = f"+1500555{1000 + n:04d}"
        add_account(db, settings, account_number=f"7100{n:04d}", phone=phone)
        return phone

    return fresh


def _voice_problem(status: int, xml: str) -> str | None:
    if status != 200:
        return f"HTTP {status}"
    root = ET.fromstring(xml)  # noqa: S314 - our own app's TwiML
    said = " ".join("".join(say.itertext()) for say in root.iter("Say")).strip()
    ends = [root.find(verb) for verb in ("Hangup", "Enqueue", "Dial", "Pay")]
    if root.tag != "Response" or not (said or any(verb is not None for verb in ends)):
        return f"nothing said: {xml}"
    if "{" in said or "}" in said:
        return f"a template left unfilled: {said}"
    if root.find("Gather") is None and root.find("Redirect") is None and ends == [None] * 4:
        return f"neither asks nor ends: {xml}"
    return None


def voice_contacts(client: FlaskClient, db: Session, settings: Settings) -> Callable[[], Contact]:
    fresh = _numbers()
    sids = (f"CA{n:032d}" for n in itertools.count(1))

    def contact() -> Contact:
        phone, sid = fresh(db, settings), next(sids)
        response = post(client, "/voice/incoming", call_form(sid, phone))
        last = {"xml": response.get_data(as_text=True)}
        assert _voice_problem(response.status_code, last["xml"]) is None, last["xml"]

        def gather() -> ET.Element | None:
            return ET.fromstring(last["xml"]).find("Gather")  # noqa: S314

        def say(key: str) -> str | None:
            asked = gather()
            assert asked is not None, "the call takes no more keys"
            response = post(client, asked.get("action", ""), call_form(sid, phone, Digits=key))
            while True:
                last["xml"] = response.get_data(as_text=True)
                problem = _voice_problem(response.status_code, last["xml"])
                redirect = ET.fromstring(last["xml"]).find("Redirect")  # noqa: S314
                if problem or redirect is None or "resume=1" not in (redirect.text or ""):
                    return problem
                response = post(client, redirect.text or "", call_form(sid, phone))

        return Contact(say, lambda: _session(db, sid).state, lambda: gather() is not None)

    return contact


def text_contacts(client: FlaskClient, db: Session, settings: Settings) -> Callable[[], Contact]:
    fresh = _numbers()

    def contact() -> Contact:
        phone = Phone(client, fresh(db, settings))

        def say(key: str) -> str | None:
            try:
                reply = phone.send(key)  # 200, TwiML, text words only, short enough
            except AssertionError as refused:
                return f"refused reply: {refused}"
            return None if reply.strip() else "an empty reply"

        return Contact(say, lambda: _session(db, f"sms:{phone.number}").state, lambda: True)

    return contact


# The first contact (a call is greeted on answering; a text starts with any message), and the
# same contact through verification to the main menu.
VOICE = ((), ("1", "1", "1234", "94105"))  # greeting, "is this your account?", PIN, ZIP
TEXT = (TEXT_VERIFY[:1], TEXT_VERIFY)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the flows, not the storage
@pytest.mark.parametrize(
    ("flow", "contacts", "roots"),
    [
        pytest.param(CALL_FLOW, voice_contacts, VOICE, id="voice"),
        pytest.param(TEXT_FLOW, text_contacts, TEXT, id="text"),
    ],
)
def test_every_option_of_every_menu_answers(client, db, settings, flow, contacts, roots):
    walk = Walk(contacts(client, db, settings))
    reached = walk.run(*roots)

    assert walk.problems == []
    # Each option the main menu declares was reached, or passed through on to where that step
    # declares it goes (a text's AGENT says whom to call and goes back to the menu), or to the
    # end of the call for a step that goes nowhere (the voice line's transfer to an agent).
    after_menu = {after for (state, _), after in walk.moves.items() if state == "main_menu"}
    missed = {
        option
        for option in set(flow.steps["main_menu"].goes_to) - NOT_AFTER_VERIFYING
        if option not in reached and not after_menu & set(flow.steps[option].goes_to or (DONE,))
    }
    assert missed == set()
