"""The DPO's list of consents about to expire: in force, their term ending within so many days, soonest first."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, time
from uuid import UUID

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from schemas.events import Envelope
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.vocabulary import ErasureGround
from services.platform.sql import engine_for
from services.projector import schema
from services.projector.http import create_app
from services.projector.settings import ProjectorSettings
from services.projector.store import Consumed, ProjectionStore
from tests.ledger.scenario_support import (
    ALMATY,
    CALENDAR,
    CONSENT_GIVEN_ON,
    CONSULTANT,
    DPO,
    FRIDAY_22_MAY,
    PII,
    SCHEDULER,
    consent_terms,
    ctx,
)
from tests.ledger.test_http_api import Clock
from tests.projector import published
from tests.storage.support import revision

TOPIC = "consent.events.v1"
TOKENS = {
    "dpo-token-0123456789": {"name": "dpo-console", "scopes": ["dpo"]},
    "reader-token-0123456789": {"name": "marketing", "scopes": ["read"]},
}
DPO_AUTH = {"Authorization": "Bearer dpo-token-0123456789"}
READER_AUTH = {"Authorization": "Bearer reader-token-0123456789"}
TODAY = FRIDAY_22_MAY


def consenting_until(valid_until: date | None) -> DataSubject:
    """A new subject who consented on 4 May 2026 until `valid_until` (None: for the programme's duration)."""
    subject = DataSubject.blank(uuid.uuid4(), datetime.combine(CONSENT_GIVEN_ON, time(9), ALMATY))
    subject.grant_consent(
        ctx("consent", on=CONSENT_GIVEN_ON, actor=CONSULTANT), consent_terms(valid_until=valid_until), PII
    )
    return subject


@pytest.fixture
def api(store_url: str) -> Iterator[TestClient]:
    """The projector on each kind of store, its clock on Friday 22 May 2026."""
    settings = ProjectorSettings(projector_store=store_url, api_tokens=orjson.dumps(TOKENS).decode())
    clock = Clock()
    clock.on(TODAY.isoformat())
    with TestClient(create_app(settings, consume=False, clock=clock)) as client:
        yield client


def feed(store: ProjectionStore, *subjects: DataSubject) -> list[Envelope]:
    """Apply the subjects' new events at the next offsets of partition 0, as the consumer would; return them."""
    envelopes = [envelope for subject in subjects for envelope in published(subject)]
    start = store.next_offsets(TOPIC).get(0, 0)
    store.apply(TOPIC, [Consumed(0, start + n, e) for n, e in enumerate(envelopes)])
    return envelopes


def store_of(api: TestClient) -> ProjectionStore:
    store: ProjectionStore = api.app.state.store  # type: ignore[attr-defined]
    return store


def expiring(api: TestClient, within_days: int) -> list[tuple[UUID, str]]:
    """The listed subjects and the last day of their consent."""
    answer = api.get("/v1/consents/expiring", params={"within_days": within_days}, headers=DPO_AUTH)
    assert answer.status_code == 200
    return [(UUID(row["subject_id"]), row["valid_until"]) for row in answer.json()]


def test_a_consent_ending_in_10_days_is_listed_within_30_days_and_not_within_5(api: TestClient) -> None:
    subject = consenting_until(date(2026, 6, 1))
    grant = feed(store_of(api), subject)[0]

    listed = api.get("/v1/consents/expiring", params={"within_days": 30}, headers=DPO_AUTH).json()

    assert listed == [
        {
            "subject_id": str(subject.id),
            "consent_id": str(grant.id),
            "valid_until": "2026-06-01",
            "event_id": str(grant.id),
        }
    ]
    assert expiring(api, 5) == []
    assert expiring(api, 10) == [(subject.id, "2026-06-01")]  # its last day is the tenth: within 10 days


def test_the_default_window_is_30_days_and_the_soonest_to_end_comes_first(api: TestClient) -> None:
    in_20_days = consenting_until(date(2026, 6, 11))
    today = consenting_until(TODAY)
    in_31_days = consenting_until(date(2026, 6, 22))
    in_2_days = consenting_until(date(2026, 5, 24))
    without_term = consenting_until(None)
    feed(store_of(api), in_20_days, today, in_31_days, in_2_days, without_term)

    answer = api.get("/v1/consents/expiring", headers=DPO_AUTH)

    assert [(UUID(row["subject_id"]), row["valid_until"]) for row in answer.json()] == [
        (today.id, "2026-05-22"),  # its last day is today: still in force, and listed
        (in_2_days.id, "2026-05-24"),
        (in_20_days.id, "2026-06-11"),
    ]  # not the one ending in 31 days, nor the one without a term


def test_an_expired_withdrawn_or_erased_consent_is_not_listed(api: TestClient) -> None:
    recorded_expired = consenting_until(date(2026, 5, 20))
    recorded_expired.expire_consent(ctx("expire", on=date(2026, 5, 21), actor=SCHEDULER), date(2026, 5, 21))
    ended_yesterday = consenting_until(date(2026, 5, 21))  # the scheduler has not recorded its expiry yet
    withdrawn = consenting_until(date(2026, 6, 30))
    withdrawn.request_withdrawal(ctx("withdrawal", on=date(2026, 5, 5)), date(2026, 5, 5), CALENDAR)
    withdrawn.complete_withdrawal(ctx("withdrawn", on=date(2026, 5, 21), actor=SCHEDULER), date(2026, 5, 21))
    erased = consenting_until(date(2026, 6, 1))
    erased.erase_data(ctx("erase", actor=DPO), ErasureGround.SUBJECT_OR_AUTHORITY_DEMAND, "subject")
    pending = consenting_until(date(2026, 6, 1))
    pending.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)  # takes effect on 8 June
    feed(store_of(api), recorded_expired, ended_yesterday, withdrawn, erased, pending)

    assert expiring(api, 366) == [(pending.id, "2026-06-01")]  # in force until its withdrawal takes effect


