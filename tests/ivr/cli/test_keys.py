"""``ivr keys``: rotating the capture key and the PIN pepper, and seeing what still uses the old."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy.orm import Session

from ivr.config import DEV_AUTH_TOKEN, Settings
from payments.capture import KeyRing
from tests.support.cli import cli_env, run_ivr
from tests.support.factories import add_account
from verification.credentials import pepper_id

OLD_KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture
def env(database_url: str) -> dict[str, str | None]:
    return cli_env(
        database_url, TWILIO_AUTH_TOKEN=DEV_AUTH_TOKEN, CAPTURE_KEY=OLD_KEY, PIN_PEPPER="old"
    )


def test_rotate_capture_key_prints_a_new_key_then_the_current_one(env) -> None:
    result = run_ivr(["keys", "rotate", "capture-key"], env)
    assert result.exit_code == 0
    new, old = result.stdout.strip().split(",")
    assert old == OLD_KEY and new != OLD_KEY
    ring = KeyRing(result.stdout.strip())  # a valid setting, the new key current
    assert ring.key_ids == [KeyRing(new).current_id, KeyRing(OLD_KEY).current_id]
    assert "new secret first" in result.stderr


def test_rotate_pin_pepper_keeps_the_old_peppers_after_the_new(env) -> None:
    result = run_ivr(["keys", "rotate", "pin-pepper"], {**env, "PIN_PEPPER": "b,a"})
    new, *rest = result.stdout.strip().split(",")
    assert rest == ["b", "a"] and len(new) >= 32


def test_status_counts_accounts_per_pepper_without_showing_secrets(
    env, db: Session, settings: Settings
) -> None:
    add_account(db, settings.replace(PIN_PEPPER="old"), account_number="70000001")
    add_account(db, settings.replace(PIN_PEPPER="new"), account_number="70000002")
    add_account(db, settings.replace(PIN_PEPPER="new"), account_number="70000003")
    result = run_ivr(["keys", "status"], {**env, "PIN_PEPPER": "new,old"})
    assert result.exit_code == 0
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert f"{pepper_id('new')} 2" in lines
    assert f"{pepper_id('old')} 1" in lines
    assert "new,old" not in result.stdout and OLD_KEY not in result.stdout
