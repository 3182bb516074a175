"""``/metrics``: off without a token, bearer-protected, request figures per endpoint and status,
ledger, verification, lockout and outbox figures from the database, summed across workers,
and never a caller's number in a label."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.simulator.emulator import keys_from
from tests.conftest import simulator_for
from tests.support.factories import add_account
from tests.support.keys import PAY_FULL, card
from tests.support.scraping import METRICS_TOKEN, metrics_text, value
from tests.support.webhooks import call_form, post

ROOT = Path(__file__).resolve().parents[3]
CARD = card(code="839")


@pytest.fixture
def metered(make_app):
    return make_app(METRICS_TOKEN=METRICS_TOKEN)


def test_without_a_token_there_is_no_metrics_endpoint(client):
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {METRICS_TOKEN}", "Bearer "])
def test_a_scrape_without_the_bearer_token_is_refused(metered, header):
    headers = {"Authorization": header} if header else {}
    reply = metered.test_client().get("/metrics", headers=headers)
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "ivr_" not in reply.get_data(as_text=True)


def test_requests_are_counted_by_endpoint_and_status_and_timed(metered):
    client = metered.test_client()
    before = metrics_text(client)
    simulator_for(metered).call(keys_from(["", "1"]), caller="+15005550006")
    post(client, "/voice/incoming", call_form(), signed_url="https://elsewhere.example/")
    client.get("/no-such-page")
    after = metrics_text(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("ivr_http_requests_total", endpoint="voice.incoming", status="200") == 1
    assert grew("ivr_http_requests_total", endpoint="voice.incoming", status="403") == 1
    assert grew("ivr_http_requests_total", endpoint="voice.step", status="200") >= 1
    assert grew("ivr_http_requests_total", endpoint="unmatched", status="404") == 1
    assert grew("ivr_http_request_duration_seconds_count", endpoint="voice.incoming") == 2
    assert grew("ivr_http_request_duration_seconds_bucket", endpoint="voice.incoming", le="+Inf")


def test_payments_verification_lockouts_and_outbox_come_from_the_database(metered, db, settings):
    add_account(db, settings)
    simulator = simulator_for(metered)
    declined = [*PAY_FULL, "4000000000000002#", *CARD[1:], "1", "*"]
    simulator.call(keys_from(declined), caller="+15005550006")
    simulator.call(keys_from([*PAY_FULL, *CARD, "1", "3"]), caller="+15005550006")
    wrong = ["", "1"] + ["9999#", "94105"] * settings.MAX_ACCOUNT_FAILURES + [""]
    simulator.call(keys_from(wrong), caller="+15005550006")
    text = metrics_text(metered.test_client())

    assert value(text, "ivr_metrics_database_up") == 1
    assert value(text, "ivr_payments", status="approved") == 1
    assert value(text, "ivr_payments", status="declined") == 1
    assert value(text, "ivr_payments", status="unknown") == 0
    assert value(text, "ivr_verification_attempts_total", outcome="success") == 2
    assert value(text, "ivr_verification_attempts_total", outcome="failure") == 2
    assert value(text, "ivr_verification_attempts_total", outcome="locked") == 1
    assert value(text, "ivr_lockouts_active", lock="timed") == 1
    assert value(text, "ivr_lockouts_active", lock="hard") == 0
    assert value(text, "ivr_outbox_messages", status="pending") == 1  # the email receipt asked for
    assert value(text, "ivr_outbox_oldest_pending_seconds") >= 0
    for private in ("70000001", "5005550006", "ada@example.com", "4242"):
        assert private not in text


def test_an_unreachable_database_still_gets_the_request_figures(make_app):
    app = make_app(
        METRICS_TOKEN=METRICS_TOKEN, DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    text = metrics_text(app.test_client())
    assert value(text, "ivr_metrics_database_up") == 0
    assert "ivr_payments" not in text
    assert "ivr_http_request_duration_seconds" in text


# One gunicorn worker, played by a process of its own: answers one request or one scrape.
WORKER = """
import sys
from ivr.web.factory import create_app
app = create_app({"DATABASE_URL": sys.argv[1], "METRICS_TOKEN": "token"})
client = app.test_client()
if sys.argv[2] == "webhook":
    client.post("/voice/incoming")
else:
    print(client.get("/metrics", headers={"Authorization": "Bearer token"}).get_data(as_text=True))
"""


def test_with_a_multiprocess_directory_any_worker_reports_every_workers_requests(
    sqlite_template, tmp_path
):
    database = tmp_path / "ivr.sqlite3"
    shutil.copy(sqlite_template, database)
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}

    def worker(role):
        return subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", WORKER, f"sqlite:///{database}", role],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip

    worker("webhook")
    worker("webhook")
    text = worker("scrape")
    assert value(text, "ivr_http_requests_total", endpoint="voice.incoming", status="403") == 2
    assert value(text, "ivr_metrics_database_up") == 1
