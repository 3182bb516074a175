"""Scraping ``/metrics`` as Prometheus does, for the metrics and card-data tests."""

from __future__ import annotations

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "metrics-token-for-tests"


def metrics_text(client: FlaskClient, token: str = METRICS_TOKEN) -> str:
    reply = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.status_code
    assert reply.content_type == "text/plain; version=0.0.4; charset=utf-8"
    return reply.get_data(as_text=True)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample, keyed by its name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value (0 when the series is absent: a counter not yet touched)."""
    return samples(text).get((name, frozenset(labels.items())), 0.0)
