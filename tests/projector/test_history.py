"""A subject's state and checks at any past moment, rebuilt from consent.events.v1 on a real broker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from schemas.events import Envelope
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.vocabulary import Channel
from services.platform.kafka import KafkaAccess
from services.projector.decisions import Question
from services.projector.history import decision_as_of, partition_for, state_as_of, subject_events
from tests.conftest import NewTopicFactory
from tests.ledger.scenario_support import (
    ALMATY,
    CONSENT_GIVEN_ON,
    CONSULTANT,
    FRIDAY_22_MAY,
    PII,
    SUBJECT_ID,
    consent_terms,
    ctx,
    given_consent,
)
from tests.projector import fold, published

PARTITIONS = 3
SMS_CAMPAIGN = Question("marketing", "marketing", channel="sms", categories=("contacts",))


def almaty(day: date, hour: int, minute: int = 0) -> datetime:
    """`day` at hour:minute Almaty time."""
    return datetime.combine(day, time(hour, minute), ALMATY)


GRANTED_AT = almaty(CONSENT_GIVEN_ON, 10)  # ctx(..., on=CONSENT_GIVEN_ON) records at 10:00 Almaty
OPTED_OUT_AT = almaty(FRIDAY_22_MAY, 10)


@dataclass
class Published:
    """A topic holding the subject's history (grant, then SMS opt-out) and other subjects' events."""

    topic: str
    mine: list[Envelope]
    neighbour: UUID  # on the subject's partition: only the key tells their records apart
    neighbours: list[Envelope]
    stranger: UUID  # on another partition
    strangers: list[Envelope]


def other_subject(on_partition: bool) -> UUID:
    """A synthetic subject id whose key maps (or not) to the partition of SUBJECT_ID."""
    mine = partition_for(str(SUBJECT_ID).encode(), PARTITIONS)
    while True:
        candidate = uuid.uuid4()
        if (partition_for(str(candidate).encode(), PARTITIONS) == mine) is on_partition:
            return candidate


def consenting(subject_id: UUID) -> list[Envelope]:
    """Another subject's grant, recorded on 22 May at 10:00 Almaty."""
    subject = DataSubject.blank(subject_id, GRANTED_AT)
    subject.grant_consent(ctx(f"grant-{subject_id}", actor=CONSULTANT), consent_terms(), PII)
    return published(subject)


