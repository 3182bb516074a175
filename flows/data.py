"""Typed views over a conversation's working data, one per flow.

Between webhooks a flow keeps what it has learnt in ``Conversation.data``, one JSON column. Each
flow reads and writes it only through its view here (``PaymentData(conv).pay``), never through
bare string keys, so a key is spelt once, has one type, and belongs to one flow: two views
claiming the same key fail at import. The keys are the ones stored before the views existed,
so conversations in flight carry on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, NotRequired, TypedDict, TypeVar, overload

if TYPE_CHECKING:
    from ivr.models import Conversation

T = TypeVar("T")
_REQUIRED: Any = object()
_OWNERS: dict[str, str] = {}  # key -> the view that owns it


class Slot(Generic[T]):
    """One key of the data, as a ``T``. Without a default, reading a key that was never
    written is a bug in the flow (a step reached out of order) and raises ``KeyError``."""

    def __init__(self, key: str, default: T = _REQUIRED) -> None:
        self.key = key
        self.default = default

    @overload
    def __get__(self, view: None, owner: type) -> Slot[T]: ...

    @overload
    def __get__(self, view: FlowData, owner: type) -> T: ...

    def __get__(self, view: FlowData | None, owner: type) -> Slot[T] | T:
        if view is None:
            return self
        data = view.conv.data
        if self.key in data:
            value: T = data[self.key]
            return value
        if self.default is _REQUIRED:
            raise KeyError(f"{type(view).__name__}: {self.key!r} was never set")
        return self.default

    def __set__(self, view: FlowData, value: T) -> None:
        view.conv.data[self.key] = value

    def __delete__(self, view: FlowData) -> None:
        """Forget the key (nothing happens when it is not there)."""
        view.conv.data.pop(self.key, None)


class FlowData:
    """A view over ``conv.data``: it holds nothing itself."""

    __slots__ = ("conv",)

    def __init__(self, conv: Conversation) -> None:
        self.conv = conv

    def __init_subclass__(cls) -> None:
        for name, slot in vars(cls).items():
            if isinstance(slot, Slot):
                claimed = _OWNERS.setdefault(slot.key, cls.__name__)
                if claimed != cls.__name__:
                    raise TypeError(f"{cls.__name__}.{name}: the key {slot.key!r} is {claimed}'s")


class ConversationData(FlowData):
    """What the engine keeps for every step: failed tries and silences at the current step,
    whether something was said on the way into it (an answer), whether its last offer was made
    there (and is waiting for an answer), whether prompts are slower (:mod:`flows.accessible`)
    and whether the caller asked for more time to answer."""

    tries = Slot[int]("_tries", 0)
    answered = Slot[bool]("_answered", False)
    silences = Slot[int]("_silences", 0)
    offered = Slot[bool]("_offered", False)
    offering = Slot[bool]("_offering", False)
    slow = Slot[bool]("slow", False)
    more_time = Slot[bool]("more_time", False)


class CallerData(FlowData):
    """Identification and verification (:mod:`flows.journey`). Only the PIN's verdict is kept,
    never the PIN."""

    account_number = Slot[str]("account_number")
    identified_by = Slot[str | None]("identified_by", None)  # "caller_id" or "keypad"
    pin_ok = Slot[bool]("pin_ok", False)
    failed_attempts = Slot[int]("failed_attempts", 0)
    language_chosen = Slot[bool]("language_chosen", False)  # keyed: the account's no longer leads


class MenuData(FlowData):
    """The menus (:mod:`flows.menus`): whether the main menu was read in full this call, and
    whether its last prompt was the short "anything else?"."""

    heard = Slot[bool]("menu_heard", False)
    short = Slot[bool]("menu_short", False)


class Pay(TypedDict):
    """The amount being paid and its fee, in cents; ``then`` is the step after approval."""

    amount: int
    fee: int
    then: NotRequired[str]
    saved_method: NotRequired[int]  # the saved card ``authorizing`` charges
    by_link: NotRequired[bool]  # by phone: a pay link by text, asked for at the pay menu


class Card(TypedDict):
    brand: str
    last4: str


class PaymentData(FlowData):
    """A payment being made (:mod:`flows.payment`): never card data, only its verdicts."""

    pay = Slot[Pay]("pay")
    offered = Slot[list[int] | None]("offered", None)  # the amounts at keys 1 and 2, as said
    card = Slot[Card]("card")
    recording_paused = Slot[bool]("recording_paused", False)
    attempt = Slot[int | str]("pay_attempt", 1)  # a count, or "agent-<capture id>"
    payment_id = Slot[int]("payment_id")


class ArrangementChoice(TypedDict, total=False):
    date: str  # an extension to this ISO date
    count: int  # or a plan of this many payments


class ArrangementRefusal(TypedDict):
    reason: str
    reconnect: int


class ArrangementData(FlowData):
    """More time to pay (:mod:`flows.arrangement`)."""

    choice = Slot[ArrangementChoice]("arrangement")
    refusal = Slot[ArrangementRefusal | None]("arrangement_refusal", None)
    receipts = Slot[int]("arrangement_receipts", 0)  # how many receipts were queued
    arrangement_id = Slot[int]("arrangement_id")


class DisputeChoice(TypedDict):
    amount: int
    scope: str


class DisputeData(FlowData):
    """A dispute being recorded (:mod:`flows.dispute`)."""

    choice = Slot[DisputeChoice]("dispute")
    dispute_id = Slot[int]("dispute_id")


class AgentData(FlowData):
    """A call handed to the agents, and a capture an agent started on it (:mod:`flows.agent`,
    :mod:`flows.agent_capture`)."""

    handed_off = Slot[bool]("handed_off", False)  # only then is there more to end
    capture = Slot[int | None]("agent_capture", None)  # the AgentCapture id while it runs
    resume = Slot[str | None]("agent_resume_state", None)  # where a field asked again returns
    moved = Slot[str | None]("_moved", None)  # the console redirect last applied


class TextData(FlowData):
    """A text conversation's own (:mod:`flows.text`): the pay link this reply carries."""

    paylink_sent = Slot[int | None]("paylink_sent", None)
