"""A small declarative state machine for keypad conversations.

Why not a general state-machine library: every webhook is one event applied to a state read
from the database, and what we need beyond transitions (prompts, input shapes, retry and
silence limits shared by every step) is the bulk of the logic. A step is a class with a
``name``, a :meth:`Step.prompt` and an :meth:`Step.on_input`; the engine owns the rest, so
every prompt gets the same timeout path (repeat once, then goodbye) and junk-input path.

Each step declares the states it may go to (``goes_to``), so a flow is checked when it is
built: a target that is not one of its steps, or a step no path reaches, refuses the build
(:class:`FlowError`) instead of failing on the call that first gets there. Every move is checked
against the declaration too, so the declarations cannot drift from the code.

Two rules can hold at every step of a flow: 0, at a step that has no use of its own for it,
reaches a person (``person``); and before the flow lets a caller go for silence or bad entries,
it offers once per step the question again, more time, or that person (``offers_help``), so
no prompt is a dead end.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from flows.context import Context
from flows.data import ConversationData
from ivr.models import Conversation, Payment
from payments.service import Authorize, PaidElsewhere
from prompts import Prompt

DONE = "done"
_KEYPAD = re.compile(r"[0-9*#]{1,32}")


@dataclass(frozen=True)
class Ask:
    """The input a step waits for."""

    max_digits: int = 1
    finish_on_key: str = ""
    timeout: int = 6


@dataclass(frozen=True)
class Transfer:
    """Connect the caller to a person at ``number``."""

    number: str


@dataclass(frozen=True)
class Queue:
    """Hold the caller in the agents' queue ``name`` until an agent takes the call."""

    name: str


@dataclass(frozen=True)
class Conference:
    """Put the caller back in the conference ``name``, where their agent waits on hold."""

    name: str


@dataclass(frozen=True)
class Hangup:
    """End the call."""


@dataclass(frozen=True)
class SecureCapture:
    """Hand card capture to the channel's own secure payment step (Twilio's ``<Pay>``)."""

    charge_cents: int
    description: str
    connector: str


@dataclass(frozen=True)
class Turn:
    """What the channel does next: say ``say``, then one of: wait for ``ask``; ``end`` the
    call; come straight back (``resume``); run a secure payment step (``pay``); or move
    money (``authorize``): the channel commits, hands it to
    :meth:`payments.service.PaymentService.authorize` outside any transaction, and comes
    back with the settled payment (:class:`Authorized`). Nothing else moves money."""

    say: tuple[Prompt, ...]
    ask: Ask | None = None
    end: Transfer | Queue | Conference | Hangup | None = None
    resume: bool = False
    pay: SecureCapture | None = None
    authorize: Authorize | None = None


@dataclass(frozen=True)
class Digits:
    """The caller keyed something."""

    value: str


@dataclass(frozen=True)
class NoInput:
    """The caller stayed silent until the step's timeout."""


@dataclass(frozen=True)
class Resume:
    """The channel came back after a ``resume`` turn; the work it asked for is done."""


@dataclass(frozen=True)
class PayResult:
    """What a secure payment step that is not ours reported (Twilio's ``<Pay>``), in our
    words: the gateway's answer and only the card facts safe to keep."""

    paid: PaidElsewhere


@dataclass(frozen=True)
class Authorized:
    """The channel ran a turn's ``authorize``: the payment as it stands now (settled, or
    ``unknown`` when the gateway could not say)."""

    payment: Payment


Event = Digits | NoInput | Resume | PayResult | Authorized


@dataclass(frozen=True)
class Go:
    """Move to ``state``, saying ``say`` first."""

    state: str
    say: tuple[Prompt, ...] = ()


@dataclass(frozen=True)
class Retry:
    """The input was not acceptable: say ``reason``, then ask the same step again."""

    reason: Prompt


@dataclass(frozen=True)
class Repeat:
    """Say ``say``, then ask the same step again without counting a failed try."""

    say: tuple[Prompt, ...] = ()


@dataclass(frozen=True)
class Offer:
    """Say ``say`` and wait for one key at the same step: the flow's last offer before it lets
    the caller go (:meth:`Flow.handle` reads the answer, not the step)."""

    say: tuple[Prompt, ...]


@dataclass(frozen=True)
class Finish:
    """End the conversation with ``turn``."""

    turn: Turn


Outcome = Go | Retry | Repeat | Finish | Offer | Authorize


class FlowError(Exception):
    """A flow that breaks its own declarations: built with a target or step that cannot work,
    or a step moving somewhere it did not declare."""


