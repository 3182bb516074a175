"""The outbox: receipts and notices written in the transaction that caused them.

Domain code adds a row here instead of talking to Twilio or SMTP, so a payment and its receipt
commit together (or not at all), and a slow or failing mail server never delays a caller.
``ivr worker`` delivers the rows later, with retries (see ``ivr.adapters.delivery``).

Part of the kernel: it imports only models, never Flask or an SDK.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from sqlalchemy.orm import Session

from ivr.models import OutboxMessage, OutboxStatus, TextOptOut, utcnow

Channel = Literal["sms", "email"]
CHANNELS: Final[tuple[str, ...]] = get_args(Channel)


def opted_out(session: Session, phone: str) -> bool:
    """The number texted STOP: it gets no text from us until it texts START."""
    return session.get(TextOptOut, phone) is not None


def enqueue(
    session: Session, channel: Channel, recipient: str, body: str, subject: str | None = None
) -> OutboxMessage:
    """Add a pending message, due now, to the caller's transaction (it commits with it).

    ``recipient`` is an E.164 number for ``sms`` and an address for ``email``, which also
    needs a ``subject``.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown outbox channel {channel!r}; use one of: {', '.join(CHANNELS)}")
    if not recipient:
        raise ValueError("an outbox message needs a recipient")
    if channel == "email" and not subject:
        raise ValueError("an email needs a subject")
    message = OutboxMessage(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    return message
