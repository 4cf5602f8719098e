"""The Kafka command API on the real broker: commands become events; nothing is dropped silently.

Each sender writes a topic of its own and the ledger takes the sender from the topic (decision 0018):
here the tablet channel's, the loyalty and marketing systems' and the projector's topics of a family of this test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas import kit
from schemas.topics import sender_topic
from services.ledger.adapters.pii.sealing import SealingKey
from services.ledger.bootstrap import LedgerServices, build
from services.ledger.domain.calendar import kazakh_day
from services.ledger.entrypoints.kafka import command_broker
from services.ledger.settings import LedgerSettings
from tests.conftest import NewTopicFactory, inbound_families
from tests.ledger.conftest import ctx, tablet_consent
from tests.ledger.test_http_api import grant_body


@pytest.fixture
async def wired(tmp_path: Path, kafka_bootstrap: str, new_topic: NewTopicFactory) -> AsyncIterator[LedgerServices]:
    commands, acks = await inbound_families(new_topic, partitions=3)
    settings = LedgerSettings(
        kafka_bootstrap=kafka_bootstrap,
        ledger_store=f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        ledger_master_key=base64.b64encode(os.urandom(32)).decode(),
        ledger_identity_secret="identity-secret-for-tests-0123456789",
        ledger_sealing_key=SealingKey.generate().private_base64(),
        commands_topic=commands,
        deadletter_topic=await new_topic("consent.deadletter"),
        acks_topic=acks,
    )
    services = build(settings)
    broker = command_broker(services, group_id=f"ledger-{uuid.uuid4().hex[:6]}")
    await broker.start()
    yield services
    await broker.stop()
    services.close()


def tablet(settings: LedgerSettings) -> str:
    """The tablet channel's own commands topic."""
    return sender_topic(settings.commands_topic, "tablet")


def acks_of(settings: LedgerSettings, system: str) -> str:
    """Subscriber `system`'s own acknowledgements topic."""
    return sender_topic(settings.acks_topic, system)


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


def sealed(wired: LedgerServices, subject: uuid.UUID, body: dict[str, Any], type_: str) -> bytes:
    """The command as a channel sends it: its personal data sealed to the ledger's public key."""
    assert wired.commands.sealing_key is not None
    public_key = wired.commands.sealing_key.public_base64()
    return kit.command_record({"type": type_, "subject_id": str(subject), **body}, public_key)[1]


def letter_of(record: Any) -> dict[str, Any]:
    """A dead letter's value, with its headers beside it."""
    letter: dict[str, Any] = orjson.loads(record.value)
    return letter | {"headers": {name: value.decode() for name, value in record.headers}}


async def test_commands_on_kafka_are_recorded_once_even_when_repeated(wired: LedgerServices) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    grant = sealed(wired, subject, grant_body("kafka-grant-1"), "GrantConsent")
    opt_out = command(subject, {"command_id": "kafka-optout-1", "channels": ["email"]}, "OptOutOfMarketing")

    await send(settings.kafka_bootstrap, tablet(settings), [(str(subject), v) for v in (grant, grant, opt_out)])

    assert await wait_for_events(wired, subject, 2) == ["ConsentGranted", "MarketingOptedOut"]
    await asyncio.sleep(1)  # a repeat that slipped through would show up by now
    assert len(wired.ledger.history(subject)[0]) == 2


async def test_malformed_and_refused_commands_go_to_the_dead_letters_with_reason_and_place_but_not_their_bytes(
    wired: LedgerServices,
) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    not_json = b"{this is not json"
    missing_subject = orjson.dumps({"type": "OptOutOfMarketing", "command_id": "c-1", "channels": ["sms"]})
    refused = command(subject, {"command_id": "c-2", "channels": ["sms"]}, "OptInToMarketing")

    await send(
        settings.kafka_bootstrap,
        tablet(settings),
        [(str(subject), v) for v in (not_json, missing_subject, refused)],
    )
    letters = await dead_letters(settings.kafka_bootstrap, settings.deadletter_topic, expected=3)

    by_digest = {letter["value_sha256"]: letter for letter in map(letter_of, letters)}
    digest = {value: hashlib.sha256(value).hexdigest() for value in (not_json, missing_subject, refused)}
    assert set(by_digest) == set(digest.values())  # each record named by its value's SHA-256
    assert by_digest[digest[not_json]]["rule"] == "malformed"
    assert by_digest[digest[missing_subject]]["reason"] == "subject_id: required on Kafka"
    assert by_digest[digest[refused]]["headers"]["deadletter-rule"] == "consent_none"
    assert {record.key for record in letters} == {str(subject).encode()}
    assert {letter["key"] for letter in by_digest.values()} == {str(subject)}
    assert {letter["topic"] for letter in by_digest.values()} == {tablet(settings)}
    assert sorted(letter["offset"] for letter in by_digest.values()) == [0, 1, 2]  # all keyed alike: one partition
    assert all(letter["headers"]["original-topic"] == tablet(settings) for letter in by_digest.values())
    assert not any(original in record.value for original in digest for record in letters)  # no bytes copied
    assert wired.ledger.history(subject)[0] == []


