"""The DPO's register: withdrawal applications with the day they take effect, and what each request's answer sent."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from schemas.events import Envelope, parse_envelope
from services.ledger.domain.vocabulary import ErasureGround, RequestKind, WithdrawalRefusalReason
from services.projector.http import create_app
from services.projector.settings import ProjectorSettings
from services.projector.store import Consumed, ProjectionStore
from tests.ledger.scenario_support import (
    CALENDAR,
    DPO,
    FRIDAY_22_MAY,
    MONDAY_8_JUNE,
    PII,
    SCHEDULER,
    SUBJECT_ID,
    ctx,
    given_consent,
)
from tests.ledger.test_http_api import Clock
from tests.projector import published
from tests.schemas.ledger_history import ledger_history

TOPIC = "consent.events.v1"
TOKENS = {
    "dpo-token-0123456789": {"name": "dpo-console", "scopes": ["dpo", "read"]},
    "reader-token-0123456789": {"name": "marketing", "scopes": ["read"]},
}
DPO_AUTH = {"Authorization": "Bearer dpo-token-0123456789"}
READER_AUTH = {"Authorization": "Bearer reader-token-0123456789"}
SUBJECT = str(SUBJECT_ID)
ACCESS_REPORT = "access-report:sha256:" + "3c" * 32 + "@2026-05-26T05:00:00Z"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = ProjectorSettings(
        projector_store=f"sqlite:///{tmp_path / 'projector.sqlite3'}", api_tokens=orjson.dumps(TOKENS).decode()
    )
    with TestClient(create_app(settings, consume=False, clock=Clock())) as client:
        yield client


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProjectionStore]:
    """A fresh projection store of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'projector.sqlite3'}"
    else:
        db = request.getfixturevalue("postgres_database")
        url = f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}"
    opened = ProjectionStore(url)
    yield opened
    opened.close()


def feed(api: TestClient, envelopes: Sequence[Envelope]) -> None:
    """Apply `envelopes` to the projector's store at the next offsets of partition 0, as the consumer would."""
    store: ProjectionStore = api.app.state.store  # type: ignore[attr-defined]
    start = store.next_offsets(TOPIC).get(0, 0)
    store.apply(TOPIC, [Consumed(0, start + n, e) for n, e in enumerate(envelopes)])


def test_a_withdrawal_filed_on_friday_22_may_is_listed_to_take_effect_on_monday_8_june(api: TestClient) -> None:
    subject = given_consent()
    subject.receive_request(
        ctx("rq", actor=DPO), "rq-0050", RequestKind.WITHDRAWAL, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII
    )
    application = subject.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)
    feed(api, published(subject))

    pending = api.get("/v1/withdrawals", headers=DPO_AUTH).json()
    open_requests = api.get("/v1/requests", headers=DPO_AUTH).json()

    assert pending == [
        {
            "subject_id": SUBJECT,
            "event_id": application,
            "filed_on": "2026-05-22",
            "effective_on": "2026-06-08",  # 10 working days; Kurban Ait on 27 May is not one
            "entered_late_by_days": 0,
            "status": "pending",
            "outcome_event_id": None,
            "reason": None,
            "legal_basis": None,
        }
    ]
    assert [(r["request_id"], r["kind"], r["due_on"], r["effective_on"]) for r in open_requests] == [
        ("rq-0050", "withdrawal", "2026-05-28", "2026-06-08")
    ]


def test_a_paper_withdrawal_entered_on_20_july_is_listed_with_its_true_dates_and_how_late_it_was_entered(
    api: TestClient,
) -> None:
    subject = given_consent()
    monday_20_july = date(2026, 7, 20)
    subject.receive_request(
        ctx("rq", on=monday_20_july, actor=DPO), "rq-0060", RequestKind.WITHDRAWAL, FRIDAY_22_MAY,
        calendar=CALENDAR, pii=PII,
    )  # fmt: skip
    application = subject.request_withdrawal(ctx("withdrawal", on=monday_20_july, actor=DPO), FRIDAY_22_MAY, CALENDAR)
    feed(api, published(subject))

    pending = api.get("/v1/withdrawals", headers=DPO_AUTH).json()
    open_requests = api.get("/v1/requests", headers=DPO_AUTH).json()
    of_the_subject = api.get(f"/v1/subjects/{SUBJECT}/requests", headers=DPO_AUTH).json()

    assert [(w["event_id"], w["filed_on"], w["effective_on"], w["entered_late_by_days"]) for w in pending] == [
        (application, "2026-05-22", "2026-06-08", 59)
    ]
    assert [(r["request_id"], r["received_on"], r["due_on"], r["entered_late_by_days"]) for r in open_requests] == [
        ("rq-0060", "2026-05-22", "2026-05-28", 59)
    ]
    assert [r["entered_late_by_days"] for r in of_the_subject] == [59]


