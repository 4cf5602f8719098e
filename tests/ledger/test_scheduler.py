"""The scheduler lets withdrawals take effect and consents expire on their day, once, whatever runs it."""

from __future__ import annotations

from datetime import date

from services.ledger.application.scheduler import Scheduler
from services.ledger.domain import events as e
from tests.ledger.acts import ScenarioLedger
from tests.ledger.conftest import at, ctx, make_ledger, new_subject, tablet_consent


def test_a_withdrawal_filed_on_22_may_takes_effect_when_the_scheduler_runs_on_8_june(ledger: ScenarioLedger) -> None:
    subject = new_subject()
    ledger.grant_consent(subject, ctx("grant"), tablet_consent(), None)
    ledger.request_withdrawal(subject, ctx("withdraw", "2026-05-22"), filed_on=date(2026, 5, 22))
    scheduler = Scheduler(ledger.commands())

    on_friday_5_june = scheduler.run(at("2026-06-05", "23:59"))
    on_monday_8_june = scheduler.run(at("2026-06-08", "00:01"))

    events, state = ledger.history(subject)
    assert on_friday_5_june == []
    assert on_monday_8_june == [str(events[-1].event_id)]
    assert type(events[-1]).__name__ == "ConsentWithdrawn"
    assert events[-1].causation_id == str(events[1].event_id)
    assert state is not None
    assert state.consent_status.value == "withdrawn"


def test_a_paper_withdrawal_entered_after_its_day_takes_effect_on_the_schedulers_next_run(
    ledger: ScenarioLedger,
) -> None:
    subject = new_subject()
    ledger.grant_consent(subject, ctx("grant"), tablet_consent(), None)
    ledger.request_withdrawal(subject, ctx("withdraw", "2026-07-20", "dpo-office"), filed_on=date(2026, 5, 22))

    recorded = Scheduler(ledger.commands()).run(at("2026-07-20", "10:01"))

    events, state = ledger.history(subject)
    requested, withdrawn = events[-2:]
    assert recorded == [str(withdrawn.event_id)]
    assert isinstance(requested, e.ConsentWithdrawalRequested)
    assert (requested.filed_on, requested.effective_on, requested.entered_late_by_days) == (
        "2026-05-22",
        "2026-06-08",
        59,
    )
    assert isinstance(withdrawn, e.ConsentWithdrawn)
    assert withdrawn.effective_on == "2026-06-08"  # its true day, though recorded on 20 July
    assert state is not None
    assert state.consent_status.value == "withdrawn"


def test_two_schedulers_on_one_store_record_the_withdrawal_once(ledger: ScenarioLedger, store_url: str) -> None:
    subject = new_subject()
    ledger.grant_consent(subject, ctx("grant"), tablet_consent(), None)
    ledger.request_withdrawal(subject, ctx("withdraw", "2026-05-22"), filed_on=date(2026, 5, 22))
    other_instance = make_ledger(store_url)

    first = Scheduler(ledger.commands()).run(at("2026-06-09"))
    second = Scheduler(other_instance.commands()).run(at("2026-06-09"))
    again = Scheduler(ledger.commands()).run(at("2026-06-10"))
    other_instance.close()

    names = [type(event).__name__ for event in ledger.history(subject)[0]]
    assert names.count("ConsentWithdrawn") == 1
    assert (len(first), second, again) == (1, [], [])


def test_a_consent_expires_the_day_after_its_last_day(ledger: ScenarioLedger) -> None:
    subject = new_subject()
    ledger.grant_consent(subject, ctx("grant"), tablet_consent(valid_until=date(2026, 12, 31)), None)
    scheduler = Scheduler(ledger.commands())

    on_last_day = scheduler.run(at("2026-12-31", "23:00"))
    next_day = scheduler.run(at("2027-01-01", "00:30"))

    assert on_last_day == []
    assert len(next_day) == 1
    assert type(ledger.history(subject)[0][-1]).__name__ == "ConsentExpired"