async def test_dpo_commands_and_records_keyed_to_another_subject_are_not_taken_from_kafka(
    wired: LedgerServices,
) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    erase = command(
        subject, {"command_id": "e-1", "ground": "purpose_achieved", "requested_by": "subject"}, "ErasePersonalData"
    )
    grant = sealed(wired, subject, grant_body("g-1"), "GrantConsent")

    await send(settings.kafka_bootstrap, tablet(settings), [(str(subject), erase), (str(uuid.uuid4()), grant)])
    letters = await dead_letters(settings.kafka_bootstrap, settings.deadletter_topic, expected=2)

    assert {dict(r.headers)["deadletter-rule"] for r in letters} == {b"not_allowed_on_kafka", b"key_mismatch"}
    assert wired.ledger.history(subject)[0] == []


async def test_an_acknowledgement_of_an_event_the_ledger_never_recorded_goes_to_the_dead_letters(
    wired: LedgerServices,
) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    grant = ctx("grant")
    granted = wired.ledger.execute(subject, grant, lambda s: s.grant_consent(grant, tablet_consent(), None)).event_ids[
        0
    ]
    ack = {"system": "loyalty", "action": "suppression applied"}
    unknown = command(
        subject, ack | {"command_id": "ack-1", "enforced_event_id": str(uuid.uuid4())}, "ConfirmEnforcement"
    )
    known = command(subject, ack | {"command_id": "ack-2", "enforced_event_id": granted}, "ConfirmEnforcement")

    await send(settings.kafka_bootstrap, acks_of(settings, "loyalty"), [(str(subject), unknown), (str(subject), known)])
    letters = await dead_letters(settings.kafka_bootstrap, settings.deadletter_topic, expected=1)

    assert [dict(record.headers)["deadletter-rule"] for record in letters] == [b"unknown_enforced_event"]
    assert await wait_for_events(wired, subject, 2) == ["ConsentGranted", "EnforcementConfirmed"]
    _, state = wired.ledger.history(subject)
    assert state is not None
    assert state.enforcements == {("loyalty", granted)}


async def test_a_confirmation_on_loyaltys_topic_that_names_marketing_is_refused_and_records_nothing(
    wired: LedgerServices,
) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    grant = ctx("grant")
    granted = wired.ledger.execute(subject, grant, lambda s: s.grant_consent(grant, tablet_consent(), None)).event_ids[
        0
    ]
    ack = {"enforced_event_id": granted, "action": "suppression applied"}
    as_marketing = command(subject, ack | {"command_id": "ack-m", "system": "marketing"}, "ConfirmEnforcement")
    as_itself = command(subject, ack | {"command_id": "ack-l", "system": "loyalty"}, "ConfirmEnforcement")

    await send(
        settings.kafka_bootstrap,
        acks_of(settings, "loyalty"),
        [(str(subject), as_marketing), (str(subject), as_itself)],
    )
    letters = await dead_letters(settings.kafka_bootstrap, settings.deadletter_topic, expected=1)

    assert [letter_of(record)["rule"] for record in letters] == ["system_not_sender"]
    assert letter_of(letters[0])["topic"] == acks_of(settings, "loyalty")
    assert await wait_for_events(wired, subject, 2) == ["ConsentGranted", "EnforcementConfirmed"]
    events, state = wired.ledger.history(subject)
    assert state is not None
    assert state.enforcements == {("loyalty", granted)}  # marketing's was never recorded, loyalty's was
    assert events[-1].actor == "loyalty"


