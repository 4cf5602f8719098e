"""consent.deadletter.v1: where a record nobody could apply was and why — never what it held.

A record that cannot be applied may hold personal data (a malformed command with a name and a
phone), and erasure cannot reach a dead-letter topic. So a dead letter keeps the record's topic,
partition, offset and key and the SHA-256 of its value, and not one byte of the value itself: an
operator reads the original at its offset while the source topic keeps it, and the digest says it is
the one. The key is kept when it is a subject id (an opaque UUID); any other key is left out, since
it may be a phone number or an IIN, which even a hash would not hide from enumeration.
"""

from __future__ import annotations

import hashlib
import logging
from uuid import UUID

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

REASON_LIMIT = 2000


class DeadLetterRecord(BaseModel):
    """The value of a dead letter (JSON): why a record was set aside and where it is, with its value's digest."""

    rule: str = Field(description="Why, as a stable rule (e.g. malformed, personal_data_in_clear).")
    reason: str = Field(max_length=REASON_LIMIT, description="Why, in plain words; never the record's content.")
    topic: str = Field(description="The topic the record was read from.")
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    key: UUID | None = Field(
        default=None, description="The record's key when it is a subject id; any other key is left out."
    )
    value_sha256: str = Field(description="SHA-256 (hex) of the record's value, which is not copied.")
    value_bytes: int = Field(ge=0, description="The size of the record's value.")


def _subject_id(key: bytes | None) -> UUID | None:
    try:
        return UUID(key.decode()) if key is not None else None
    except (UnicodeDecodeError, ValueError):
        return None


def describe(record: ConsumerRecord[bytes, bytes], rule: str, reason: str) -> DeadLetterRecord:
    """What the dead letter of `record` says: the reason, where the record is, digests instead of content."""
    value = record.value or b""
    return DeadLetterRecord(
        rule=rule,
        reason=reason[:REASON_LIMIT],
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=_subject_id(record.key),
        value_sha256=hashlib.sha256(value).hexdigest(),
        value_bytes=len(value),
    )


async def dead_letter(
    broker: KafkaBroker, topic: str, record: ConsumerRecord[bytes, bytes], rule: str, reason: str
) -> None:
    """Publish to the dead-letter `topic` why `record` was set aside and where it is, never its value."""
    log.warning("dead-lettered %s@%d/%d: %s", record.topic, record.partition, record.offset, rule)
    letter = describe(record, rule, reason)
    await broker.publish(
        letter.model_dump_json(exclude_none=True).encode(),
        topic,
        key=str(letter.key).encode() if letter.key is not None else None,
        headers={
            "content-type": "application/json",
            "deadletter-rule": letter.rule,
            "deadletter-reason": letter.reason,
            "original-topic": record.topic,
            "original-partition": str(record.partition),
            "original-offset": str(record.offset),
            "original-sha256": letter.value_sha256,
        },
    )