async def publish(bootstrap: str, topic: str, envelopes: list[Envelope]) -> None:
    """Publish as the relay does: in a transaction, keyed by subject id, with the default partitioner."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"test-{uuid.uuid4().hex[:8]}")
    await producer.start()
    try:
        async with producer.transaction():
            for envelope in envelopes:
                key = str(envelope.subject).encode()
                sent = await producer.send_and_wait(topic, key=key, value=orjson.dumps(envelope.document))
                assert sent.partition == partition_for(key, PARTITIONS)  # where history.py will look for it
        # A transaction the relay never committed: a read_committed reader must not see it.
        subject = given_consent()
        subject.opt_out_of_marketing(ctx("opt-out"), [Channel.SMS])
        subject.opt_in_to_marketing(ctx("never-happened"), [Channel.SMS])
        never = published(subject)[-1]
        await producer.begin_transaction()
        await producer.send_and_wait(topic, key=str(SUBJECT_ID).encode(), value=orjson.dumps(never.document))
        await producer.abort_transaction()
    finally:
        await producer.stop()


@pytest.fixture
async def history(kafka_bootstrap: str, new_topic: NewTopicFactory) -> Published:
    topic = await new_topic("consent.events", partitions=PARTITIONS)
    subject = given_consent()  # ConsentGranted, recorded 4 May 10:00 Almaty
    subject.opt_out_of_marketing(ctx("opt-out"), [Channel.SMS])  # MarketingOptedOut, 22 May 10:00 Almaty
    mine = published(subject)
    neighbour, stranger = other_subject(on_partition=True), other_subject(on_partition=False)
    neighbours, strangers = consenting(neighbour), consenting(stranger)
    await publish(kafka_bootstrap, topic, [mine[0], *neighbours, *strangers, mine[1]])
    return Published(topic, mine, neighbour, neighbours, stranger, strangers)


def test_the_partition_is_the_one_kafkas_default_partitioner_picks() -> None:
    for _ in range(500):
        key = str(uuid.uuid4()).encode()
        for partitions in (1, 3, 6, 12):
            assert partition_for(key, partitions) == DefaultPartitioner()(key, list(range(partitions)), [])


async def test_only_the_subjects_committed_events_are_read_in_order(kafka_bootstrap: str, history: Published) -> None:
    events = await subject_events(KafkaAccess(kafka_bootstrap), history.topic, str(SUBJECT_ID))

    assert [e.id for e in events] == [e.id for e in history.mine]  # not the aborted opt-in, nobody else's
    assert [e.subjectversion for e in events] == [1, 2]
    assert {e.subject for e in events} == {SUBJECT_ID}
    neighbours = await subject_events(KafkaAccess(kafka_bootstrap), history.topic, str(history.neighbour))
    strangers = await subject_events(KafkaAccess(kafka_bootstrap), history.topic, str(history.stranger))
    assert [e.id for e in neighbours] == [e.id for e in history.neighbours]
    assert [e.id for e in strangers] == [e.id for e in history.strangers]


async def test_the_state_before_and_after_an_opt_out_each_at_its_moment(
    kafka_bootstrap: str, history: Published
) -> None:
    events = await subject_events(KafkaAccess(kafka_bootstrap), history.topic, str(SUBJECT_ID))
    grant, opt_out = (str(e.id) for e in history.mine)

    before = state_as_of(events, str(SUBJECT_ID), almaty(FRIDAY_22_MAY, 9, 59))
    after = state_as_of(events, str(SUBJECT_ID), OPTED_OUT_AT)  # recorded at that very moment: seen

    assert before == fold(history.mine[:1])
    assert before is not None
    assert (before["version"], before["status"], before["opted_out"]) == (1, "active", {})
    assert after == fold(history.mine)
    assert after is not None
    assert (after["version"], after["opted_out"], after["last_event_id"]) == (2, {"sms": opt_out}, opt_out)
    assert before["consent"] == after["consent"]
    assert after["consent"]["event_id"] == grant
    assert state_as_of(events, str(SUBJECT_ID), datetime(2030, 1, 1, tzinfo=ALMATY)) == after


async def test_nothing_is_known_before_the_first_event_was_recorded(kafka_bootstrap: str, history: Published) -> None:
    events = await subject_events(KafkaAccess(kafka_bootstrap), history.topic, str(SUBJECT_ID))

    assert state_as_of(events, str(SUBJECT_ID), almaty(CONSENT_GIVEN_ON, 9, 59)) is None
    assert state_as_of(events, str(SUBJECT_ID), GRANTED_AT) == fold(history.mine[:1])


async def test_marketing_by_sms_was_allowed_before_the_opt_out_and_denied_after(
    kafka_bootstrap: str, history: Published
) -> None:
    events = await subject_events(KafkaAccess(kafka_bootstrap), history.topic, str(SUBJECT_ID))
    grant, opt_out = (str(e.id) for e in history.mine)

    before = decision_as_of(events, str(SUBJECT_ID), SMS_CAMPAIGN, almaty(FRIDAY_22_MAY, 9, 59))
    after = decision_as_of(events, str(SUBJECT_ID), SMS_CAMPAIGN, almaty(FRIDAY_22_MAY, 10, 1))

    assert (before.allow, before.rule, before.event_id) == (True, "consented", grant)
    assert (after.allow, after.rule, after.event_id) == (False, "opted_out", opt_out)


async def test_a_subject_with_no_events_has_no_state_and_no_consent(kafka_bootstrap: str, history: Published) -> None:
    unknown = str(uuid.uuid4())
    events = await subject_events(KafkaAccess(kafka_bootstrap), history.topic, unknown)

    assert events == []
    assert state_as_of(events, unknown, OPTED_OUT_AT) is None
    decision = decision_as_of(events, unknown, SMS_CAMPAIGN, OPTED_OUT_AT)
    assert (decision.allow, decision.rule, decision.event_id) == (False, "no_consent", None)


async def test_an_empty_topic_holds_no_history(kafka_bootstrap: str, new_topic: NewTopicFactory) -> None:
    topic = await new_topic("consent.events", partitions=PARTITIONS)

    assert await subject_events(KafkaAccess(kafka_bootstrap), topic, str(SUBJECT_ID)) == []


def test_the_moment_must_carry_its_time_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        state_as_of([], str(SUBJECT_ID), datetime(2026, 5, 22, 10))