async def test_a_grant_from_the_tablet_naming_its_actor_is_recorded_as_the_tablets_actor(
    wired: LedgerServices,
) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    grant = sealed(wired, subject, grant_body("actor-grant-1", actor="dpo-officer"), "GrantConsent")
    opt_out = command(subject, {"command_id": "actor-optout-1", "channels": ["sms"]}, "OptOutOfMarketing")

    await send(settings.kafka_bootstrap, tablet(settings), [(str(subject), grant), (str(subject), opt_out)])

    assert await wait_for_events(wired, subject, 2) == ["ConsentGranted", "MarketingOptedOut"]
    events, _ = wired.ledger.history(subject)
    assert [event.actor for event in events] == ["tablet/dpo-officer", "tablet"]  # never the record's own claim


async def test_commands_on_another_senders_kind_of_topic_go_to_the_dead_letters_and_record_nothing(
    wired: LedgerServices,
) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    given = ctx("grant")
    granted = wired.ledger.execute(subject, given, lambda s: s.grant_consent(given, tablet_consent(), None)).event_ids[
        0
    ]
    confirmation = command(
        subject,
        {"command_id": "ack-t", "system": "loyalty", "enforced_event_id": granted, "action": "card blocked"},
        "ConfirmEnforcement",
    )
    grant = sealed(wired, subject, grant_body("misdirected-grant-1"), "GrantConsent")
    cascade = sender_topic(settings.commands_topic, "projector")
    block_body = {"command_id": "block-t", "card_ref": f"card-{uuid.uuid4().hex}", "cause_event_id": granted}
    block = command(subject, block_body, "BlockLoyaltyCard")

    await send(settings.kafka_bootstrap, tablet(settings), [(str(subject), confirmation), (str(subject), block)])
    await send(settings.kafka_bootstrap, acks_of(settings, "loyalty"), [(str(subject), grant)])
    await send(settings.kafka_bootstrap, cascade, [(str(subject), grant)])
    letters = await dead_letters(settings.kafka_bootstrap, settings.deadletter_topic, expected=4)

    assert {(letter["topic"], letter["rule"]) for letter in map(letter_of, letters)} == {
        (tablet(settings), "acknowledgement_from_a_channel"),
        (tablet(settings), "cascade_from_a_channel"),
        (acks_of(settings, "loyalty"), "not_an_acknowledgement"),
        (cascade, "not_a_cascade_command"),
    }
    assert [type(event).__name__ for event in wired.ledger.history(subject)[0]] == ["ConsentGranted"]


async def test_the_cascade_blocks_a_card_on_its_own_topic_recorded_as_the_projectors(wired: LedgerServices) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    given = ctx("grant")
    granted = wired.ledger.execute(subject, given, lambda s: s.grant_consent(given, tablet_consent(), None)).event_ids[
        0
    ]
    card = ctx("card")
    card_ref = f"card-{uuid.uuid4().hex}"
    wired.ledger.execute(subject, card, lambda s: s.link_card(card, card_ref))
    block = {"command_id": "cascade-1", "card_ref": card_ref, "cause_event_id": granted}

    await send(
        settings.kafka_bootstrap,
        sender_topic(settings.commands_topic, "projector"),
        [(str(subject), command(subject, block, "BlockLoyaltyCard"))],
    )

    assert await wait_for_events(wired, subject, 3) == ["ConsentGranted", "LoyaltyCardLinked", "LoyaltyCardBlocked"]
    assert wired.ledger.history(subject)[0][-1].actor == "projector"


# Synthetic people of these tests: no other test spells them.
NAME, PHONE, CARD = "Aruzhan Cleartestova", "+7 705 555 31 64", "6001 5550 8181 2026"
REPRESENTATIVE = "Bolat Cleartestuly"


def no_part_of(personal: list[str], record: Any) -> list[str]:
    """The pieces of `personal` (words, any 8 digits in a row of a number) the record's key, value or headers hold.

    Shorter runs of digits are not looked for: four digits of a card turn up by chance in a record's
    timestamps and ids about once in a thousand runs.
    """
    held = record.value + (record.key or b"") + b"".join(value for _, value in record.headers)
    pieces = {word for text in personal for word in text.split() if len(word) >= 4 and not word.isdigit()}
    for text in (text for text in personal if any(ch.isdigit() for ch in text)):
        digits = "".join(ch for ch in text if ch.isdigit())  # the number as digits, and as written
        pieces |= {run[start : start + 8] for run in (digits, text) for start in range(max(len(run) - 7, 0))}
    return sorted(piece for piece in pieces if piece.encode() in held)


