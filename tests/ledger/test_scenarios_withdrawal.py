"""Withdrawal and expiry as scenarios: filed, refused by the DPO, taking effect on its working day, lapsing.

Dates follow the Kazakh working-day calendar; all subjects and forms are synthetic.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.ledger.domain import events as e
from services.ledger.domain.vocabulary import (
    Channel,
    ConsentStatus,
    DataCategory,
    Purpose,
    WithdrawalRefusalReason,
)
from tests.ledger.scenario_support import (
    CALENDAR,
    CONSULTANT,
    DPO,
    FRIDAY_22_MAY,
    MONDAY_8_JUNE,
    PII,
    SCHEDULER,
    consent_terms,
    ctx,
    given_consent,
    given_withdrawal_pending,
    recorded,
    refused,
)

# --- ConsentWithdrawalRequested -----------------------------------------------------------------------------------


def test_a_withdrawal_filed_on_friday_22_may_2026_takes_effect_on_8_june() -> None:
    subject = given_consent()

    event_id = subject.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR)

    requested = recorded(subject, event_id, e.ConsentWithdrawalRequested)
    assert requested.filed_on == "2026-05-22"
    assert requested.effective_on == "2026-06-08"  # 10 working days; Kurban Ait on 27 May is skipped
    assert requested.requested_effective_on is None
    assert requested.consent_id == subject.consent_id
    assert subject.consent_status is ConsentStatus.WITHDRAWAL_PENDING
    assert subject.pending_withdrawal == (event_id, MONDAY_8_JUNE)


def test_a_withdrawal_asked_for_a_later_date_takes_effect_on_that_date() -> None:
    subject = given_consent()

    event_id = subject.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR, requested_effective_on=date(2026, 6, 30))

    requested = recorded(subject, event_id, e.ConsentWithdrawalRequested)
    assert (requested.effective_on, requested.requested_effective_on) == ("2026-06-30", "2026-06-30")
    assert subject.pending_withdrawal == (event_id, date(2026, 6, 30))


def test_a_withdrawal_asked_for_too_early_is_moved_to_the_tenth_working_day() -> None:
    subject = given_consent()

    event_id = subject.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR, requested_effective_on=date(2026, 6, 1))

    requested = recorded(subject, event_id, e.ConsentWithdrawalRequested)
    assert (requested.effective_on, requested.requested_effective_on) == ("2026-06-08", "2026-06-01")


def test_a_withdrawal_entered_the_day_it_was_filed_says_it_was_entered_0_days_late() -> None:
    subject = given_consent()

    event_id = subject.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR)

    assert recorded(subject, event_id, e.ConsentWithdrawalRequested).entered_late_by_days == 0


def test_a_paper_withdrawal_filed_on_22_may_and_entered_on_20_july_keeps_its_dates_and_takes_effect_at_once() -> None:
    subject = given_consent()
    monday_20_july = date(2026, 7, 20)

    event_id = subject.request_withdrawal(ctx(1, on=monday_20_july, actor=DPO), FRIDAY_22_MAY, CALENDAR)
    requested = recorded(subject, event_id, e.ConsentWithdrawalRequested)
    withdrawn_id = subject.complete_withdrawal(ctx(2, on=monday_20_july, actor=DPO), monday_20_july)

    assert (requested.filed_on, requested.effective_on) == ("2026-05-22", "2026-06-08")
    assert requested.entered_late_by_days == 59
    assert recorded(subject, withdrawn_id, e.ConsentWithdrawn).effective_on == "2026-06-08"
    assert subject.consent_status is ConsentStatus.WITHDRAWN


def test_a_withdrawal_filed_before_the_consent_in_force_was_given_is_refused() -> None:
    subject = given_consent()  # on Monday 4 May 2026

    with refused(subject, "filed_before_consent") as refusal:
        subject.request_withdrawal(ctx(1, on=date(2026, 7, 20), actor=DPO), date(2026, 4, 30), CALENDAR)

    assert "2026-04-30" in refusal.value.message
    assert "2026-05-04" in refusal.value.message
    assert subject.consent_status is ConsentStatus.ACTIVE


# --- ConsentWithdrawalRefused -------------------------------------------------------------------------------------


def test_a_withdrawal_filed_with_an_order_still_to_deliver_is_refused_and_consent_stays_in_force() -> None:
    subject = given_consent()

    event_id = subject.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR, unfulfilled_obligations=2)

    refusal = recorded(subject, event_id, e.ConsentWithdrawalRefused)
    assert refusal.reason == "unfulfilled_obligation"
    assert "2 unfulfilled obligation(s)" in refusal.legal_basis
    assert refusal.withdrawal_request_id is None
    assert subject.consent_status is ConsentStatus.ACTIVE
    assert subject.pending_withdrawal is None


def test_the_dpo_refusing_a_pending_withdrawal_puts_the_consent_back_in_force() -> None:
    subject = given_withdrawal_pending()
    assert subject.pending_withdrawal is not None
    request_id = subject.pending_withdrawal[0]

    event_id = subject.refuse_withdrawal(
        ctx(1, actor=DPO), WithdrawalRefusalReason.LEGAL_RETENTION_DUTY, "records kept under the Tax Code"
    )

    refusal = recorded(subject, event_id, e.ConsentWithdrawalRefused)
    assert refusal.reason == "legal_retention_duty"
    assert refusal.legal_basis == "records kept under the Tax Code"
    assert refusal.withdrawal_request_id == request_id
    assert refusal.actor == DPO
    assert subject.consent_status is ConsentStatus.ACTIVE
    assert subject.pending_withdrawal is None


# --- ConsentWithdrawn ---------------------------------------------------------------------------------------------


def test_the_scheduler_lets_the_withdrawal_take_effect_on_8_june() -> None:
    subject = given_withdrawal_pending()
    assert subject.pending_withdrawal is not None
    request_id = subject.pending_withdrawal[0]

    event_id = subject.complete_withdrawal(ctx(1, on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)

    withdrawn = recorded(subject, event_id, e.ConsentWithdrawn)
    assert withdrawn.consent_id == subject.consent_id
    assert withdrawn.withdrawal_request_id == request_id
    assert withdrawn.effective_on == "2026-06-08"
    assert subject.consent_status is ConsentStatus.WITHDRAWN
    assert subject.pending_withdrawal is None


def test_a_scheduler_running_late_still_records_the_withdrawal_as_effective_on_8_june() -> None:
    subject = given_withdrawal_pending()

    event_id = subject.complete_withdrawal(ctx(1, on=date(2026, 6, 10), actor=SCHEDULER), date(2026, 6, 10))

    assert recorded(subject, event_id, e.ConsentWithdrawn).effective_on == "2026-06-08"


def test_a_withdrawal_cannot_take_effect_on_friday_5_june_before_its_day() -> None:
    subject = given_withdrawal_pending()

    with refused(subject, "withdrawal_not_due") as refusal:
        subject.complete_withdrawal(ctx(1, on=date(2026, 6, 5), actor=SCHEDULER), date(2026, 6, 5))

    assert "2026-06-08" in refusal.value.message
    assert subject.consent_status is ConsentStatus.WITHDRAWAL_PENDING


# --- ConsentExpired -----------------------------------------------------------------------------------------------


def test_a_consent_ends_the_day_after_the_last_day_of_its_term() -> None:
    subject = given_consent(valid_until=date(2026, 12, 31))

    event_id = subject.expire_consent(ctx(1, on=date(2027, 1, 1), actor=SCHEDULER), date(2027, 1, 1))

    expired = recorded(subject, event_id, e.ConsentExpired)
    assert (expired.consent_id, expired.valid_until) == (subject.consent_id, "2026-12-31")
    assert subject.consent_status is ConsentStatus.EXPIRED


def test_a_consent_whose_term_ends_while_a_withdrawal_is_pending_expires_and_the_withdrawal_lapses() -> None:
    subject = given_withdrawal_pending(valid_until=date(2026, 6, 1))

    event_id = subject.expire_consent(ctx(1, on=date(2026, 6, 2), actor=SCHEDULER), date(2026, 6, 2))

    recorded(subject, event_id, e.ConsentExpired)
    assert subject.consent_status is ConsentStatus.EXPIRED
    assert subject.pending_withdrawal is None


# --- Refusals: while a withdrawal is pending ----------------------------------------------------------------------


def test_a_new_consent_is_refused_while_a_withdrawal_is_pending() -> None:
    subject = given_withdrawal_pending()

    with refused(subject, "consent_withdrawal_pending"):
        subject.grant_consent(ctx(1, actor=CONSULTANT), consent_terms(), PII)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(lambda s: s.opt_in_to_marketing(ctx(1), [Channel.SMS]), id="marketing stopped at once"),
        pytest.param(lambda s: s.link_card(ctx(1), "card-ref-new"), id="no new card"),
        pytest.param(lambda s: s.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR), id="no second withdrawal"),
    ],
)
def test_while_a_withdrawal_is_pending(command: Any) -> None:
    subject = given_withdrawal_pending()

    with refused(subject, "consent_withdrawal_pending"):
        command(subject)


def test_no_data_is_handed_over_for_advertising_once_a_withdrawal_is_filed() -> None:
    # DESIGN.md: "withdrawal pending -> deny marketing, allow the rest until effective_on";
    # the catalogue: ConsentWithdrawalRequested "marketing stops at once".
    subject = given_withdrawal_pending()

    with refused(subject, "consent_withdrawal_pending"):
        subject.transfer_data(ctx(1), "adtech-kz", "KZ", [DataCategory.CONTACTS], Purpose.MARKETING)


# --- Refusals: withdrawal and expiry ------------------------------------------------------------------------------


def test_refusing_a_withdrawal_nobody_filed() -> None:
    subject = given_consent()

    with refused(subject, "no_withdrawal_pending"):
        subject.refuse_withdrawal(ctx(1, actor=DPO), WithdrawalRefusalReason.UNFULFILLED_OBLIGATION, "open order")


def test_completing_a_withdrawal_nobody_filed() -> None:
    subject = given_consent()

    with refused(subject, "no_withdrawal_pending"):
        subject.complete_withdrawal(ctx(1, actor=SCHEDULER), MONDAY_8_JUNE)


def test_completing_a_withdrawal_the_dpo_refused() -> None:
    subject = given_withdrawal_pending()
    subject.refuse_withdrawal(ctx("refusal", actor=DPO), WithdrawalRefusalReason.LEGAL_RETENTION_DUTY, "Tax Code")

    with refused(subject, "no_withdrawal_pending"):
        subject.complete_withdrawal(ctx(1, on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)


@pytest.mark.parametrize(
    ("valid_until", "today"),
    [
        pytest.param(date(2026, 12, 31), date(2026, 12, 30), id="the day before its end"),
        pytest.param(None, date(2030, 1, 1), id="for the duration of the loyalty programme"),
    ],
)
def test_a_consent_does_not_expire_before_its_term_ends(valid_until: date | None, today: date) -> None:
    subject = given_consent(valid_until=valid_until)

    with refused(subject, "consent_not_expired"):
        subject.expire_consent(ctx(1, on=today, actor=SCHEDULER), today)
