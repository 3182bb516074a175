"""``python -m bench --soak``: any error, 5xx, duplicate payment or early end fails the run."""

import pytest

from bench.__main__ import soak_problems
from bench.plan import SOAK_CALLS_PER_S, soak_calls, soak_only

PLAN = soak_only(100)
CLEAN = {
    "seconds": 100.2,
    "errors": 0,
    "first_errors": [],
    "server_errors": 0,
    "accounts_paid_twice": 0,
    "charges_without_payment": 0,
}


def test_a_clean_soak_has_no_problems():
    assert soak_problems(CLEAN, PLAN) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"server_errors": 3}, "3 5xx"),
        ({"accounts_paid_twice": 1}, "1 accounts paid twice"),
        ({"charges_without_payment": 2}, "2 charges without a payment"),
        ({"seconds": 40.0}, "ended after 40s of 100s"),
        (
            {"errors": 1, "first_errors": ["a replayed webhook got a different answer"]},
            "1 errors",
        ),
    ],
)
def test_anything_wrong_fails_the_soak(change, problem):
    problems = soak_problems({**CLEAN, **change}, PLAN)
    assert problem in problems
    if change.get("first_errors"):
        assert "first error: a replayed webhook got a different answer" in problems


def test_a_soak_alone_has_an_account_for_every_call_it_can_place():
    assert PLAN.soak_s == 100
    assert PLAN.accounts == soak_calls(100) >= 100 * SOAK_CALLS_PER_S
