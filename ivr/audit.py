"""Writing the audit log. Entries are added, never changed; callers pass no secrets."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ivr.models import AuditEvent


def record(
    session: Session,
    action: str,
    *,
    actor: str,
    outcome: str,
    resource: str | None = None,
    origin: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit entry to the current transaction, so it lands with what it describes."""
    event = AuditEvent(
        actor=actor, action=action, outcome=outcome, resource=resource, origin=origin, detail=detail
    )
    session.add(event)
    return event
