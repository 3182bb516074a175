"""Shared pieces of the verification tests (the flow tests use them too)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.models import Account
from tests.support.factories import ADA, add_account

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
ADA_PHONE = ADA["phone"]
STRANGER = "+12025550123"


@pytest.fixture
def ada(db: Session, settings: Settings) -> Account:
    """Account 70000001: PIN 1234, service ZIP 94105, phone ADA_PHONE."""
    return add_account(db, settings)
