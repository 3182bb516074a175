"""Operator-friendly logs: one line per event, ``key=value`` pairs that grep and awk can read.

2026-11-21T17:02:03Z INFO ivr.voice event=call.turn call=CA12 state=main_menu turn=4
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from payments.cards import CARD_LIKE
from payments.paylinks import PATH as PAYLINK_PATH

# A pay link's token in a URL (an access log line): whoever holds it can open the pay page.
PAYLINK_TOKEN = re.compile(re.escape(PAYLINK_PATH) + r"(?!static/)[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    """Replace anything shaped like a card number or a pay link's token, wherever it came
    from."""
    text = PAYLINK_TOKEN.sub(PAYLINK_PATH + "[REDACTED]", text)
    return CARD_LIKE.sub("[REDACTED]", text)


class RedactingFormatter(logging.Formatter):
    """UTC timestamps, and a second line of defence: the finished line (message, arguments and
    traceback alike) never carries a card-number-shaped run of digits."""

    converter = time.gmtime  # type: ignore[assignment]  # typeshed: gmtime(secs=None)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(level: str) -> None:
    """Our line format on the root logger's stderr handler (idempotent), so third-party
    libraries' lines are redacted too; ``level`` applies to our ``ivr.*`` loggers."""
    logging.getLogger("ivr").setLevel(level.upper())
    root = logging.getLogger()
    if not any(getattr(h, "_ivr", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(
            RedactingFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%SZ"
            )
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
