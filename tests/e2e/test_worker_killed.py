"""A real process kill between the gateway's approval and our commit.

gunicorn serves the app with one worker; the sandbox books the charge and then takes three
seconds to answer (``SANDBOX_DELAY_MS``), and in that window the worker gets SIGKILL. gunicorn
starts a new worker, ``ivr reconcile`` settles the payment from the gateway's books, and
Twilio's retry of the lost webhook tells the caller the confirmation number. One charge.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.server import APP, Server, gunicorn
from ivr.config import DEV_AUTH_TOKEN, Settings
from ivr.models import Payment, PaymentStatus
from ivr.simulator.emulator import Simulator, http_transport
from payments.gateways.sandbox_tables import SandboxCharge
from tests.support.cli import cli_env, run_ivr
from tests.support.factories import add_account
from tests.support.keys import paying, posted
from tests.support.webhooks import call_form

SID = "CA" + "5" * 32
PRESSES = posted(paying())


def charges(db: Session) -> list[SandboxCharge]:
    db.rollback()
    return list(db.scalars(select(SandboxCharge)))


def wait_for(condition, what: str, timeout_s: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def replacement_worker(server: Server, killed: int) -> bool:
    workers = server.worker_pids()
    return bool(workers) and killed not in workers


def test_sigkill_between_approval_and_commit_charges_once_and_reconcile_records_it(
    database_url: str, db: Session, settings: Settings, tmp_path: Path
) -> None:
    add_account(db, settings)
    overrides = {
        "DATABASE_URL": database_url,
        "TWILIO_AUTH_TOKEN": DEV_AUTH_TOKEN,
        "SANDBOX_DELAY_MS": "3000",
        "LOG_LEVEL": "WARNING",
    }
    with gunicorn(APP, overrides, workers=1, log_path=tmp_path / "gunicorn.log") as server:
        twilio = Simulator(
            http_transport(server.url),
            public_base_url=server.url,
            auth_token=DEV_AUTH_TOKEN,
            account_sid=settings.TWILIO_ACCOUNT_SID,
        )
        status, twiml = twilio.post("/voice/incoming", call_form(SID))
        for turn, keys in enumerate(PRESSES, start=1):
            path = f"/voice/step?turn={turn}" + ("" if keys else "&silence=1")
            status, twiml = twilio.post(path, call_form(SID, **({"Digits": keys} if keys else {})))
            assert status == 200
        resume = (ET.fromstring(twiml).find("Redirect").text or "").strip()  # noqa: S314

        lost: list[BaseException] = []

        def authorize() -> None:
            try:
                twilio.post(resume, call_form(SID))
            except OSError as error:  # the worker died under the request
                lost.append(error)

        request = threading.Thread(target=authorize)
        request.start()
        wait_for(lambda: len(charges(db)) == 1, "the gateway to book the charge")
        [worker] = server.worker_pids()
        os.kill(worker, signal.SIGKILL)
        request.join(timeout=20)
        assert lost, "the request should have died with its worker"

        db.rollback()
        [payment] = db.scalars(select(Payment))
        assert payment.status is PaymentStatus.PENDING  # approved at the gateway, not by us

        wait_for(lambda: replacement_worker(server, worker), "gunicorn to start a new worker")
        env = cli_env(database_url, TWILIO_AUTH_TOKEN=DEV_AUTH_TOKEN)
        assert run_ivr(["reconcile", "--older-than", "0"], env).exit_code == 0
        db.rollback()
        db.refresh(payment)
        assert payment.status is PaymentStatus.APPROVED
        assert payment.confirmation_number is not None

        status, retried = twilio.post(resume, call_form(SID))  # Twilio retries once
        assert status == 200
        assert " ".join(payment.confirmation_number) in retried.replace(",", "")

    [charge] = charges(db)
    assert (charge.status, charge.idempotency_key) == ("approved", payment.idempotency_key)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Payment)) == 1
