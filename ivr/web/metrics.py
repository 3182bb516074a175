"""``GET /metrics``: Prometheus text for operators, off unless ``METRICS_TOKEN`` is set.

The figures name no caller, but they show call volumes and failure rates, so the endpoint is
not public: a scraper sends ``Authorization: Bearer <METRICS_TOKEN>`` (Prometheus'
``authorization`` setting). Without a token the route does not exist and no request is timed.
"""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.ops import metrics
from ivr.web.services import services

bp = Blueprint("metrics", __name__)


def init_app(app: Flask, settings: Settings, factory: sessionmaker[Session]) -> None:
    """Serve ``/metrics`` and time every request, when a token is configured."""
    if not settings.METRICS_TOKEN:
        return
    app.extensions["ivr_metrics"] = metrics.registry_for(factory)
    app.before_request(_start_clock)
    app.after_request(_count)
    app.register_blueprint(bp)


def _start_clock() -> None:
    g.metrics_started = time.perf_counter()


def _count(response: Response) -> Response:
    started = g.get("metrics_started")
    if started is not None:
        metrics.observe(request.endpoint, response.status_code, time.perf_counter() - started)
    return response


@bp.get("/metrics")
def scrape() -> Response:
    expected = f"Bearer {services().settings.METRICS_TOKEN}".encode()
    offered = request.headers.get("Authorization", "").encode()
    if not hmac.compare_digest(offered, expected):
        return Response(
            "A bearer token is required.\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
            mimetype="text/plain",
        )
    body = generate_latest(current_app.extensions["ivr_metrics"])  # the 0.0.4 text format
    return Response(body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})
