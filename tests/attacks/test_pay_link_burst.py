"""Card testing through one pay link: a declined card submitted 20 times at once reaches the
gateway at most the decline cap times, and the link then refuses with a clear message."""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.server import Server
from ivr.config import Settings
from ivr.models import Account, Payment
from ivr.simulator.emulator import Simulator
from payments.gateways.sandbox_tables import SandboxCharge
from tests.attacks.attacker import Ceilings, Gate, burst, message
from tests.support.card_scan import CODE
from tests.support.factories import add_account
from tests.support.keys import TEXT_VERIFY
from tests.support.texting import form_token

pytestmark = pytest.mark.attack

SUBMISSIONS = 20
DECLINED, APPROVED = "4000000000000002", "4242424242424242"
PHONE = "+16175550100"


def pay_link(twilio: Simulator, server: Server) -> str:
    """Verify by text from the account's phone and ask for a pay link, as its owner would."""
    for body in (*TEXT_VERIFY, "2"):
        message(twilio, PHONE, body)
    reply = message(twilio, PHONE, "1")
    found = re.search(re.escape(server.url) + r"(/pay/[A-Za-z0-9_-]+)", reply)
    assert found, f"no pay link in {reply!r}"
    return server.url + found.group(1)


def gateway_charges(db: Session, account: Account) -> list[str]:
    """Statuses of the sandbox gateway's charges for ``account``'s payments."""
    db.rollback()
    keys = select(Payment.idempotency_key).where(Payment.account_id == account.id)
    return list(
        db.scalars(select(SandboxCharge.status).where(SandboxCharge.idempotency_key.in_(keys)))
    )


def submission(url: str, token: str, number: str) -> requests.Response:
    fields = {"number": number, "expiry": "12/30", "code": CODE, "postal": "94105"}
    return requests.post(url, data={"form_token": token, **fields}, timeout=30)


def said(page: requests.Response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page.text).split())


def test_a_declined_card_fired_at_one_link_reaches_the_gateway_at_most_the_cap(
    db: Session, settings: Settings, twilio: Simulator, server: Server, ceilings: Ceilings
) -> None:
    account = add_account(db, settings, account_number="74000001", phone=PHONE)
    url = pay_link(twilio, server)
    page = requests.get(url, timeout=30)
    assert page.status_code == 200, said(page)
    token = form_token(page.text)

    def attempt(gate: Gate) -> requests.Response:
        gate()
        return submission(url, token, DECLINED)

    [answers] = burst([attempt] * SUBMISSIONS)
    cap = settings.MAX_DECLINES_PER_SESSION
    charges = gateway_charges(db, account)
    ceilings.report(
        "declines per pay link",
        f"{len(charges)} gateway authorizations from {SUBMISSIONS} simultaneous submissions "
        f"(MAX_DECLINES_PER_SESSION={cap}): at most {len(charges)} card tests per link",
    )
    assert len(charges) <= cap, (
        f"{len(charges)} gateway authorizations for {SUBMISSIONS} simultaneous submissions of a "
        f"declined card to one link, cap {cap}; answers {sorted(a.status_code for a in answers)}"
    )
    assert all(answer.status_code < 500 for answer in answers)

    refused = submission(url, token, APPROVED)
    assert len(gateway_charges(db, account)) == len(charges), "the link still reached the gateway"
    assert refused.status_code >= 400 and 'name="form_token"' not in refused.text, (
        f"after {len(charges)} declines the link still offers its form: {said(refused)[:300]}"
    )
    assert "representative" in said(refused).lower() or settings.AGENT_NUMBER in refused.text, (
        f"the refusal offers no representative: {said(refused)[:300]}"
    )
