"""Operator-friendly logs: one line per event, ``key=value`` pairs that grep and awk can read.

2026-11-21T17:02:03Z INFO ivr.voice event=call.turn call=CA12 state=main_menu turn=4
"""

from __future__ import annotations

import logging
import time
from typing import Any


class _UTCFormatter(logging.Formatter):
    converter = time.gmtime


def configure(level: str) -> None:
    """Send our loggers to stderr in the line format above (idempotent)."""
    root = logging.getLogger("ivr")
    root.setLevel(level.upper())
    if not any(getattr(h, "_ivr", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(
            _UTCFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
        )
        handler._ivr = True  # type: ignore[attr-defined]
        root.addHandler(handler)


def _value(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event=name`` followed by ``key=value`` pairs."""
    if logger.isEnabledFor(level):
        pairs = " ".join(f"{key}={_value(value)}" for key, value in fields.items())
        logger.log(level, "event=%s %s", name, pairs)