def test_an_application_recorded_before_the_ledger_said_how_late_is_listed_without_a_lateness(api: TestClient) -> None:
    subject = given_consent()
    subject.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)
    documents = [envelope.to_document() for envelope in published(subject)]
    older = {**documents[-1], "data": {k: v for k, v in documents[-1]["data"].items() if k != "entered_late_by_days"}}
    feed(api, [parse_envelope(documents[0]), parse_envelope(older)])

    pending = api.get("/v1/withdrawals", headers=DPO_AUTH).json()

    assert [(w["filed_on"], w["entered_late_by_days"]) for w in pending] == [("2026-05-22", None)]


def test_once_the_withdrawal_takes_effect_it_leaves_the_pending_list(api: TestClient) -> None:
    subject = given_consent()
    subject.receive_request(
        ctx("rq", actor=DPO), "rq-0050", RequestKind.WITHDRAWAL, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII
    )
    subject.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)
    feed(api, published(subject))
    withdrawn = subject.complete_withdrawal(ctx("withdrawn", on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)
    feed(api, published(subject))

    pending = api.get("/v1/withdrawals", headers=DPO_AUTH).json()
    took_effect = api.get("/v1/withdrawals", params={"status": "withdrawn"}, headers=DPO_AUTH).json()
    open_requests = api.get("/v1/requests", headers=DPO_AUTH).json()

    assert pending == []
    assert [(w["effective_on"], w["status"], w["outcome_event_id"]) for w in took_effect] == [
        ("2026-06-08", "withdrawn", withdrawn)
    ]
    # The request itself stays open until the DPO answers it; nothing is pending any more.
    assert [(r["request_id"], r["effective_on"]) for r in open_requests] == [("rq-0050", None)]


def test_a_refused_withdrawal_leaves_the_pending_list_naming_its_legal_basis(api: TestClient) -> None:
    subject = given_consent()
    subject.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)
    refusal = subject.refuse_withdrawal(
        ctx("refuse", actor=DPO), WithdrawalRefusalReason.LEGAL_RETENTION_DUTY, "Tax Code, art. 48"
    )
    feed(api, published(subject))

    refused = api.get("/v1/withdrawals", params={"status": "refused"}, headers=DPO_AUTH).json()

    assert api.get("/v1/withdrawals", headers=DPO_AUTH).json() == []
    assert [(w["status"], w["outcome_event_id"], w["reason"], w["legal_basis"]) for w in refused] == [
        ("refused", refusal, "legal_retention_duty", "Tax Code, art. 48")
    ]
    assert api.get("/v1/withdrawals", params={"status": "later"}, headers=DPO_AUTH).status_code == 422


def test_a_withdrawal_still_pending_when_the_consent_expires_lapses(api: TestClient) -> None:
    subject = given_consent(valid_until=date(2026, 5, 31))
    subject.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)
    expiry = subject.expire_consent(ctx("expire", on=date(2026, 6, 1), actor=SCHEDULER), date(2026, 6, 1))
    feed(api, published(subject))

    everything = api.get("/v1/withdrawals", params={"status": "all"}, headers=DPO_AUTH).json()

    assert api.get("/v1/withdrawals", headers=DPO_AUTH).json() == []
    assert [(w["effective_on"], w["status"], w["outcome_event_id"]) for w in everything] == [
        ("2026-06-08", "lapsed", expiry)
    ]


def test_a_withdrawal_still_pending_when_the_data_is_erased_lapses(api: TestClient) -> None:
    subject = given_consent()
    subject.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)
    erasure = subject.erase_data(ctx("erase", actor=DPO), ErasureGround.SUBJECT_OR_AUTHORITY_DEMAND, "subject")
    feed(api, published(subject))

    everything = api.get("/v1/withdrawals", params={"status": "all"}, headers=DPO_AUTH).json()

    assert api.get("/v1/withdrawals", headers=DPO_AUTH).json() == []  # not pending for ever
    assert [(w["status"], w["outcome_event_id"]) for w in everything] == [("lapsed", erasure)]


