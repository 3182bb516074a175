"""The rules every step shares, on a toy flow: no database, no HTTP, no Twilio."""

from __future__ import annotations

import datetime as dt
from typing import cast

import pytest
from sqlalchemy.orm import Session

from flows.context import Context
from flows.engine import (
    DONE,
    Ask,
    Digits,
    Finish,
    Flow,
    FlowError,
    Go,
    Hangup,
    Hook,
    Limits,
    NoInput,
    Outcome,
    Repeat,
    Resume,
    Retry,
    Step,
    Transfer,
    Turn,
)
from ivr.config import load_settings
from ivr.models import Conversation
from prompts import Prompt

AGENT = "+15005550100"
MENU_ASK = Ask(max_digits=2)
MENU = Turn((Prompt("menu"),), MENU_ASK)
GOODBYE = Turn((Prompt("goodbye"),), end=Hangup())


def menu_after(*said: str) -> Turn:
    """The menu asked again after ``said``."""
    return Turn(tuple(Prompt(key) for key in said) + MENU.say, MENU_ASK)


def goodbye(key: str) -> Turn:
    return Turn((Prompt(key),), end=Hangup())


class Menu(Step):
    name = "menu"
    goes_to = ("router", "menu", "patient", "info")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return MENU

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Outcome:
        conv.data.setdefault("heard", []).append(digits)
        match digits:
            case "1":
                return Go("router", (Prompt("ok"),))
            case "2":
                return Go("menu", (Prompt("again"),))
            case "3":
                return Repeat((Prompt("repeat"),))
            case "6":
                return Go("patient")
            case "7":
                return Go("info")
            case "9":
                return Finish(Turn((Prompt("bye"),), end=Hangup()))
        return Retry(Prompt("not_a_choice"))


class Router(Step):
    """A decision step: never asks, just passes on."""

    name = "router"
    goes_to = ("check",)

    def prompt(self, conv: Conversation, ctx: Context) -> Go:
        return Go("check", (Prompt("routed"),))


class Check(Step):
    name = "check"
    goes_to = ("agent",)

    def prompt(self, conv: Conversation, ctx: Context) -> Go:
        return Go("agent", (Prompt("checked"),))


class Agent(Step):
    name = "agent"

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return Turn((Prompt("connecting"),), end=Transfer(AGENT))


class Info(Step):
    name = "info"

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return Turn((Prompt("info"),), end=Hangup())


class Patient(Step):
    """Treats silence as an answer."""

    name = "patient"
    goes_to = ("menu",)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return Turn((Prompt("take_your_time"),), Ask())

    def on_no_input(self, conv: Conversation, ctx: Context) -> Outcome:
        return Go("menu", (Prompt("moving_on"),))


STEPS = (Menu(), Router(), Check(), Agent(), Info(), Patient())


