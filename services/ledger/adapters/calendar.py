"""The Kazakh working-day calendar (the `holidays` package) that every statutory deadline is counted on.

The domain sees it as `WorkingDays`; the composition root passes this one in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from types import MappingProxyType

import holidays

# Government transfers of days off that the `holidays` package does not know yet: date -> True when the
# government made it a working day (a Saturday worked in exchange for a bridge day), False when it made it a
# day off (the bridge day). An entry here wins over weekends and public holidays.
#
# The package already applies every transfer decree it ships (2000-2025 in holidays 0.109, both the bridge day
# off and the Saturday worked), so this table holds only decrees published after that release. To add one,
# write both of its dates with the decree's reference beside them, for example:
#     date(2027, 1, 8): False,  # Decree of the Government of the Republic of Kazakhstan No. ... of ...
#     date(2027, 1, 16): True,  # same decree: Saturday worked in exchange for 8 January
GOVERNMENT_TRANSFERS: Mapping[date, bool] = MappingProxyType({})

_ONE_DAY = timedelta(days=1)


class KazakhCalendar:
    """Working days in Kazakhstan: no weekends, no public holidays, government transfers applied."""

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        self._overrides: Mapping[date, bool] = MappingProxyType(
            dict(GOVERNMENT_TRANSFERS if overrides is None else overrides)
        )
        self._holidays_by_year: dict[int, holidays.HolidayBase] = {}

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day in Kazakhstan."""
        if day in self._overrides:
            return self._overrides[day]
        # The package's own rule: Saturday and Sunday off unless a transfer decree made them working days,
        # any other day off when it is a public holiday, its observed day or a transfer's bridge day.
        return self._holidays(day.year).is_working_day(day)

    def add_working_days(self, start: date, count: int) -> date:
        """The `count`-th working day after `start`; `start` itself never counts."""
        if count < 1:
            raise ValueError(f"count must be at least 1 working day, got {count}")
        day = start
        while count:
            day += _ONE_DAY
            if self.is_working_day(day):
                count -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days after `start` up to and including `end`; 0 when `end` is not later."""
        days = (end - start).days
        return sum(self.is_working_day(start + timedelta(days=offset)) for offset in range(1, days + 1))

    def _holidays(self, year: int) -> holidays.HolidayBase:
        """The public holidays of one year, computed once."""
        if year not in self._holidays_by_year:
            self._holidays_by_year[year] = holidays.country_holidays("KZ", years=year)
        return self._holidays_by_year[year]
