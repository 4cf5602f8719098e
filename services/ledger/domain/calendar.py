"""The day in Kazakhstan: every statutory deadline is a day on the Kazakh calendar (working days: WorkingDays)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

KAZAKHSTAN = ZoneInfo("Asia/Almaty")  # the whole country keeps UTC+5 since 2024-03-01


def kazakh_day(moment: datetime) -> date:
    """The calendar day in Kazakhstan at `moment` (deadlines are days on the Kazakh calendar)."""
    return moment.astimezone(KAZAKHSTAN).date()