@dataclass(frozen=True)
class Hook:
    """A move of the whole flow rather than of one step (``run`` returns ``None`` to make
    none), and the states it may send the caller to."""

    name: str
    run: Callable[[Conversation, Context], Outcome | None]
    goes_to: tuple[str, ...] = ()


_O = TypeVar("_O", bound=Outcome | Turn | None)
OFFER_ASK = Ask(max_digits=1, timeout=8)
MORE_TIME, REPEAT, PERSON = "1", "*", "0"


def goodbye(*say: Prompt) -> Finish:
    return Finish(Turn(say, end=Hangup()))


class Step:
    """One state of a flow. Subclasses set ``name`` and override what they need."""

    name: ClassVar[str]
    goes_to: tuple[str, ...] = ()
    """Every state this step's prompt and answers may move to (a :class:`Go`'s target)."""

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        """What to say on entering; a :class:`Go` passes straight through (a decision step)."""
        raise NotImplementedError

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Outcome:
        raise NotImplementedError

    def on_no_input(self, conv: Conversation, ctx: Context) -> Outcome | None:
        """Override to treat silence as an answer; ``None`` means the standard timeout path."""
        return None

    def on_event(
        self, conv: Conversation, ctx: Context, event: Resume | PayResult | Authorized
    ) -> Outcome:
        """Events other than keys; a step that expects none just asks its question again."""
        return Repeat()


@dataclass(frozen=True)
class Limits:
    silences: int = 1
    retries: int = 2


