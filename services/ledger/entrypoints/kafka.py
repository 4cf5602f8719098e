"""The Kafka command API: consent.commands.v1 and consent.acks.v1 in, events stored, each record acked once handled.

A record that is not a valid command, or that a rule refuses, goes to consent.deadletter.v1 with the
reason, its key, partition and offset and the SHA-256 of its value, never the value itself (it may
hold personal data) — nothing is dropped silently. Personal data travels on Kafka only sealed to the
ledger's public key: a command carrying it in clear is refused (personal_data_in_clear). A record that
fails for a passing reason (the database down, concurrent writes) is not acknowledged and comes back.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import cast

from aiokafka import ConsumerRecord
from anyio import to_thread
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from schemas import commands as c
from schemas.commands import COMMANDS
from schemas.sealed import in_clear
from services.ledger.adapters.pii.keys import SubjectErasedError
from services.ledger.adapters.pii.sealing import SealedDataError, problems
from services.ledger.adapters.store import STORE_AWAY
from services.ledger.application.registry import REGISTRY
from services.ledger.bootstrap import LedgerServices
from services.ledger.domain.errors import InvalidCommandError, RuleViolationError
from services.platform.deadletter import dead_letter
from services.platform.tasks import start_when_reachable
from services.platform.topics import TopicSpec

log = logging.getLogger(__name__)

GROUP_ID = "consent-ledger"
KAFKA_ACTOR = "kafka"
RETRY_DELAY_SECONDS = 1.0
MAX_ATTEMPTS = 5  # then a record that keeps failing goes to the dead letters instead of blocking its partition


@dataclass(frozen=True)
class DeadLetter:
    """Why a record cannot be applied: a stable rule and plain words (never the record's personal data)."""

    rule: str
    reason: str


def screen(key: bytes | None, body: bytes, *, acknowledgement: bool = False) -> c.AnyCommand | DeadLetter:
    """The command a record carries, or why it cannot be taken from Kafka (acks: acknowledgements only)."""
    try:
        command = COMMANDS.validate_json(body)
    except ValidationError as error:
        return DeadLetter("malformed", problems(error))
    return _refusal(key, command, acknowledgement) or command


def _refusal(key: bytes | None, command: c.AnyCommand, acknowledgement: bool) -> DeadLetter | None:
    """Why a valid command cannot be taken from this record, or None."""
    if command.subject_id is None:
        return DeadLetter("malformed", "subject_id: required on Kafka")
    if key != str(command.subject_id).encode():
        return DeadLetter("key_mismatch", "the record key must be the command's subject_id")
    spec = REGISTRY.of(command)
    if acknowledgement and not spec.acknowledgement:
        return DeadLetter("not_an_acknowledgement", f"{command.type} does not belong on the acknowledgements topic")
    if not spec.kafka:
        return DeadLetter("not_allowed_on_kafka", f"{command.type} is taken over HTTP with the dpo scope")
    if clear := in_clear(command):
        return DeadLetter(
            "personal_data_in_clear",
            f"{', '.join(clear)}: personal data goes on Kafka only sealed to the ledger's public key, in "
            "sealed_<field> (schemas.kit.sealed_command; the key: GET /v1/commands/public-key)",
        )
    return None


def apply(wired: LedgerServices, command: c.AnyCommand) -> DeadLetter | None:
    """Apply a screened command; a refusal becomes a dead letter, a passing failure raises (to be retried)."""
    assert command.subject_id is not None  # noqa: S101 - screen() let only commands with a subject through
    try:
        outcome = wired.commands.handle(
            command.subject_id, command, actor=command.actor or KAFKA_ACTOR, now=wired.clock()
        )
    except RuleViolationError as refusal:
        return DeadLetter(refusal.rule, refusal.message)
    except SubjectErasedError as erased:
        return DeadLetter("subject_erased", str(erased))
    except SealedDataError as sealed:
        return DeadLetter(sealed.rule, str(sealed))
    except (InvalidCommandError, ValueError, OverflowError) as invalid:
        return DeadLetter("invalid", str(invalid))
    log.info("applied %s %s: %d event(s)%s", command.type, command.command_id, len(outcome.event_ids),
             " (repeat)" if outcome.replayed else "")  # fmt: skip
    return None


def command_broker(wired: LedgerServices, *, group_id: str = GROUP_ID) -> KafkaBroker:
    """A FastStream broker whose subscriber applies consent.commands.v1 to the ledger."""
    settings = wired.settings
    broker = KafkaBroker(settings.kafka_bootstrap, client_id="consent-ledger", enable_idempotence=True)
    attempts: dict[tuple[int, int], int] = {}  # (partition, offset) -> failed attempts

    @broker.subscriber(
        settings.commands_topic,
        settings.acks_topic,
        group_id=group_id,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
    )
    async def on_command(message: KafkaMessage) -> None:
        record = cast("ConsumerRecord[bytes, bytes]", message.raw_message)  # one record per call, never a batch
        place = (record.partition, record.offset)
        screened = screen(record.key, message.body, acknowledgement=record.topic == settings.acks_topic)
        try:
            letter = screened if isinstance(screened, DeadLetter) else await to_thread.run_sync(apply, wired, screened)
        except STORE_AWAY as error:  # not the record's fault: it waits, however long the database is away
            log.warning("record %s@%d/%d waits for the store: %s", record.topic, *place, type(error).__name__)
            await asyncio.sleep(RETRY_DELAY_SECONDS)
            await message.nack()
            return
        except Exception as error:
            attempts[place] = attempts.get(place, 0) + 1
            if attempts[place] < MAX_ATTEMPTS:
                log.exception("record %s@%d/%d not applied; it will be retried", record.topic, *place)
                await asyncio.sleep(RETRY_DELAY_SECONDS)
                await message.nack()
                return
            letter = DeadLetter("failed", f"{type(error).__name__} after {MAX_ATTEMPTS} attempts")
        attempts.pop(place, None)
        if letter is not None:
            await dead_letter(broker, settings.deadletter_topic, record, letter.rule, letter.reason)
        await message.ack()

    return broker


async def run_command_consumer(wired: LedgerServices, stop: asyncio.Event) -> None:
    """Create the ledger's topics and consume commands until `stop`; while Kafka is away, keep trying."""
    settings = wired.settings
    retention = settings.commands_retention_days * 24 * 3600 * 1000
    names = (settings.commands_topic, settings.acks_topic, settings.deadletter_topic)
    specs = [TopicSpec(name, replication=settings.topic_replication, retention_ms=retention) for name in names]
    broker = command_broker(wired)
    await start_when_reachable(broker, settings.kafka_bootstrap, specs, stop, "commands over HTTP still work")
    try:
        await stop.wait()
    finally:
        await broker.stop()
