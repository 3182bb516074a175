"""Prometheus metrics for operators: how requests fare, and what the ledger, the lockouts and
the outbox look like.

Each figure comes from where it is true:

- Request counts and latency exist only in the process that answered. They are in-memory
  counters and a histogram: one dictionary update per request, no I/O, no query. Under
  gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) makes each
  worker write them to its own file there, and a scrape answered by any worker sums them all.
  A worker that exits leaves its file, so totals never drop when gunicorn replaces one.
- Payments, verification attempts, card declines, lockouts and the outbox are facts in the
  database, written by every worker on every host, by ``ivr worker`` and by ``ivr reconcile``.
  They are read when Prometheus scrapes, so they are exact however many processes there are
  and cost the webhooks nothing; every host reports the same values (aggregate them with
  ``max``).

Labels are endpoint names, status codes and outcomes, never a caller ID, an account number or
anything a caller keyed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr import logs
from ivr.models import (
    AuditEvent,
    LockoutCounter,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentStatus,
    utcnow,
)
from verification.lockout import HARD_LOCK

log = logging.getLogger("ivr.ops.metrics")
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

# *_created series: noise for counters that start with the process. (prometheus_client
# leaves this function and MultiProcessCollector unannotated, hence the ignores.)
disable_created_metrics()  # type: ignore[no-untyped-call]
# Not in prometheus_client's global registry: each app's registry picks them up (or, in
# multiprocess mode, the files they write).
REQUESTS = Counter(
    "ivr_http_requests",
    "Requests answered, by Flask endpoint (voice.step, sms.incoming, ...) and HTTP status.",
    ["endpoint", "status"],
    registry=None,
)
LATENCY = Histogram(
    "ivr_http_request_duration_seconds",
    "Time from receiving a request to handing its response to the server, by endpoint.",
    ["endpoint"],
    registry=None,
)


def observe(endpoint: str | None, status: int, seconds: float) -> None:
    """Count one answered request. ``endpoint`` is the route's name (``None``: no route)."""
    name = endpoint or "unmatched"
    REQUESTS.labels(name, str(status)).inc()
    LATENCY.labels(name).observe(seconds)


def registry_for(factory: sessionmaker[Session]) -> CollectorRegistry:
    """What ``/metrics`` shows: this process's (or every worker's) request figures, and the
    database's."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIR):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(DatabaseFigures(factory))
    return registry


class DatabaseFigures:
    """Ledger, verification, card decline, lockout and outbox figures, queried at each scrape
    (six short aggregate queries, none of them per request)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "ivr_metrics_database_up", "1 when the database figures could be read this scrape."
        )
        try:
            with self.factory() as session:
                figures = list(_figures(session, utcnow()))
        except SQLAlchemyError as error:
            logs.event(log, "metrics.db_error", logging.WARNING, error=type(error).__name__)
            figures = []
        up.add_metric([], 1 if figures else 0)
        yield up
        yield from figures


def _figures(session: Session, now: dt.datetime) -> Iterator[Metric]:
    yield _payments(session)
    yield _verification_attempts(session)
    yield _card_declines(session)
    yield _lockouts(session, now)
    yield from _outbox(session, now)


def _payments(session: Session) -> Metric:
    family = GaugeMetricFamily(
        "ivr_payments",
        "Payments in the ledger by status; unknown ones wait for ivr reconcile.",
        labels=["status"],
    )
    query = select(Payment.status, func.count()).group_by(Payment.status)
    counts = dict(session.execute(query).all())
    for status in PaymentStatus:
        family.add_metric([status.value], counts.get(status, 0))
    return family


def _verification_attempts(session: Session) -> Metric:
    family = CounterMetricFamily(
        "ivr_verification_attempts",
        "Verification attempts by phone and text, by outcome (success, failure, locked).",
        labels=["outcome"],
    )
    query = select(AuditEvent.outcome, func.count()).where(
        AuditEvent.action == "verification.attempt"
    )
    counts = dict(session.execute(query.group_by(AuditEvent.outcome)).all())
    for outcome in ("success", "failure", "locked"):
        family.add_metric([outcome], counts.get(outcome, 0))
    return family


def _card_declines(session: Session) -> Metric:
    family = CounterMetricFamily(
        "ivr_card_declines",
        "Cards declined by the gateway (declined), and cards refused with no gateway call "
        "because a call, pay link or account reached its decline limit (refused). A rise in "
        "either is what card testing looks like.",
        labels=["outcome"],
    )
    actions = {"payment.declined": "declined", "payment.decline_limit": "refused"}
    query = select(AuditEvent.action, func.count()).where(AuditEvent.action.in_(actions))
    counts = dict(session.execute(query.group_by(AuditEvent.action)).all())
    for action, outcome in actions.items():
        family.add_metric([outcome], counts.get(action, 0))
    return family


def _lockouts(session: Session, now: dt.datetime) -> Metric:
    family = GaugeMetricFamily(
        "ivr_lockouts_active",
        "Account numbers and caller IDs locked out now; hard locks last until an operator "
        "runs ivr accounts unlock.",
        labels=["lock"],
    )
    locked = select(func.count()).where(LockoutCounter.locked_until > now)
    hard = session.scalar(locked.where(LockoutCounter.locked_until >= HARD_LOCK)) or 0
    family.add_metric(["timed"], (session.scalar(locked) or 0) - hard)
    family.add_metric(["hard"], hard)
    return family


def _outbox(session: Session, now: dt.datetime) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "ivr_outbox_messages",
        "Receipts and notices by delivery status; failed ones were given up on.",
        labels=["status"],
    )
    query = select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
    rows = session.execute(query.group_by(OutboxMessage.status))
    counts, oldest = {}, None
    for status, count, first in rows:
        counts[status] = count
        oldest = first if status is OutboxStatus.PENDING else oldest
    for status in OutboxStatus:
        family.add_metric([status.value], counts.get(status, 0))
    yield family
    yield GaugeMetricFamily(
        "ivr_outbox_oldest_pending_seconds",
        "Age of the oldest message still waiting for delivery (0: none waiting).",
        value=(now - oldest).total_seconds() if oldest else 0,
    )