class Flow:
    """A set of steps and the rules every step shares, checked when built: each declared
    target is a step of the flow, and each step is reached from ``start`` or an entry."""

    def __init__(
        self,
        steps: Iterable[Step],
        start: str,
        limits: Limits | None = None,
        give_up: Hook | None = None,
        *,
        name: str = "flow",
        entries: Iterable[str] = (),
        person: Hook | None = None,
        offers_help: bool = False,
    ) -> None:
        """``entries`` are the states entered from outside the flow's own moves (an agent's
        console moving the call, a text keyword such as MENU). ``give_up`` may keep a caller
        the flow is about to let go (a representative is waiting); ``person`` is where 0 leads
        from any step with no other use for it, and ``offers_help`` makes the flow offer the
        question again, more time or that person before it lets anyone go."""
        self.name = name
        self.steps: dict[str, Step] = {}
        for step in steps:
            if step.name in self.steps:
                raise FlowError(f"flow {name!r}: two steps are named {step.name!r}")
            self.steps[step.name] = step
        self.start_state = start
        self.entries = frozenset(entries) | {start}
        self.limits = limits or Limits()
        self.give_up = give_up
        self.person = person
        self.offers_help = offers_help and person is not None
        self._check()

    def _check(self) -> None:
        for entry in sorted(self.entries):
            if entry not in self.steps:
                raise FlowError(f"flow {self.name!r}: entry {entry!r} is not a step of the flow")
        hooks = [hook for hook in (self.give_up, self.person) if hook is not None]
        sources: list[Step | Hook] = [*self.steps.values(), *hooks]
        for source in sources:
            for target in source.goes_to:
                if target not in self.steps:
                    raise FlowError(
                        f"flow {self.name!r}: step {source.name!r} may go to {target!r}, "
                        "which is not a step of the flow"
                    )
        reached = set(self.entries)
        for hook in hooks:
            reached.update(hook.goes_to)
        todo = list(reached)
        while todo:
            for target in self.steps[todo.pop()].goes_to:
                if target not in reached:
                    reached.add(target)
                    todo.append(target)
        for state in self.steps:
            if state not in reached:
                raise FlowError(
                    f"flow {self.name!r}: step {state!r} is unreachable from {self.start_state!r}"
                )

    def _checked(self, source: Step | Hook, outcome: _O) -> _O:
        """``outcome``, once it is sure that a move is one ``source`` declared."""
        if isinstance(outcome, Go) and outcome.state not in source.goes_to:
            raise FlowError(
                f"flow {self.name!r}: step {source.name!r} went to {outcome.state!r}, "
                "which it does not declare"
            )
        return outcome

    def start(self, conv: Conversation, ctx: Context, state: str | None = None) -> Turn:
        """Enter the start step, or ``state`` (a channel's shortcut, such as a text's MENU, or
        the step the conversation is at, asked again)."""
        return self.jump(conv, ctx, state or self.start_state)

    def jump(self, conv: Conversation, ctx: Context, state: str) -> Turn:
        """Enter ``state`` whatever the current one: the call was moved from outside (an agent
        started secure capture on it), not by the caller's keys."""
        if state not in self.entries and not (state == conv.state and state in self.steps):
            raise FlowError(f"flow {self.name!r}: {state!r} is not an entry of the flow")
        return self._apply(conv, ctx, Go(state))

    def handle(self, conv: Conversation, ctx: Context, event: Event) -> Turn:
        if conv.state == DONE or conv.state not in self.steps:
            return self._apply(conv, ctx, goodbye(Prompt("goodbye")))
        step = self.steps[conv.state]
        data = ConversationData(conv)
        if data.offering and isinstance(event, Digits | NoInput):
            outcome = self._answer_offer(conv, ctx, event)
        elif isinstance(event, NoInput):
            chosen = self._checked(step, step.on_no_input(conv, ctx))
            outcome = chosen or self._silence(conv, ctx)
        elif not isinstance(event, Digits):
            outcome = self._checked(step, step.on_event(conv, ctx, event))
        elif _KEYPAD.fullmatch(event.value):
            outcome = self._checked(step, step.on_input(conv, ctx, event.value))
            if isinstance(outcome, Retry):
                outcome = self._unused_key(conv, ctx, event.value) or outcome
        else:
            outcome = Retry(Prompt("invalid_choice"))
        return self._apply(conv, ctx, outcome)

    def _unused_key(self, conv: Conversation, ctx: Context, keys: str) -> Outcome | None:
        """The keys that mean the same at every step that has no use of its own for them: 0
        for a person, and * to hear the question again with slower prompts."""
        if keys == PERSON and self.person is not None:
            return self._checked(self.person, self.person.run(conv, ctx))
        if keys == REPEAT and ConversationData(conv).slow:
            return Repeat()
        return None

    def _silence(self, conv: Conversation, ctx: Context) -> Outcome:
        data = ConversationData(conv)
        data.silences += 1
        patience = self.limits.silences + (1 if data.slow else 0)
        if data.silences > patience:
            return self._goodbye(conv, ctx, Prompt("goodbye_no_input"))
        return Repeat((Prompt("no_input"),))

    def _goodbye(self, conv: Conversation, ctx: Context, prompt: Prompt) -> Outcome:
        """Too much silence or too many bad entries: the flow's ``give_up`` may keep the caller
        (a representative is waiting); a flow with a person offers, once per step, the question
        again, more time, or the person; otherwise a polite goodbye."""
        if self.give_up is not None:
            kept = self._checked(self.give_up, self.give_up.run(conv, ctx))
            if kept is not None:
                return kept
        data = ConversationData(conv)
        if not self.offers_help or data.offered:
            return goodbye(prompt)
        data.offered = data.offering = True
        return Offer((Prompt("offer_help"),))

    def _answer_offer(self, conv: Conversation, ctx: Context, event: Digits | NoInput) -> Outcome:
        """The caller's answer to :meth:`_goodbye`'s offer: the question again (with more time
        when asked), the person, or goodbye."""
        data = ConversationData(conv)
        del data.offering, data.tries, data.silences
        keys = event.value if isinstance(event, Digits) else ""
        if keys == MORE_TIME:
            data.more_time = True
            return Repeat((Prompt("more_time"),))
        if keys == REPEAT:
            return Repeat()
        if keys == PERSON and self.person is not None:
            return self._checked(self.person, self.person.run(conv, ctx)) or goodbye(
                Prompt("goodbye")
            )
        return goodbye(Prompt("goodbye"))

    def _apply(self, conv: Conversation, ctx: Context, outcome: Outcome) -> Turn:
        said: tuple[Prompt, ...] = ()
        data = ConversationData(conv)
        while True:
            if isinstance(outcome, Authorize):  # the step stays; the channel moves the money
                return Turn(said, authorize=outcome)
            if isinstance(outcome, Finish):
                conv.state = DONE
                return Turn(said + outcome.turn.say, end=outcome.turn.end)
            if isinstance(outcome, Offer):  # the step stays; the engine reads the answer
                return Turn(said + outcome.say, OFFER_ASK)
            if isinstance(outcome, Retry):
                data.tries += 1
                if data.tries > self.limits.retries:
                    outcome = self._goodbye(conv, ctx, Prompt("goodbye_too_many_attempts"))
                    continue
                said += (outcome.reason,)
            elif isinstance(outcome, Repeat):
                said += outcome.say
            else:
                conv.state = outcome.state
                del data.tries, data.silences, data.offered, data.answered
                if outcome.say:
                    data.answered = True
                said += outcome.say
            step = self.steps[conv.state]
            entered = self._checked(step, step.prompt(conv, ctx))
            if isinstance(entered, Go):
                outcome = entered
                continue
            if entered.end is not None:
                conv.state = DONE
            return dataclasses.replace(entered, say=said + entered.say)
