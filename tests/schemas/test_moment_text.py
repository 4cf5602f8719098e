"""A moment's canonical text is one text, whatever the offset it was given in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas.envelope import utc_text, utc_text_of_iso


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 5, 22, 10, 0, tzinfo=timezone(timedelta(hours=5))), "2026-05-22T05:00:00.000000Z"),
        (datetime(2026, 5, 22, 5, 0, 0, 1, tzinfo=UTC), "2026-05-22T05:00:00.000001Z"),
        (datetime(2000, 1, 1, 2, 59, 59, 999999, tzinfo=timezone(timedelta(hours=3))), "1999-12-31T23:59:59.999999Z"),
        (datetime(999, 1, 1, tzinfo=UTC), datetime(999, 1, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    ],
)
def test_a_moment_is_written_in_utc_with_microseconds_and_z(moment: datetime, text: str) -> None:
    assert utc_text(moment) == text


def test_a_moment_without_a_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        utc_text(datetime(2026, 5, 22, 10, 0))


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 5, 22, 5, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 5, 22, 5, 0, tzinfo=UTC),  # isoformat leaves out a zero fraction
        datetime(2026, 5, 22, 10, 0, 0, 250000, tzinfo=timezone(timedelta(hours=5))),
        datetime(2026, 5, 22, 10, 0, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
        datetime(999, 1, 1, 0, 0, 0, 5, tzinfo=UTC),
    ],
)
def test_the_text_of_a_moment_written_by_isoformat_is_the_text_of_the_moment(moment: datetime) -> None:
    assert utc_text_of_iso(moment.isoformat()) == utc_text(moment)
