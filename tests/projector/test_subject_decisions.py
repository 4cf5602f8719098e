"""A subject's decisions at a glance: allowed or denied, and why, per purpose, marketing channel and data category."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from fastapi.testclient import TestClient

from schemas.events import Envelope
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.vocabulary import Channel, DataCategory, Purpose
from services.projector.http import create_app
from services.projector.settings import ProjectorSettings
from services.projector.store import Consumed
from tests.conftest import NewTopicFactory
from tests.ledger.scenario_support import SUBJECT_ID, ctx, given_consent
from tests.ledger.test_http_api import Clock
from tests.projector import published

TOKENS = {
    "reader-token-0123456789": {"name": "console", "scopes": ["read"]},
    "writer-token-0123456789": {"name": "tablet", "scopes": ["consent:write"]},
}
READER = {"Authorization": "Bearer reader-token-0123456789"}
WRITER = {"Authorization": "Bearer writer-token-0123456789"}
DECISIONS = f"/v1/subjects/{SUBJECT_ID}/decisions"
BEFORE_THE_OPT_OUT = "2026-05-22T09:59:00+05:00"  # the opt-out is recorded on 22 May at 10:00 Almaty
AFTER_THE_OPT_OUT = "2026-05-22T10:01:00+05:00"


def loyalty_and_marketing_by_sms_then_sms_opt_out() -> tuple[DataSubject, list[Envelope]]:
    """A consent for loyalty and marketing by SMS and e-mail, with name and contacts, then an opt-out of SMS."""
    subject = given_consent(
        purposes={Purpose.LOYALTY, Purpose.MARKETING},
        categories={DataCategory.NAME, DataCategory.CONTACTS},
        marketing_channels={Channel.SMS, Channel.EMAIL},
    )
    subject.opt_out_of_marketing(ctx("opt-out"), [Channel.SMS])
    return subject, published(subject)


@pytest.fixture
def clock() -> Clock:
    """The projector's clock: 1 June 2026, after every event of these scenarios."""
    clock = Clock()
    clock.on("2026-06-01")
    return clock


@pytest.fixture
async def events_topic(new_topic: NewTopicFactory) -> str:
    return await new_topic("consent.events")


@pytest.fixture
def api(tmp_path: Path, clock: Clock, kafka_bootstrap: str, events_topic: str) -> Iterator[TestClient]:
    settings = ProjectorSettings(
        projector_store=f"sqlite:///{tmp_path / 'projector.sqlite3'}",
        api_tokens=orjson.dumps(TOKENS).decode(),
        kafka_bootstrap=kafka_bootstrap,
        events_topic=events_topic,
    )
    with TestClient(create_app(settings, consume=False, clock=clock)) as client:
        yield client


def feed(api: TestClient, envelopes: list[Envelope]) -> None:
    """The read model after `envelopes`, as the consumer would have applied them."""
    api.app.state.store.apply("consent.events.v1", [Consumed(0, n, e) for n, e in enumerate(envelopes)])  # type: ignore[attr-defined]


