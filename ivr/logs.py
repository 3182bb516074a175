"""Operator-friendly logs: one line per event, ``key=value`` pairs that grep and awk can read.

2026-11-21T17:02:03Z INFO ivr.voice event=call.turn call=CA12 state=main_menu turn=4
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

from stdnum import luhn

# A pay link's token in a URL (an access log line): whoever holds it can open the pay page.
# The path is the pay page's (payments.paylinks.PATH), spelt here: the kernel imports no domain.
PAYLINK_PATH = "/pay/"
PAYLINK_TOKEN = re.compile(re.escape(PAYLINK_PATH) + r"(?!static/)[A-Za-z0-9_-]+")
# 13 or more digits, optionally split by single spaces or dashes (the shape of a card number,
# alone or run together with an expiry, a code or a ZIP), standing on their own: not part of a
# token such as a Twilio SID (CA + 32 hex), an idempotency key (outbox.1.2026...) or a hex id,
# and not a phone number (+1...). Trailing letters alone (``4242...4242x``) do not hide one.
CARD_SHAPED = re.compile(
    r"(?<![\w+])(?<!\w[.:])"  # not after a word or a dot inside one, nor a phone number's +
    r"\d(?:[ -]?\d){12,}(?!\d)"
    r"(?![A-Za-z_]\w*\d)(?![.:]\w)"  # not the start of a hex id, nor of a dotted key
)
CARD_LENGTHS = range(13, 20)
LONGEST_CHECKED = 256  # digits; a longer run is redacted whole rather than searched


def _group_spans(groups: list[str]) -> Iterator[str]:
    """Each run of whole consecutive groups, up to the longest card number."""
    for first in range(len(groups)):
        span = ""
        for group in groups[first:]:
            span += group
            if len(span) > CARD_LENGTHS[-1]:
                break
            yield span


def _windows(digits: str) -> Iterator[str]:
    for length in CARD_LENGTHS:
        for start in range(len(digits) - length + 1):
            yield digits[start : start + length]


def _has_card_number(run: str) -> bool:
    """Whether ``run`` holds a card number: 13 to 19 of its digits that pass Luhn, either whole
    groups (``4242 4242 4242 4242 739``: the number, then the code) or, in a run too long to be
    one number (``42424242424242421230``: keyed together with the expiry), any of them."""
    groups = re.split(r"[ -]", run)
    digits = "".join(groups)
    if len(digits) > LONGEST_CHECKED:
        return True
    spans = _group_spans(groups)
    if len(digits) > CARD_LENGTHS[-1]:
        spans = itertools.chain(spans, _windows(digits))
    return any(len(span) in CARD_LENGTHS and luhn.is_valid(span) for span in spans)


def _redact_card(match: re.Match[str]) -> str:
    return "[REDACTED]" if _has_card_number(match.group()) else match.group()


def redact(text: str) -> str:
    """Replace card numbers (card-shaped runs that pass Luhn) and pay links' tokens, wherever
    they came from; ids that operators grep for are left whole."""
    text = PAYLINK_TOKEN.sub(PAYLINK_PATH + "[REDACTED]", text)
    return CARD_SHAPED.sub(_redact_card, text)


class RedactingFormatter(logging.Formatter):
    """UTC timestamps, and a second line of defence: the finished line (message, arguments and
    traceback alike) never carries a card number."""

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


def mask_phone(number: str) -> str:
    """A phone number as logs and listings may show it: the last four digits only."""
    return "***" + number[-4:]


def mask_email(address: str) -> str:
    """An email address as logs and listings may show it: ``j***@example.com``."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_recipient(recipient: str) -> str:
    """A message's recipient, an email address or a phone number, masked as above."""
    return mask_email(recipient) if "@" in recipient else mask_phone(recipient)


def _value(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event=name`` followed by ``key=value`` pairs."""
    if logger.isEnabledFor(level):
        pairs = " ".join(f"{key}={_value(value)}" for key, value in fields.items())
        logger.log(level, "event=%s %s", name, pairs)
