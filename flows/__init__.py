"""Conversations as state machines that know nothing of HTTP, TwiML or SMS.

A step says what to say and what input it wants (:class:`~flows.engine.Turn`); each input moves
the machine (:meth:`~flows.engine.Flow.handle`). The state is a column of the call session, so
any worker can take the next webhook. Channels render turns; they never decide anything.
"""

from flows.context import Context
from flows.engine import DONE, Ask, Digits, Flow, Hangup, NoInput, Transfer, Turn

__all__ = ["DONE", "Ask", "Context", "Digits", "Flow", "Hangup", "NoInput", "Transfer", "Turn"]