def test_a_renewed_consent_moves_its_term(api: TestClient) -> None:
    subject = consenting_until(date(2026, 6, 1))
    feed(store_of(api), subject)
    subject.grant_consent(ctx("renewal", actor=CONSULTANT), consent_terms(valid_until=date(2027, 5, 1)), PII)
    renewal = feed(store_of(api), subject)[0]

    assert expiring(api, 30) == []
    listed = api.get("/v1/consents/expiring", params={"within_days": 366}, headers=DPO_AUTH).json()
    assert [(row["valid_until"], row["event_id"]) for row in listed] == [("2027-05-01", str(renewal.id))]


def test_the_list_needs_the_dpo_scope_and_a_window_of_1_to_366_days(api: TestClient) -> None:
    assert api.get("/v1/consents/expiring").status_code == 401
    assert api.get("/v1/consents/expiring", headers=READER_AUTH).status_code == 403
    for wrong in (0, 367, "soon"):
        assert api.get("/v1/consents/expiring", params={"within_days": wrong}, headers=DPO_AUTH).status_code == 422
    assert api.get("/v1/consents/expiring", params={"within_days": 366}, headers=DPO_AUTH).json() == []


def test_a_store_written_before_the_term_columns_upgrades_and_lists_its_consents(store_url: str) -> None:
    live = ProjectionStore(store_url)
    soon, later = consenting_until(date(2026, 6, 1)), consenting_until(None)
    feed(live, soon, later)
    written = live.dump()
    live.close()
    engine = engine_for(store_url)  # back to revision 0001: no term columns, no index
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX subject_state_valid_until"))
        connection.execute(text("ALTER TABLE subject_state DROP COLUMN valid_until"))
        connection.execute(text("ALTER TABLE subject_state DROP COLUMN consent_id"))
        connection.execute(text("UPDATE alembic_version_projector SET version_num = '0001'"))
    engine.dispose()

    upgraded = ProjectionStore(store_url)

    assert revision(store_url, schema.MIGRATIONS) == "0002"
    assert upgraded.dump() == written  # filled as the live store writes them: a replay still compares equal
    assert [row["subject_id"] for row in upgraded.expiring_consents(TODAY, date(2026, 6, 21))] == [str(soon.id)]
    upgraded.close()
