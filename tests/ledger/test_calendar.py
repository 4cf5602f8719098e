"""Statutory deadlines counted in Kazakh working days: weekends, public holidays and government transfers."""

from datetime import date

import pytest

from services.ledger.adapters.calendar import GOVERNMENT_TRANSFERS, KazakhCalendar

CALENDAR = KazakhCalendar()


def test_a_subject_request_received_on_friday_22_may_2026_is_due_on_thursday_28_may() -> None:
    # Hand count, 3 working days after Fri 22 May 2026: Sat 23 and Sun 24 are the weekend;
    # Mon 25 (1), Tue 26 (2); Wed 27 is Kurban Ait; Thu 28 (3).
    assert CALENDAR.add_working_days(date(2026, 5, 22), 3) == date(2026, 5, 28)


def test_a_withdrawal_filed_on_friday_22_may_2026_takes_effect_on_monday_8_june() -> None:
    # Hand count, 10 working days after Fri 22 May 2026 (weekends and Kurban Ait on Wed 27 May skipped):
    # 25 (1), 26 (2), 28 (3), 29 (4) May; 1 (5), 2 (6), 3 (7), 4 (8), 5 (9), 8 (10) June.
    takes_effect = CALENDAR.add_working_days(date(2026, 5, 22), 10)

    assert takes_effect == date(2026, 6, 8)
    assert CALENDAR.working_days_between(date(2026, 5, 22), takes_effect) == 10


def test_kurban_ait_2026_is_a_day_off() -> None:
    # The holidays package estimates 27 May 2026 from the lunar calendar until the date is confirmed.
    assert not CALENDAR.is_working_day(date(2026, 5, 27))


@pytest.mark.parametrize(
    ("day", "is_working"),
    [
        pytest.param(date(2026, 5, 22), True, id="Friday"),
        pytest.param(date(2026, 5, 23), False, id="Saturday"),
        pytest.param(date(2026, 5, 24), False, id="Sunday"),
        pytest.param(date(2026, 5, 25), True, id="Monday"),
    ],
)
def test_saturday_and_sunday_are_days_off(day: date, is_working: bool) -> None:
    assert CALENDAR.is_working_day(day) is is_working


@pytest.mark.parametrize(
    "day",
    [
        pytest.param(date(2026, 1, 1), id="New Year, 1 January"),
        pytest.param(date(2026, 1, 2), id="New Year, 2 January"),
        pytest.param(date(2026, 3, 23), id="Nauryz, 23 March"),
        pytest.param(date(2026, 3, 24), id="Nauryz falling on Saturday 21 March, observed on Tuesday 24"),
        pytest.param(date(2026, 3, 25), id="Nauryz falling on Sunday 22 March, observed on Wednesday 25"),
        pytest.param(date(2026, 5, 11), id="Victory Day falling on Saturday 9 May, observed on Monday 11"),
    ],
)
def test_public_holidays_and_their_observed_days_are_days_off(day: date) -> None:
    assert not CALENDAR.is_working_day(day)


def test_work_resumes_after_the_nauryz_holidays_of_2026() -> None:
    # Fri 20 March; Sat 21 to Wed 25 are Nauryz, its weekend days and their observed days; Thu 26 (1).
    assert CALENDAR.add_working_days(date(2026, 3, 20), 1) == date(2026, 3, 26)


def test_a_deadline_counted_across_new_year_skips_the_holidays_and_the_weekend() -> None:
    # Wed 31 December 2025; Thu 1 and Fri 2 January are New Year, 3 and 4 the weekend; Mon 5 (1).
    assert CALENDAR.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 5)


def test_a_transfer_decree_known_to_the_holidays_package_is_applied() -> None:
    # Decree of 2024 (adilet G24G0000109): Saturday 4 May worked in exchange for Wednesday 8 May off.
    assert CALENDAR.is_working_day(date(2024, 5, 4))
    assert not CALENDAR.is_working_day(date(2024, 5, 8))


def test_an_override_makes_a_saturday_a_working_day_and_a_weekday_a_day_off() -> None:
    saturday, wednesday = date(2026, 6, 6), date(2026, 6, 3)
    calendar = KazakhCalendar({saturday: True, wednesday: False})

    assert calendar.is_working_day(saturday)
    assert not calendar.is_working_day(wednesday)
    # 25 (1), 26 (2), 28 (3), 29 (4) May; 1 (5), 2 (6) June; Wed 3 June off; 4 (7), 5 (8) June;
    # Sat 6 June worked (9). Without the overrides the 9th working day is Fri 5 June.
    assert calendar.add_working_days(date(2026, 5, 22), 9) == saturday
    assert CALENDAR.add_working_days(date(2026, 5, 22), 9) == date(2026, 6, 5)


def test_an_override_wins_over_a_public_holiday() -> None:
    kurban_ait = date(2026, 5, 27)

    assert KazakhCalendar({kurban_ait: True}).is_working_day(kurban_ait)


def test_overrides_are_copied_so_later_changes_to_the_table_do_not_move_deadlines() -> None:
    table = {date(2026, 6, 6): True}
    calendar = KazakhCalendar(table)
    table[date(2026, 6, 6)] = False

    assert calendar.is_working_day(date(2026, 6, 6))


def test_the_default_calendar_uses_the_government_transfer_table() -> None:
    assert all(CALENDAR.is_working_day(day) is working for day, working in GOVERNMENT_TRANSFERS.items())


@pytest.mark.parametrize("count", [0, -1])
def test_a_deadline_must_be_at_least_one_working_day_away(count: int) -> None:
    with pytest.raises(ValueError, match="at least 1 working day"):
        CALENDAR.add_working_days(date(2026, 5, 22), count)


def test_the_day_a_request_arrives_never_counts_towards_its_deadline() -> None:
    # Mon 25 May 2026 is itself a working day; the first working day after it is Tue 26.
    assert CALENDAR.add_working_days(date(2026, 5, 25), 1) == date(2026, 5, 26)
    assert CALENDAR.working_days_between(date(2026, 5, 25), date(2026, 5, 25)) == 0


def test_no_working_days_lie_between_a_date_and_an_earlier_one() -> None:
    assert CALENDAR.working_days_between(date(2026, 6, 8), date(2026, 5, 22)) == 0
