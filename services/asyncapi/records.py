"""What FastStream leaves out of the AsyncAPI document: each topic's record key and headers."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import unquote

from schemas.envelope import CONTENT_TYPE
from schemas.topics import sender_topic
from services.asyncapi.twins import LEDGER, NotDescribedError
from services.platform.topology import CHANNELS, SUBSCRIBERS, inbound_senders

KAFKA_BINDING_VERSION = "0.4.0"  # the version FastStream gives the channels' Kafka bindings
INBOUND = inbound_senders(LEDGER.commands_topic, LEDGER.acks_topic)  # every sender's topic -> (sender, role)
EXAMPLE_TOPICS = [sender_topic(LEDGER.commands_topic, CHANNELS[0]), sender_topic(LEDGER.acks_topic, SUBSCRIBERS[0])]

SUBJECT_KEY = {
    "type": "string",
    "format": "uuid",
    "description": "The subject id: one subject's records stay in order.",
}
# What services.ledger.entrypoints.relay.records_after puts on every record besides the value.
EVENT_HEADERS = {
    "type": "object",
    "required": ["content-type", "ce-type", "schema-version", "position"],
    "properties": {
        "content-type": {"const": CONTENT_TYPE},
        "ce-type": {"type": "string", "description": "The envelope's `type`, to route without parsing."},
        "schema-version": {"const": "v1"},
        "position": {"type": "string", "pattern": "^[1-9][0-9]*$", "description": "The envelope's `position`."},
    },
}
# What services.platform.deadletter.dead_letter puts on every dead letter besides its value.
DEADLETTER_HEADERS = {
    "type": "object",
    "required": [
        "content-type", "deadletter-rule", "deadletter-reason", "original-topic", "original-partition",
        "original-offset", "original-sha256",
    ],
    "properties": {
        "content-type": {"const": "application/json"},
        "deadletter-rule": {
            "type": "string",
            "description": "Why, as a stable rule: malformed, key_mismatch, not_an_acknowledgement, "
            "system_not_sender, acknowledgement_from_a_channel, not_a_cascade_command, "
            "not_allowed_on_kafka, personal_data_in_clear, sealed_data_unreadable, sealed_data_mismatch, "
            "subject_erased, invalid, failed, or the domain rule that refused the command.",
        },
        "deadletter-reason": {"type": "string", "maxLength": 2000, "description": "Why, in plain words."},
        "original-topic": {"type": "string", "examples": EXAMPLE_TOPICS},
        "original-partition": {"type": "string", "pattern": "^[0-9]+$"},
        "original-offset": {"type": "string", "pattern": "^[0-9]+$"},
        "original-sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "Of the value."},
    },
}  # fmt: skip


def _kafka_key(schema: dict[str, Any]) -> dict[str, Any]:
    return {"kafka": {"key": schema, "bindingVersion": KAFKA_BINDING_VERSION}}


# What FastStream leaves out of each topic's messages: the record key, the headers (None: drop the field).
RECORDS: dict[str, dict[str, Any]] = {
    LEDGER.events_topic: {
        "bindings": _kafka_key(SUBJECT_KEY),
        "headers": EVENT_HEADERS,
        "contentType": CONTENT_TYPE,
        "correlationId": None,  # the relay sets exactly EVENT_HEADERS, no correlation_id
    },
    **{topic: {"bindings": _kafka_key(SUBJECT_KEY)} for topic in INBOUND},
    LEDGER.deadletter_topic: {
        "bindings": _kafka_key(
            {"type": "string", "format": "uuid", "description": "The original record's key when it is a subject id."}
        ),
        "headers": DEADLETTER_HEADERS,
        "contentType": "application/json",
    },
}


def add_records(built: dict[str, Any]) -> None:
    """Give each message what RECORDS says of its topic's records."""
    messages = built["components"]["messages"]
    for channel in built["channels"].values():
        record = RECORDS.get(channel["address"])
        if record is None:
            raise NotDescribedError(f"no key and headers described for {channel['address']}: add them to RECORDS")
        for reference in channel["messages"].values():
            message = messages[unquote(reference["$ref"].removeprefix("#/components/messages/"))]
            for field, value in record.items():
                if value is None:
                    message.pop(field, None)
                else:
                    message[field] = copy.deepcopy(value)