async def test_personal_data_in_clear_on_kafka_is_refused_and_its_dead_letter_holds_none_of_it(
    wired: LedgerServices,
) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    grant = grant_body("clear-grant-1", pii={"name": NAME, "phone": PHONE})
    grant["representative"] = {"power_of_attorney_ref": "poa-1", "pii": {"name": REPRESENTATIVE}}
    card = {"command_id": "clear-card-1", "card_number": CARD}
    rectify = {"command_id": "clear-rectify-1", "categories": ["contacts"], "pii": {"phone": PHONE}}

    await send(
        settings.kafka_bootstrap,
        tablet(settings),
        [(str(subject), command(subject, grant, "GrantConsent")),
         (str(subject), command(subject, card, "LinkLoyaltyCard")),
         (str(subject), command(subject, rectify, "RectifyPersonalData"))],
    )  # fmt: skip
    letters = await dead_letters(settings.kafka_bootstrap, settings.deadletter_topic, expected=3)

    assert sorted(letter_of(record)["reason"].partition(":")[0] for record in letters) == [
        "card_number", "pii", "pii, representative.pii",
    ]  # fmt: skip
    assert {letter_of(record)["rule"] for record in letters} == {"personal_data_in_clear"}
    assert [no_part_of([NAME, PHONE, CARD, REPRESENTATIVE], record) for record in letters] == [[], [], []]
    assert wired.ledger.history(subject)[0] == []


async def test_sealed_commands_that_cannot_be_applied_are_dead_lettered_without_their_bytes(
    wired: LedgerServices,
) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    another_key = SealingKey.generate().public_base64()
    body = {"type": "GrantConsent", "subject_id": str(subject), **grant_body("sealed-1", pii={"name": NAME})}
    to_another_key = kit.command_record(body, another_key)[1]
    damaged = orjson.loads(sealed(wired, subject, grant_body("sealed-2", pii={"name": NAME}), "GrantConsent"))
    damaged["sealed_pii"] = damaged["sealed_pii"][:-20] + "A" * 20
    card = {"command_id": "sealed-3", "card_number": CARD}
    unknown_type = orjson.loads(sealed(wired, subject, card, "LinkLoyaltyCard")) | {"type": "LinkLoyaltyCards"}
    values = [to_another_key, orjson.dumps(damaged), orjson.dumps(unknown_type)]

    await send(settings.kafka_bootstrap, tablet(settings), [(str(subject), value) for value in values])
    letters = await dead_letters(settings.kafka_bootstrap, settings.deadletter_topic, expected=3)

    by_digest = {letter["value_sha256"]: letter for letter in map(letter_of, letters)}
    rules = [by_digest[hashlib.sha256(value).hexdigest()]["rule"] for value in values]
    assert rules == ["sealed_data_unreadable", "sealed_data_unreadable", "malformed"]
    assert by_digest[hashlib.sha256(values[0]).hexdigest()]["reason"].startswith("sealed_pii: sealed_data_unreadable")
    sealed_values = [orjson.loads(value).get("sealed_pii") or orjson.loads(value)["sealed_card_number"]
                     for value in values]  # fmt: skip
    assert not any(part.encode() in record.value for part in sealed_values for record in letters)
    assert [no_part_of([NAME, CARD], record) for record in letters] == [[], [], []]
    assert wired.ledger.history(subject)[0] == []


async def test_on_kafka_a_withdrawal_filed_more_than_30_days_ago_is_still_refused(wired: LedgerServices) -> None:
    settings, subject = wired.settings, uuid.uuid4()
    grant = ctx("grant", "2020-01-06")
    wired.ledger.execute(subject, grant, lambda s: s.grant_consent(grant, tablet_consent(), None))
    long_ago = (kazakh_day(wired.clock()) - timedelta(days=45)).isoformat()
    withdrawal = command(subject, {"command_id": "w-1", "filed_on": long_ago}, "RequestWithdrawal")

    await send(settings.kafka_bootstrap, tablet(settings), [(str(subject), withdrawal)])
    letters = await dead_letters(settings.kafka_bootstrap, settings.deadletter_topic, expected=1)

    headers = [dict(record.headers) for record in letters]
    assert [h["deadletter-rule"] for h in headers] == [b"invalid"]
    assert headers[0]["deadletter-reason"].startswith(b"filed_on: must lie between")
    assert [type(event).__name__ for event in wired.ledger.history(subject)[0]] == ["ConsentGranted"]
