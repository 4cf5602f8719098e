"""The request register: open requests with their due dates, and an alert for the overdue ones."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from services.ledger.domain.vocabulary import RequestKind
from services.projector.consumer import OVERDUE, overdue_requests
from services.projector.store import Consumed, ProjectionStore
from tests.ledger.scenario_support import CALENDAR, DPO, FRIDAY_22_MAY, ctx, given_consent
from tests.projector import published


def test_a_request_received_on_22_may_is_overdue_from_29_may_with_a_warning_and_a_metric(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    subject = given_consent()
    subject.receive_request(
        ctx("rq", actor=DPO), "rq-0042", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii="pii.v1.test-token"
    )
    store = ProjectionStore(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    store.apply("consent.events.v1", [Consumed(0, n, e) for n, e in enumerate(published(subject))])

    on_due_day = overdue_requests(store, date(2026, 5, 28))
    with caplog.at_level(logging.WARNING):
        day_after = overdue_requests(store, date(2026, 5, 29))

    assert on_due_day == []
    assert [(r["request_id"], r["due_on"]) for r in day_after] == [("rq-0042", "2026-05-28")]
    assert OVERDUE._value.get() == 1
    assert "rq-0042" in caplog.text
    assert [r["request_id"] for r in store.open_requests()] == ["rq-0042"]
    store.close()