async def publish(bootstrap: str, topic: str, envelopes: list[Envelope]) -> None:
    """Put the envelopes on the log, keyed by subject, as the relay does."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(
                topic, key=str(envelope.subject).encode(), value=orjson.dumps(envelope.document)
            )
    finally:
        await producer.stop()


def marketing(answer: dict[str, Any], channel: str) -> tuple[bool, str, str | None]:
    """Allow, rule and event of marketing over `channel`."""
    (row,) = [r for r in answer["purposes"] if r["purpose"] == "marketing" and r["channel"] == channel]
    return row["allow"], row["rule"], row["event_id"]


def test_an_sms_opt_out_denies_marketing_by_sms_only_and_an_unconsented_purpose_stays_denied(api: TestClient) -> None:
    _, envelopes = loyalty_and_marketing_by_sms_then_sms_opt_out()
    grant, opt_out = (str(e.id) for e in envelopes)
    feed(api, envelopes)

    answer = api.get(DECISIONS, headers=READER).json()
    purposes = {(r["purpose"], r["channel"]): (r["allow"], r["rule"], r["event_id"]) for r in answer["purposes"]}

    assert (answer["subject_id"], answer["at"], answer["today"]) == (str(SUBJECT_ID), None, "2026-06-01")
    assert marketing(answer, "sms") == (False, "opted_out", opt_out)
    assert marketing(answer, "email") == (True, "consented", grant)
    assert marketing(answer, "phone") == (False, "channel_not_consented", grant)
    assert purposes[("loyalty", None)] == (True, "consented", grant)
    assert purposes[("analysis", None)] == (False, "purpose_not_consented", grant)
    assert [(r["purpose"], r["channel"]) for r in answer["purposes"]] == [
        ("loyalty", None), ("delivery_and_service", None),
        *(("marketing", channel) for channel in ("sms", "email", "phone", "post", "other")),
        ("contract", None), ("analysis", None), ("promotions", None), ("contact_centre", None), ("legal_duties", None),
    ]  # fmt: skip


def test_each_data_category_is_answered_for_the_first_purpose_the_consent_covers(api: TestClient) -> None:
    _, envelopes = loyalty_and_marketing_by_sms_then_sms_opt_out()
    feed(api, envelopes)

    categories = api.get(DECISIONS, headers=READER).json()["categories"]

    assert [(r["category"], r["purpose"], r["allow"], r["rule"]) for r in categories] == [
        ("name", "loyalty", True, "consented"),
        ("identity_document", "loyalty", False, "category_not_consented"),
        ("birth", "loyalty", False, "category_not_consented"),
        ("gender", "loyalty", False, "category_not_consented"),
        ("residence_address", "loyalty", False, "category_not_consented"),
        ("registration_address", "loyalty", False, "category_not_consented"),
        ("contacts", "loyalty", True, "consented"),
    ]
    assert {r["event_id"] for r in categories} == {str(envelopes[0].id)}


def test_each_row_is_what_the_check_api_answers_to_the_same_question(api: TestClient) -> None:
    _, envelopes = loyalty_and_marketing_by_sms_then_sms_opt_out()
    feed(api, envelopes)
    answer = api.get(DECISIONS, headers=READER).json()

    for row in answer["purposes"]:
        asked = {"subject_id": str(SUBJECT_ID), "system": "crm", "purpose": row["purpose"]}
        check = api.get(
            "/v1/checks", params=asked | ({"channel": row["channel"]} if row["channel"] else {}), headers=READER
        )
        assert {k: check.json()[k] for k in ("allow", "rule", "reason", "event_id")} == {
            k: row[k] for k in ("allow", "rule", "reason", "event_id")
        }


async def test_at_a_moment_before_the_opt_out_marketing_by_sms_was_allowed(
    api: TestClient, kafka_bootstrap: str, events_topic: str
) -> None:
    _, envelopes = loyalty_and_marketing_by_sms_then_sms_opt_out()
    grant, opt_out = (str(e.id) for e in envelopes)
    await publish(kafka_bootstrap, events_topic, envelopes)  # the read model holds nothing: the log alone answers

    before = api.get(DECISIONS, params={"at": BEFORE_THE_OPT_OUT}, headers=READER).json()
    after = api.get(DECISIONS, params={"at": AFTER_THE_OPT_OUT}, headers=READER).json()

    assert (before["today"], after["today"]) == ("2026-05-22", "2026-05-22")
    assert before["at"] == BEFORE_THE_OPT_OUT
    assert marketing(before, "sms") == (True, "consented", grant)
    assert marketing(after, "sms") == (False, "opted_out", opt_out)
    assert marketing(before, "email") == marketing(after, "email") == (True, "consented", grant)
    before_consent = api.get(DECISIONS, params={"at": "2026-05-04T09:59:00+05:00"}, headers=READER)
    assert before_consent.status_code == 404  # nothing was recorded about the subject yet


def test_a_subject_nothing_was_recorded_about_is_a_404(api: TestClient) -> None:
    answer = api.get(f"/v1/subjects/{uuid.uuid4()}/decisions", headers=READER)

    assert answer.status_code == 404


def test_the_decisions_need_the_read_scope(api: TestClient) -> None:
    feed(api, loyalty_and_marketing_by_sms_then_sms_opt_out()[1])

    assert api.get(DECISIONS).status_code == 401
    assert api.get(DECISIONS, headers=WRITER).status_code == 403
    assert api.get(DECISIONS, headers=READER).status_code == 200


def test_decisions_at_a_moment_to_come_are_a_422_naming_at(api: TestClient) -> None:
    feed(api, loyalty_and_marketing_by_sms_then_sms_opt_out()[1])

    answer = api.get(DECISIONS, params={"at": "2026-06-01T10:01:00+05:00"}, headers=READER)

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "at"]
