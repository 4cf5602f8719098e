"""The subscriber kit: what a downstream system (loyalty, delivery, marketing) needs to read consent.events.v1,
and what a channel needs to send commands on its own topic with their personal data sealed.

Every sender writes a topic of its own, and the ledger takes the sender from the topic, never from the
record (schemas.topics): subscriber `system` confirms on acks_topic(system), consent.acks.<system>.v1,
and only for itself; channel `channel` sends on commands_topic(channel), consent.commands.<channel>.v1,
and an `actor` it names is recorded as `<channel>/<actor>`.

It depends only on schemas/, pydantic, orjson, PyNaCl (for sealing) and (for `confirm`) an aiokafka producer::

    envelope = decode(record.value)                  # schema check included
    problems = verifier.check(envelope)              # hash, link and version of each event
    if isinstance(envelope.data, LoyaltyCardBlocked):
        block_card(envelope.data.card_ref)
        await confirm(producer, envelope, system="loyalty", action="card blocked")   # on consent.acks.loyalty.v1

    key, value = command_record(grant, ledger_public_key)   # pii and card numbers sealed for the ledger
    await producer.send_and_wait(commands_topic("tablet"), value=value, key=key)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from schemas.commands import COMMANDS, ConfirmEnforcement
from schemas.envelope import canonical_bytes, event_hash
from schemas.events import Envelope, parse_envelope
from schemas.sealed import personal_fields, seal
from schemas.topics import EVENTS, acks_topic, commands_topic

__all__ = [
    "EVENTS",
    "ChainVerifier",
    "Producer",
    "acknowledgement",
    "acks_topic",
    "command_record",
    "commands_topic",
    "confirm",
    "decode",
    "seal",
    "sealed_command",
]


def decode(record_value: bytes) -> Envelope:
    """The envelope in a consent.events.v1 record value, checked against its event's schema (ContractError if not)."""
    return parse_envelope(record_value)


class ChainVerifier:
    """Checks each subject's hash chain as its events arrive, in topic order (one verifier per consumer).

    A subscriber that starts mid-stream (from the latest offset, or after the topic's earliest
    events) first sees a subject at some version above 1: that event's own hash is checked, its
    `prevhash` is taken as the starting link and nothing is reported about the events before it.
    Redelivery of the event seen last for a subject (at-least-once consumption) is not a problem.
    The verifier keeps one small entry per subject seen (version, event id, hash).
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[int, str, str | None]] = {}  # subject -> (version, event id, hash) seen last

    def check(self, envelope: Envelope) -> list[str]:
        """What does not add up about `envelope` given the subject's events seen before; empty when it verifies."""
        subject, version, event_id = str(envelope.subject), envelope.subjectversion, str(envelope.id)
        previous = self._last.get(subject)
        if previous is not None and (previous[1], previous[2]) == (event_id, envelope.hash):
            return []  # the same event again
        problems = self._hash_problems(envelope)
        if previous is None:
            if version == 1 and envelope.prevhash is not None:
                problems.append(f"event {event_id}: the subject's first event has prevhash {envelope.prevhash}")
        else:
            problems += _link_problems(envelope, previous[0], previous[2])
        self._last[subject] = (version, event_id, envelope.hash)
        return problems

    @staticmethod
    def _hash_problems(envelope: Envelope) -> list[str]:
        if envelope.hash is None:
            return [f"event {envelope.id}: no hash"]
        expected = event_hash(envelope.document)
        if envelope.hash != expected:
            return [f"event {envelope.id}: hash {envelope.hash} does not match its content ({expected})"]
        return []


def _link_problems(envelope: Envelope, last_version: int, last_hash: str | None) -> list[str]:
    problems = []
    version, where = envelope.subjectversion, f"event {envelope.id}: subject {envelope.subject}"
    if version > last_version + 1:
        missing = version - last_version - 1
        problems.append(f"{where} version {version} follows version {last_version}: {missing} event(s) missing")
    elif version <= last_version:
        problems.append(f"{where} version {version} arrived after version {last_version}: out of order or repeated")
    if envelope.prevhash != last_hash:
        problems.append(f"{where} prevhash {envelope.prevhash} is not the hash of the event before it ({last_hash})")
    return problems


def acknowledgement(envelope: Envelope, system: str, action: str, command_id: str | None = None) -> tuple[bytes, bytes]:
    """Key and value of the ConfirmEnforcement command for acks_topic(system) saying `system` did `action`.

    The default command id, `ack:<system>:<event id>`, makes a repeated confirmation of the same event
    harmless: the ledger records it once. Raises pydantic.ValidationError if the command would be invalid.
    """
    command = {
        "type": "ConfirmEnforcement",
        "command_id": command_id or f"ack:{system}:{envelope.id}",
        "subject_id": str(envelope.subject),
        "system": system,
        "enforced_event_id": str(envelope.id),
        "action": action,
    }
    ConfirmEnforcement.model_validate(command)
    return str(envelope.subject).encode(), canonical_bytes(command)


class Producer(Protocol):
    """What `confirm` needs of a producer; aiokafka.AIOKafkaProducer has it."""

    async def send_and_wait(
        self, topic: str, value: bytes | None = None, key: bytes | None = None, **options: Any
    ) -> Any: ...


async def confirm(producer: Producer, envelope: Envelope, system: str, action: str, topic: str | None = None) -> None:
    """Send the acknowledgement that `system` did `action` about `envelope`, and wait until the broker has it.

    It goes to `system`'s own topic, acks_topic(system) (consent.acks.<system>.v1), unless `topic` names
    another (a test's): the ledger dead-letters a confirmation on a topic that is not the system's own.
    """
    key, value = acknowledgement(envelope, system, action)
    await producer.send_and_wait(
        topic or acks_topic(system), value=value, key=key, headers=[("content-type", b"application/json")]
    )


def sealed_command(command: Mapping[str, Any], public_key: str | bytes) -> dict[str, Any]:
    """A copy of `command` (JSON-ready) with each personal-data field in clear moved, sealed, into its twin.

    `pii` becomes `sealed_pii`, `representative.pii` becomes `representative.sealed_pii` and
    `card_number` becomes `sealed_card_number`, each sealed to the ledger's `public_key` (its base64
    text from GET /v1/commands/public-key, or its 32 bytes) for the command's `subject_id`. The
    command is validated first (pydantic.ValidationError if it is not one); ValueError without a subject_id.
    """
    model = COMMANDS.validate_python(command)
    if model.subject_id is None:
        raise ValueError("subject_id is required: sealed personal data names the subject it belongs to")
    document: dict[str, Any] = orjson.loads(orjson.dumps(dict(command)))
    document["subject_id"] = str(model.subject_id)  # as the record key must spell it
    for field in personal_fields(model):
        if field.clear is None:
            continue
        holder = document
        for step in field.path.split(".")[:-1]:
            holder = holder[step]
        del holder[field.name]
        holder[f"sealed_{field.name}"] = seal(public_key, model.subject_id, field.path, field.clear)
    return document


def command_record(command: Mapping[str, Any], public_key: str | bytes) -> tuple[bytes, bytes]:
    """Key and value of `command` for a channel's commands_topic(channel), personal data sealed (`sealed_command`)."""
    document = sealed_command(command, public_key)
    return document["subject_id"].encode(), canonical_bytes(document)