def test_an_answered_access_request_links_the_report_sent_and_leaves_the_open_list(api: TestClient) -> None:
    subject = given_consent()
    subject.receive_request(
        ctx("rq-1", actor=DPO), "rq-0042", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII
    )
    subject.receive_request(
        ctx("rq-2", actor=DPO), "rq-0043", RequestKind.DESTRUCTION, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII
    )
    subject.receive_request(
        ctx("rq-3", actor=DPO), "rq-0044", RequestKind.RECTIFICATION, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII
    )
    answered_on = date(2026, 5, 26)
    subject.answer_request(ctx("answer", on=answered_on, actor=DPO), "rq-0042", answered_on, ACCESS_REPORT)
    subject.reject_request(ctx("reject", on=answered_on, actor=DPO), "rq-0043", "the power of attorney had expired")
    feed(api, published(subject))

    register = api.get(f"/v1/subjects/{SUBJECT}/requests", headers=DPO_AUTH).json()
    open_requests = api.get("/v1/requests", headers=DPO_AUTH).json()

    assert [(r["request_id"], r["status"], r["answered_on"], r["response_ref"], r["reason"]) for r in register] == [
        ("rq-0042", "answered", "2026-05-26", ACCESS_REPORT, None),
        ("rq-0043", "rejected", None, None, "the power of attorney had expired"),
        ("rq-0044", "open", None, None, None),
    ]
    assert [r["request_id"] for r in open_requests] == ["rq-0044"]
    assert api.get(f"/v1/subjects/{uuid.uuid4()}/requests", headers=DPO_AUTH).json() == []  # nobody we know


def test_the_register_is_for_the_dpo_only(api: TestClient) -> None:
    for path in ("/v1/requests", "/v1/withdrawals", f"/v1/subjects/{SUBJECT}/requests"):
        assert api.get(path).status_code == 401
        assert api.get(path, headers=READER_AUTH).status_code == 403
        assert api.get(path, headers=DPO_AUTH).status_code == 200


def test_a_replay_with_redeliveries_gives_the_same_register_rows(tmp_path: Path) -> None:
    history = [parse_envelope(document) for document in ledger_history()]
    live = ProjectionStore(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    replayed = ProjectionStore(f"sqlite:///{tmp_path / 'replay.sqlite3'}")
    for n, envelope in enumerate(history):  # one event per batch, each delivered twice
        live.apply(TOPIC, [Consumed(0, n, envelope)])
        live.apply(TOPIC, [Consumed(0, n, envelope)])

    replayed.apply(TOPIC, [Consumed(0, n, e) for n, e in enumerate(history)])

    dumped = live.dump()
    assert dumped == replayed.dump()
    assert sorted((row[3], row[5]) for row in dumped["withdrawal_applications"]) == [
        ("2026-06-08", "withdrawn"),
        ("2026-06-15", "refused"),
    ]
    assert [(row[1], row[6], row[8], row[9]) for row in dumped["subject_requests"]] == [
        ("req-1", "answered", "report-0001", None),
        ("req-2", "rejected", None, "the power of attorney had expired"),
    ]
    live.close()
    replayed.close()


def test_the_register_reads_the_same_from_sqlite_and_postgresql(store: ProjectionStore) -> None:
    subject = given_consent()
    subject.receive_request(
        ctx("rq-1", actor=DPO), "rq-0042", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII
    )
    subject.receive_request(
        ctx("rq-2", actor=DPO), "rq-0050", RequestKind.WITHDRAWAL, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII
    )
    application = subject.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)
    subject.answer_request(ctx("answer", actor=DPO), "rq-0042", date(2026, 5, 26), ACCESS_REPORT)
    store.apply(TOPIC, [Consumed(0, n, e) for n, e in enumerate(published(subject))])

    assert store.open_requests() == [
        {
            "subject_id": SUBJECT,
            "request_id": "rq-0050",
            "kind": "withdrawal",
            "received_on": "2026-05-22",
            "due_on": "2026-05-28",
            "entered_late_by_days": 0,
            "effective_on": "2026-06-08",
        }
    ]
    assert [(w["event_id"], w["effective_on"]) for w in store.withdrawal_applications()] == [
        (application, "2026-06-08")
    ]
    assert store.withdrawal_applications("refused") == []
    assert [
        (r["request_id"], r["status"], r["response_ref"], r["effective_on"]) for r in store.subject_requests(SUBJECT)
    ] == [
        ("rq-0042", "answered", ACCESS_REPORT, None),
        ("rq-0050", "open", None, "2026-06-08"),
    ]
