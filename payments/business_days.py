"""Business days: Monday to Friday, less a country's public holidays (observed days included).

Holidays come from the ``holidays`` package, which tracks each country's rules year by year
(Juneteenth from 2021, a Saturday holiday observed on the Friday), so no list needs yearly
upkeep. A due date or an installment never lands on a day the customer's bank is closed.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import holidays

from ivr.config import ConfigError

SATURDAY = 5


@functools.cache
def _holidays(country: str, year: int) -> frozenset[dt.date]:
    """One country's holidays in one year, built once per process and never changed after."""
    return frozenset(holidays.country_holidays(country, years=year))


@dataclass(frozen=True)
class BusinessDays:
    """``country`` is an ISO code the ``holidays`` package knows ("US"); empty: weekends only."""

    country: str = ""

    @classmethod
    def from_setting(cls, country: str) -> BusinessDays:
        code = country.strip().upper()
        if code and code not in holidays.list_supported_countries():
            raise ConfigError(
                f"HOLIDAY_CALENDAR={country!r} is not a known country code; use e.g. US, "
                "or leave it empty for weekends only."
            )
        return cls(code)

    def is_business_day(self, day: dt.date) -> bool:
        if day.weekday() >= SATURDAY:
            return False
        return not self.country or day not in _holidays(self.country, day.year)

    def on_or_before(self, day: dt.date) -> dt.date:
        while not self.is_business_day(day):
            day -= dt.timedelta(days=1)
        return day

    def after(self, day: dt.date) -> dt.date:
        """The first business day strictly after ``day``."""
        day += dt.timedelta(days=1)
        while not self.is_business_day(day):
            day += dt.timedelta(days=1)
        return day
