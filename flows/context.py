"""What a step may use besides the conversation itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.orm import Session

from ivr.config import Settings
from verification import Verifier, VerifierPolicy


@dataclass
class Context:
    """Per-request services: the open transaction, settings, who is calling and when."""

    session: Session
    settings: Settings
    caller: str | None
    origin: str
    now: dt.datetime

    @cached_property
    def verifier(self) -> Verifier:
        return Verifier(
            self.session,
            VerifierPolicy.from_settings(self.settings),
            caller=self.caller,
            origin=self.origin,
            now=self.now,
        )
