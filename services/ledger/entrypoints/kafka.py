"""The Kafka command API: every sender's own topic in, events stored, offsets committed after.

The ledger reads each topic of services.platform.topology.inbound_senders: a channel's
consent.commands.<channel>.v1, the projector's card cascade on consent.commands.projector.v1 and each
subscriber system's consent.acks.<system>.v1. Who sent a record is the topic it came on, never the record
(docs/decisions/0018-authenticated-senders.md): the actor recorded is the sender, or `<sender>/<actor>`
when the record names one; a subscriber's topic takes only its own confirmations, a channel's topic no
confirmation, and the cascade's topic only BlockLoyaltyCard.

Records are taken in batches (a poll of up to BATCH_RECORDS): each is screened, the commands are
decided and saved together (Commands.handle_many: one store transaction), the dead letters are
published, and then the batch's offsets are committed; a crash before the commit delivers the batch
again, and the command ids make each repeat record nothing (docs/decisions/0014-batched-command-writes.md).
A record that is not a valid command, or that a rule refuses, goes to consent.deadletter.v1 with the
reason, its key, partition and offset and the SHA-256 of its value, never the value itself (it may
hold personal data) — nothing is dropped silently. Personal data travels on Kafka only sealed to the
ledger's public key: a command carrying it in clear is refused (personal_data_in_clear). A record that
fails for a passing reason (the database down, concurrent writes) is not acknowledged and comes back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

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
from services.ledger.application.batch import REFUSALS
from services.ledger.application.commands import Submitted
from services.ledger.application.ledger import Outcome
from services.ledger.application.registry import REGISTRY, CommandSpec
from services.ledger.bootstrap import LedgerServices
from services.ledger.domain.errors import RuleViolationError
from services.ledger.settings import LedgerSettings
from services.platform.deadletter import dead_letter
from services.platform.kafka import faststream_broker
from services.platform.tasks import start_when_reachable
from services.platform.topology import LEDGER_GROUP, Role, TopicSpec, inbound_senders

log = logging.getLogger(__name__)

GROUP_ID = LEDGER_GROUP
RETRY_DELAY_SECONDS = 1.0
MAX_ATTEMPTS = 5  # then a record that keeps failing goes to the dead letters instead of blocking its partition
BATCH_RECORDS = 500  # records taken per poll, decided and saved in one transaction


@dataclass(frozen=True)
class DeadLetter:
    """Why a record cannot be applied: a stable rule and plain words (never the record's personal data)."""

    rule: str
    reason: str


@dataclass(frozen=True)
class Sender:
    """Who wrote a record, known from the topic it came on: a channel, the projector's cascade or a subscriber."""

    name: str
    role: Role

    def actor(self, command: c.AnyCommand) -> str:
        """The actor recorded: the sender, or `<sender>/<actor>` when the command names one (as over HTTP)."""
        return f"{self.name}/{command.actor}" if command.actor else self.name


def senders(settings: LedgerSettings) -> dict[str, Sender]:
    """topic -> its sender, for every topic the ledger reads (the settings name the topic families)."""
    inbound = inbound_senders(settings.commands_topic, settings.acks_topic)
    return {topic: Sender(name, role) for topic, (name, role) in inbound.items()}


def screen(key: bytes | None, body: bytes, sender: Sender) -> c.AnyCommand | DeadLetter:
    """The command a record from `sender` carries, or why it cannot be taken from Kafka."""
    try:
        command = COMMANDS.validate_json(body)
    except ValidationError as error:
        return DeadLetter("malformed", problems(error))
    return _refusal(key, command, sender) or command


def _refusal(key: bytes | None, command: c.AnyCommand, sender: Sender) -> DeadLetter | None:
    """Why a valid command cannot be taken from this record, or None."""
    if command.subject_id is None:
        return DeadLetter("malformed", "subject_id: required on Kafka")
    if key != str(command.subject_id).encode():
        return DeadLetter("key_mismatch", "the record key must be the command's subject_id")
    spec = REGISTRY.of(command)
    if misdirected := _not_for(sender, command, spec):
        return misdirected
    if not spec.kafka:
        return DeadLetter("not_allowed_on_kafka", f"{command.type} is taken over HTTP with the dpo scope")
    if clear := in_clear(command):
        return DeadLetter(
            "personal_data_in_clear",
            f"{', '.join(clear)}: personal data goes on Kafka only sealed to the ledger's public key, in "
            "sealed_<field> (schemas.kit.sealed_command; the key: GET /v1/commands/public-key)",
        )
    return None


def _not_for(sender: Sender, command: c.AnyCommand, spec: CommandSpec[Any]) -> DeadLetter | None:
    """Why `sender` may not send this command on its topic, or None (decision 0018)."""
    if sender.role == "subscriber":
        if not spec.acknowledgement:
            return DeadLetter(
                "not_an_acknowledgement", f"{command.type} does not belong on a subscriber's acknowledgements topic"
            )
        if spec.sender_field is not None and getattr(command, spec.sender_field) != sender.name:
            return DeadLetter(
                "system_not_sender",
                f"{spec.sender_field} names another system than {sender.name!r}, whose topic this is: "
                "a system confirms only for itself",
            )
    elif sender.role == "channel" and spec.acknowledgement:
        return DeadLetter(
            "acknowledgement_from_a_channel",
            f"{command.type} is sent by a subscriber system on its own acknowledgements topic, not by a channel",
        )
    elif sender.role == "channel" and spec.cascade:
        return DeadLetter(
            "cascade_from_a_channel",
            f"{command.type} comes over Kafka only from the projector's card cascade; the DPO sends it over HTTP",
        )
    elif sender.role == "cascade" and not spec.cascade:
        return DeadLetter("not_a_cascade_command", f"{command.type} does not belong on the card cascade's topic")
    return None


def apply(wired: LedgerServices, command: c.AnyCommand, actor: str) -> DeadLetter | None:
    """Apply a screened command alone; a refusal becomes a dead letter, a passing failure raises (to be retried)."""
    try:
        wired.commands.handle(_subject(command), command, actor=actor, now=wired.clock())
    except REFUSALS as refusal:
        return refused(refusal)
    return None


def apply_many(wired: LedgerServices, commands: Sequence[tuple[c.AnyCommand, str]]) -> list[DeadLetter | None]:
    """Apply screened (command, actor) pairs as one batch (one transaction); per command its dead letter or None."""
    now = wired.clock()
    batch = [Submitted(_subject(cmd), cmd, actor, now) for cmd, actor in commands]
    results = wired.commands.handle_many(batch)
    outcomes = [result for result in results if isinstance(result, Outcome)]
    repeats = sum(outcome.replayed for outcome in outcomes)
    log.info("applied a batch of %d command(s): %d recorded, %d repeat(s), %d refused",
             len(results), len(outcomes) - repeats, repeats, len(results) - len(outcomes))  # fmt: skip
    return [None if isinstance(result, Outcome) else refused(result) for result in results]


def _subject(command: c.AnyCommand) -> UUID:
    assert command.subject_id is not None  # noqa: S101 - screen() let only commands with a subject through
    return command.subject_id


def refused(refusal: Exception) -> DeadLetter:
    """The dead letter of a command refused by a rule, an erased subject, sealed data or invalid content."""
    if isinstance(refusal, RuleViolationError):
        return DeadLetter(refusal.rule, refusal.message)
    if isinstance(refusal, SubjectErasedError):
        return DeadLetter("subject_erased", str(refusal))
    if isinstance(refusal, SealedDataError):
        return DeadLetter(refusal.rule, str(refusal))
    return DeadLetter("invalid", str(refusal))


class _Again(Exception):
    """A record failed for a reason of its own fewer than MAX_ATTEMPTS times: the batch is read again."""


class _Batches:
    """Turns a batch of records into their dead letters (None: applied), counting each record's failed attempts."""

    def __init__(self, wired: LedgerServices) -> None:
        self.wired = wired
        self.senders = senders(wired.settings)
        self.attempts: dict[tuple[str, int, int], int] = {}  # (topic, partition, offset) -> failed attempts

    async def letters(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[DeadLetter | None]:
        """Screen every record, then apply the commands together; STORE_AWAY and _Again leave it to be read again.

        If the batch fails for another reason, its commands are applied one by one (a repeat of one
        already recorded records nothing), so the record at fault is found and, after MAX_ATTEMPTS, dead-lettered.
        """
        letters: list[DeadLetter | None] = []
        commands: dict[int, tuple[c.AnyCommand, str]] = {}
        for index, record in enumerate(records):
            sender = self.senders.get(record.topic)
            if sender is None:  # never subscribed to: a record without a known sender is not taken
                screened: c.AnyCommand | DeadLetter = DeadLetter("unknown_sender", "no sender writes this topic")
            else:
                screened = screen(record.key, record.value or b"", sender)
            letters.append(screened if isinstance(screened, DeadLetter) else None)
            if sender is not None and not isinstance(screened, DeadLetter):
                commands[index] = (screened, sender.actor(screened))
        try:
            applied = await to_thread.run_sync(apply_many, self.wired, list(commands.values()))
        except STORE_AWAY:
            raise
        except Exception:
            log.exception("a batch of %d record(s) not applied; its commands are applied one by one", len(records))
            applied = [await self._alone(records[index], *taken) for index, taken in commands.items()]
        for index, letter in zip(commands, applied, strict=True):
            letters[index] = letter
        for record in records:
            self.attempts.pop((record.topic, record.partition, record.offset), None)
        return letters

    async def _alone(
        self, record: ConsumerRecord[bytes, bytes], command: c.AnyCommand, actor: str
    ) -> DeadLetter | None:
        """One command applied by itself; a failure counts against its record (STORE_AWAY never does)."""
        place = (record.topic, record.partition, record.offset)
        try:
            return await to_thread.run_sync(apply, self.wired, command, actor)
        except STORE_AWAY:
            raise
        except Exception as error:
            self.attempts[place] = self.attempts.get(place, 0) + 1
            if self.attempts[place] < MAX_ATTEMPTS:
                log.exception("record %s@%d/%d not applied; it will be retried", *place)
                raise _Again from error
            return DeadLetter("failed", f"{type(error).__name__} after {MAX_ATTEMPTS} attempts")


def command_broker(wired: LedgerServices, *, group_id: str = GROUP_ID) -> KafkaBroker:
    """A FastStream broker whose batch subscriber applies every sender's topic to the ledger.

    Each poll's records are screened and applied together (one store transaction), their dead letters
    published, and only then their offsets committed: a crash before the commit delivers them again,
    and their command ids make every repeat record nothing.
    """
    settings = wired.settings
    # Idempotent, so acks=all: a dead letter is on every in-sync replica before the offsets are committed.
    broker = faststream_broker(settings.kafka(), client_id="consent-ledger")
    batches = _Batches(wired)

    @broker.subscriber(
        *batches.senders,
        group_id=group_id,
        batch=True,
        max_records=BATCH_RECORDS,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
    )
    async def on_command(message: KafkaMessage) -> None:
        records = cast("tuple[ConsumerRecord[bytes, bytes], ...]", message.raw_message)
        try:
            letters = await batches.letters(records)
        except STORE_AWAY as error:  # not the records' fault: they wait, however long the database is away
            first = records[0]
            log.warning("a batch of %d record(s) from %s@%d/%d waits for the store: %s", len(records), first.topic,
                        first.partition, first.offset, type(error).__name__)  # fmt: skip
            await asyncio.sleep(RETRY_DELAY_SECONDS)
            await message.nack()  # rewinds every partition of the batch to its first record
            return
        except _Again:
            await asyncio.sleep(RETRY_DELAY_SECONDS)
            await message.nack()
            return
        for record, letter in zip(records, letters, strict=True):
            if letter is not None:
                await dead_letter(broker, settings.deadletter_topic, record, letter.rule, letter.reason)
        await message.ack()  # commits the offsets after the whole batch: saved first, then committed

    return broker


async def run_command_consumer(wired: LedgerServices, stop: asyncio.Event) -> None:
    """Create the missing inbound and dead-letter topics, consume commands until `stop`; retry while Kafka is away."""
    settings = wired.settings
    retention = settings.commands_retention_days * 24 * 3600 * 1000
    names = [*senders(settings), settings.deadletter_topic]
    specs = [TopicSpec(name, replication=settings.topic_replication, retention_ms=retention) for name in names]
    broker = command_broker(wired)
    await start_when_reachable(broker, settings.kafka(), specs, stop, "commands over HTTP still work")
    try:
        await stop.wait()
    finally:
        await broker.stop()
