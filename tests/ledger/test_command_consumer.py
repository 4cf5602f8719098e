"""The Kafka command API on the real broker: commands become events; nothing is dropped silently."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.ledger.bootstrap import LedgerServices, build
from services.ledger.consumer import command_broker
from services.ledger.settings import LedgerSettings
from tests.conftest import NewTopicFactory
from tests.ledger.conftest import ctx, tablet_consent
from tests.ledger.test_http_api import grant_body


@pytest.fixture
async def wired(tmp_path: Path, kafka_bootstrap: str, new_topic: NewTopicFactory) -> AsyncIterator[LedgerServices]:
    settings = LedgerSettings(
        kafka_bootstrap=kafka_bootstrap,
        ledger_store=f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        ledger_master_key=base64.b64encode(os.urandom(32)).decode(),
        ledger_identity_secret="identity-secret-for-tests-0123456789",
        commands_topic=await new_topic("consent.commands", partitions=3),
        deadletter_topic=await new_topic("consent.deadletter"),
        acks_topic=await new_topic("consent.acks"),
    )
    services = build(settings)
    broker = command_broker(services, group_id=f"ledger-{uuid.uuid4().hex[:6]}")
    await broker.start()
    yield services
    await broker.stop()
    services.close()


async def send(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, key=key.encode(), value=value)
    finally:
        await producer.stop()


async def dead_letters(bootstrap: str, topic: str, expected: int) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list[Any] = []
    try:
        while len(records) < expected:
            batch = await consumer.getmany(timeout_ms=20_000)
            if not batch:
                break
            records += [record for part in batch.values() for record in part]
    finally:
        await consumer.stop()
    return records


async def wait_for_events(services: LedgerServices, subject: uuid.UUID, count: int) -> list[str]:
    for _ in range(150):
        events, _ = services.ledger.history(subject)
        if len(events) >= count:
            return [type(event).__name__ for event in events]
        await asyncio.sleep(0.1)
    return [type(event).__name__ for event in services.ledger.history(subject)[0]]


def command(subject: uuid.UUID, body: dict[str, Any], type_: str) -> bytes:
    return orjson.dumps({"type": type_, "subject_id": str(subject), **body})


async def test_commands_on_kafka_are_recorded_once_even_when_repeated(wired: LedgerServices) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    grant = command(subject, grant_body("kafka-grant-1"), "GrantConsent")
    opt_out = command(subject, {"command_id": "kafka-optout-1", "channels": ["email"]}, "OptOutOfMarketing")

    await send(settings.kafka_bootstrap, settings.commands_topic, [(str(subject), v) for v in (grant, grant, opt_out)])

    assert await wait_for_events(wired, subject, 2) == ["ConsentGranted", "MarketingOptedOut"]
    await asyncio.sleep(1)  # a repeat that slipped through would show up by now
    assert len(wired.ledger.history(subject)[0]) == 2


async def test_malformed_and_refused_commands_go_to_the_dead_letter_topic_with_reason_and_original_bytes(
    wired: LedgerServices,
) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    not_json = b"{this is not json"
    missing_subject = orjson.dumps({"type": "OptOutOfMarketing", "command_id": "c-1", "channels": ["sms"]})
    refused = command(subject, {"command_id": "c-2", "channels": ["sms"]}, "OptInToMarketing")

    await send(
        settings.kafka_bootstrap,
        settings.commands_topic,
        [(str(subject), v) for v in (not_json, missing_subject, refused)],
    )
    letters = await dead_letters(settings.kafka_bootstrap, settings.deadletter_topic, expected=3)

    by_value = {record.value: dict(record.headers) for record in letters}
    assert set(by_value) == {not_json, missing_subject, refused}
    assert by_value[not_json]["deadletter-rule"] == b"malformed"
    assert by_value[missing_subject]["deadletter-reason"] == b"subject_id: required on Kafka"
    assert by_value[refused]["deadletter-rule"] == b"consent_none"
    assert {record.key for record in letters} == {str(subject).encode()}
    assert all(headers["original-topic"] == settings.commands_topic.encode() for headers in by_value.values())
    assert wired.ledger.history(subject)[0] == []


async def test_dpo_commands_and_records_keyed_to_another_subject_are_not_taken_from_kafka(
    wired: LedgerServices,
) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    erase = command(
        subject, {"command_id": "e-1", "ground": "purpose_achieved", "requested_by": "subject"}, "ErasePersonalData"
    )
    grant = command(subject, grant_body("g-1"), "GrantConsent")

    await send(settings.kafka_bootstrap, settings.commands_topic, [(str(subject), erase), (str(uuid.uuid4()), grant)])
    letters = await dead_letters(settings.kafka_bootstrap, settings.deadletter_topic, expected=2)

    assert {dict(r.headers)["deadletter-rule"] for r in letters} == {b"not_allowed_on_kafka", b"key_mismatch"}
    assert wired.ledger.history(subject)[0] == []


async def test_an_acknowledgement_of_an_event_the_ledger_never_recorded_goes_to_the_dead_letters(
    wired: LedgerServices,
) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    granted = wired.ledger.grant_consent(subject, ctx("grant"), tablet_consent(), None).event_ids[0]
    ack = {"system": "loyalty", "action": "suppression applied"}
    unknown = command(
        subject, ack | {"command_id": "ack-1", "enforced_event_id": str(uuid.uuid4())}, "ConfirmEnforcement"
    )
    known = command(subject, ack | {"command_id": "ack-2", "enforced_event_id": granted}, "ConfirmEnforcement")

    await send(settings.kafka_bootstrap, settings.acks_topic, [(str(subject), unknown), (str(subject), known)])
    letters = await dead_letters(settings.kafka_bootstrap, settings.deadletter_topic, expected=1)

    assert [dict(record.headers)["deadletter-rule"] for record in letters] == [b"unknown_enforced_event"]
    assert await wait_for_events(wired, subject, 2) == ["ConsentGranted", "EnforcementConfirmed"]
    _, state = wired.ledger.history(subject)
    assert state is not None
    assert state.enforcements == {("loyalty", granted)}
