"""The Kafka command API: consent.commands.v1 in, events stored, every record acknowledged only once handled.

A record that is not a valid command, or that a rule refuses, goes to consent.deadletter.v1 with the
reason in its headers and its original bytes and key — nothing is dropped silently. A record that
fails for a passing reason (the database down, concurrent writes) is not acknowledged and comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from functools import partial
from typing import cast

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from anyio import to_thread
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from schemas.commands import COMMANDS
from services.ledger.bootstrap import LedgerServices
from services.ledger.domain.errors import InvalidCommandError, RuleViolationError
from services.ledger.pii.keys import SubjectErasedError
from services.platform.topics import TopicSpec, ensure_topics

log = logging.getLogger(__name__)

GROUP_ID = "consent-ledger"
KAFKA_ACTOR = "kafka"
RETRY_DELAY_SECONDS = 1.0


def command_broker(wired: LedgerServices, *, group_id: str = GROUP_ID) -> KafkaBroker:
    """A FastStream broker whose subscriber applies consent.commands.v1 to the ledger."""
    settings = wired.settings
    broker = KafkaBroker(settings.kafka_bootstrap, client_id="consent-ledger", enable_idempotence=True)

    async def dead_letter(message: KafkaMessage, rule: str, reason: str) -> None:
        record = cast("ConsumerRecord[bytes, bytes]", message.raw_message)  # one record per call, never a batch
        log.warning("dead-lettered %s@%d/%d: %s", record.topic, record.partition, record.offset, rule)
        await broker.publish(
            message.body,
            settings.deadletter_topic,
            key=record.key,
            headers={
                "deadletter-rule": rule,
                "deadletter-reason": reason[:2000],
                "original-topic": record.topic,
                "original-partition": str(record.partition),
                "original-offset": str(record.offset),
            },
        )
        await message.ack()

    @broker.subscriber(
        settings.commands_topic, group_id=group_id, ack_policy=AckPolicy.MANUAL, auto_offset_reset="earliest"
    )
    async def on_command(message: KafkaMessage) -> None:
        try:
            command = COMMANDS.validate_json(message.body)
        except ValidationError as error:
            fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors(include_input=False))
            await dead_letter(message, "malformed", fields)
            return
        if command.subject_id is None:
            await dead_letter(message, "malformed", "subject_id: required on Kafka")
            return
        handle = partial(
            wired.handler.handle, command.subject_id, command, actor=command.actor or KAFKA_ACTOR, now=datetime.now(UTC)
        )
        try:
            outcome = await to_thread.run_sync(handle)
        except RuleViolationError as refusal:
            await dead_letter(message, refusal.rule, refusal.message)
            return
        except InvalidCommandError as invalid:
            await dead_letter(message, "invalid", str(invalid))
            return
        except SubjectErasedError as erased:
            await dead_letter(message, "subject_erased", str(erased))
            return
        except Exception:
            log.exception("command %s not applied; it will be retried", command.command_id)
            await asyncio.sleep(RETRY_DELAY_SECONDS)
            await message.nack()
            return
        log.info("applied %s %s: %d event(s)%s", command.type, command.command_id, len(outcome.event_ids),
                 " (repeat)" if outcome.replayed else "")  # fmt: skip
        await message.ack()

    return broker


async def run_command_consumer(wired: LedgerServices, stop: asyncio.Event) -> None:
    """Create the ledger's topics and consume commands until `stop`; while Kafka is away, keep trying."""
    settings = wired.settings
    specs = [TopicSpec(settings.commands_topic), TopicSpec(settings.deadletter_topic)]
    broker = command_broker(wired)
    while not stop.is_set():
        try:
            await ensure_topics(settings.kafka_bootstrap, specs)
            await broker.start()
            break
        except (KafkaError, OSError) as error:
            log.warning(
                "Kafka at %s not reachable (%s); commands over HTTP still work", settings.kafka_bootstrap, error
            )
            await broker.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5)
    try:
        await stop.wait()
    finally:
        await broker.stop()
