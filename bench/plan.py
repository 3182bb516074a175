"""How big each measurement is: full, quick (under a minute) and smoke (the pytest check), and
the soak alone for a chosen time (``--soak SECONDS``, run by CI).

One table of sizes keeps the three modes running the same code, only at different scales.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Plan:
    name: str
    accounts: int  # loaded before the load runs; each paid journey uses one up
    warmup_s: float  # load before measuring, so worker start-up is not measured
    saturation_s: float
    saturation_journeys: int  # upper bound: a journey pays one account in full
    steps: tuple[int, ...]  # simultaneous calls per concurrency step
    step_s: float
    import_rows: int
    scale_accounts: int  # 0: the large-table comparison is skipped
    soak_s: float  # twice the saturation load, with replays, for this long


FULL = Plan(
    name="full",
    accounts=10_000,
    warmup_s=3,
    saturation_s=30,
    saturation_journeys=2_500,
    steps=(25, 50, 100, 200, 400, 800, 1000, 1200, 1600, 2000, 2500, 3000),
    step_s=30,
    import_rows=100_000,
    scale_accounts=1_000_000,
    soak_s=180,
)
QUICK = Plan(
    name="quick",
    accounts=2_500,
    warmup_s=2,
    saturation_s=5,
    saturation_journeys=1_000,
    steps=(10, 50, 150),
    step_s=4,
    import_rows=5_000,
    scale_accounts=0,
    soak_s=5,
)
SMOKE = Plan(
    name="smoke",
    accounts=200,  # the soak may take up to soak_calls(soak_s) of them
    warmup_s=0,
    saturation_s=1,
    saturation_journeys=2,
    steps=(2,),
    step_s=1,
    import_rows=50,
    scale_accounts=0,
    soak_s=1,
)

# A generous ceiling on paid calls per second, so a soak alone never runs out of accounts.
SOAK_CALLS_PER_S = 40


def soak_calls(seconds: float) -> int:
    """Accounts a soak of ``seconds`` may use up: one per call it can place."""
    return int(seconds * SOAK_CALLS_PER_S) + 100


def soak_only(seconds: float) -> Plan:
    """Only the soak, for ``seconds``, with an account for every call it can place."""
    return replace(QUICK, name="soak", accounts=soak_calls(seconds), soak_s=seconds)