class Call:
    """A conversation with a toy flow, one event at a time."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.conv = Conversation(sid="CA1", state="new", data={}, language="en-US", turn=0)
        # Toy steps never touch the context's services.
        self.ctx = Context(
            cast(Session, None),
            load_settings(environ={}),
            caller=None,
            origin="call:CA1",
            now=dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC),
        )
        self.first = flow.start(self.conv, self.ctx)

    def press(self, digits: str) -> Turn:
        return self.flow.handle(self.conv, self.ctx, Digits(digits))

    def silence(self) -> Turn:
        return self.flow.handle(self.conv, self.ctx, NoInput())

    @property
    def heard(self) -> list[str]:
        """Every key string that reached the menu step."""
        return list(self.conv.data.get("heard", []))


@pytest.fixture
def call() -> Call:
    return Call(Flow(STEPS, start="menu"))


def test_start_enters_the_start_step(call: Call) -> None:
    assert call.first == MENU
    assert call.conv.state == "menu"


def test_silence_repeats_once_then_says_goodbye(call: Call) -> None:
    assert call.silence() == menu_after("no_input")
    assert call.conv.state == "menu"
    assert call.silence() == goodbye("goodbye_no_input")
    assert call.conv.state == DONE


@pytest.mark.parametrize("silences", [0, 1, 3])
def test_the_silence_limit_is_the_flows(silences: int) -> None:
    call = Call(Flow(STEPS, start="menu", limits=Limits(silences=silences)))
    for _ in range(silences):
        assert call.silence() == menu_after("no_input")
    assert call.silence() == goodbye("goodbye_no_input")
    assert call.conv.state == DONE


def test_moving_on_forgets_earlier_silences(call: Call) -> None:
    call.silence()
    assert call.press("2") == menu_after("again")
    assert call.silence() == menu_after("no_input")


def test_a_step_may_take_silence_as_an_answer(call: Call) -> None:
    assert call.press("6") == Turn((Prompt("take_your_time"),), Ask())
    for _ in range(3):
        assert call.silence() == menu_after("moving_on")
        call.press("6")
    assert call.conv.state == "patient"


def test_invalid_input_is_retried_with_the_steps_reason(call: Call) -> None:
    assert call.press("5") == menu_after("not_a_choice")
    assert call.conv.state == "menu"
    assert call.heard == ["5"]


@pytest.mark.parametrize("retries", [0, 1, 2, 4])
def test_too_many_invalid_answers_say_goodbye(retries: int) -> None:
    call = Call(Flow(STEPS, start="menu", limits=Limits(retries=retries)))
    for _ in range(retries):
        assert call.press("5") == menu_after("not_a_choice")
    assert call.press("5") == goodbye("goodbye_too_many_attempts")
    assert call.conv.state == DONE


def test_the_default_limit_is_two_retries(call: Call) -> None:
    assert [call.press("5") for _ in range(3)] == [
        menu_after("not_a_choice"),
        menu_after("not_a_choice"),
        goodbye("goodbye_too_many_attempts"),
    ]


def test_moving_on_forgets_earlier_retries(call: Call) -> None:
    call.press("5")
    call.press("5")
    assert call.press("2") == menu_after("again")
    assert call.press("5") == menu_after("not_a_choice")
    assert call.press("5") == menu_after("not_a_choice")


def test_repeat_asks_again_without_counting_a_try(call: Call) -> None:
    for _ in range(5):
        assert call.press("3") == menu_after("repeat")
    assert call.press("5") == menu_after("not_a_choice")
    assert call.conv.state == "menu"


@pytest.mark.parametrize(
    "junk",
    ["", " ", "   ", "\t", "a", "1a", "one", "1 2", " 1", "1.5", "+1", "-1", "\uff11", "1" * 33],
)
def test_junk_keys_never_reach_the_step(call: Call, junk: str) -> None:
    assert call.press(junk) == menu_after("invalid_choice")
    assert call.heard == []
    assert call.conv.state == "menu"


def test_junk_counts_as_a_failed_try(call: Call) -> None:
    call.press("abc")
    call.press("5")
    assert call.press("x" * 40) == goodbye("goodbye_too_many_attempts")
    assert call.heard == ["5"]


@pytest.mark.parametrize("keys", ["*", "#", "0", "*#", "1" * 32, "0123456789*#"])
def test_any_keypad_string_up_to_32_keys_reaches_the_step(call: Call, keys: str) -> None:
    call.press(keys)
    assert call.heard == [keys]


def test_decision_steps_chain_and_say_everything_on_the_way(call: Call) -> None:
    turn = call.press("1")
    assert turn == Turn(
        (Prompt("ok"), Prompt("routed"), Prompt("checked"), Prompt("connecting")),
        end=Transfer(AGENT),
    )
    assert turn.ask is None
    assert call.conv.state == DONE


def test_a_flow_may_start_on_a_decision_step() -> None:
    call = Call(Flow((Router(), Check(), Agent()), start="router"))
    assert call.first == Turn(
        (Prompt("routed"), Prompt("checked"), Prompt("connecting")), end=Transfer(AGENT)
    )
    assert call.conv.state == DONE


def test_finish_ends_the_conversation(call: Call) -> None:
    assert call.press("9") == Turn((Prompt("bye"),), end=Hangup())
    assert call.conv.state == DONE


def test_a_turn_that_ends_the_call_ends_the_conversation(call: Call) -> None:
    assert call.press("7") == Turn((Prompt("info"),), end=Hangup())
    assert call.conv.state == DONE


@pytest.mark.parametrize("event", [Digits("1"), Digits("9"), NoInput(), Resume()])
def test_a_finished_conversation_only_says_goodbye(call: Call, event) -> None:
    call.press("9")
    assert call.flow.handle(call.conv, call.ctx, event) == GOODBYE
    assert call.conv.state == DONE
    assert call.heard == ["9"]


def test_an_unknown_state_says_goodbye(call: Call) -> None:
    call.conv.state = "retired_step"
    assert call.press("1") == GOODBYE
    assert call.conv.state == DONE
    assert call.heard == []


def test_a_step_that_expects_no_other_events_asks_again(call: Call) -> None:
    assert call.flow.handle(call.conv, call.ctx, Resume()) == MENU
    assert call.press("5") == menu_after("not_a_choice")
    assert call.press("5") == menu_after("not_a_choice")
    assert call.conv.state == "menu"


# --- The flow is checked when it is built, and every move against what the step declared ---


class Detour(Step):
    """Declares only the menu, but its answer goes to ``info``."""

    name = "detour"
    goes_to = ("menu",)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return MENU

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Outcome:
        return Go("info") if digits == "1" else Go("menu")


class ToDetour(Menu):
    name = "menu"
    goes_to = (*Menu.goes_to, "detour")

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Outcome:
        return Go("detour") if digits == "8" else super().on_input(conv, ctx, digits)


def test_a_flow_with_an_unknown_target_is_refused_naming_flow_step_and_target() -> None:
    with pytest.raises(FlowError) as refused:
        Flow((Menu(), Router(), Check(), Info(), Patient()), start="menu", name="toy")
    assert str(refused.value) == (
        "flow 'toy': step 'check' may go to 'agent', which is not a step of the flow"
    )


def test_a_flow_with_an_unreachable_step_is_refused() -> None:
    with pytest.raises(FlowError) as refused:
        Flow((*STEPS, Detour()), start="menu", name="toy")
    assert str(refused.value) == "flow 'toy': step 'detour' is unreachable from 'menu'"


def test_an_entry_makes_a_step_reachable_and_must_be_a_step() -> None:
    Flow((*STEPS, Detour()), start="menu", entries=("detour",))
    with pytest.raises(FlowError, match="entry 'lobby' is not a step of the flow"):
        Flow(STEPS, start="menu", entries=("lobby",))


def test_two_steps_of_one_name_are_refused() -> None:
    with pytest.raises(FlowError, match="two steps are named 'menu'"):
        Flow((*STEPS, Menu()), start="menu")


def test_a_give_up_target_must_be_a_step() -> None:
    with pytest.raises(FlowError, match="step 'give_up' may go to 'desk'"):
        Flow(STEPS, start="menu", give_up=Hook("give_up", lambda conv, ctx: None, ("desk",)))


def test_a_move_the_step_did_not_declare_fails_loudly() -> None:
    steps = (ToDetour(), Router(), Check(), Agent(), Info(), Patient(), Detour())
    call = Call(Flow(steps, start="menu", name="toy"))
    assert call.press("8") == MENU
    with pytest.raises(FlowError) as refused:
        call.press("1")
    assert str(refused.value) == (
        "flow 'toy': step 'detour' went to 'info', which it does not declare"
    )


def test_only_an_entry_or_the_current_step_can_be_jumped_to(call: Call) -> None:
    with pytest.raises(FlowError, match="'info' is not an entry of the flow"):
        call.flow.jump(call.conv, call.ctx, "info")
    assert call.flow.start(call.conv, call.ctx, "menu") == MENU  # asked again where it is
