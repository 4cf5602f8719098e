"""The one translator from the ledger's events to the public envelope of consent.events.v1: from a domain
event, or (the relay's and the bundle's fast path) straight from its stored JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from schemas.envelope import SPEC_VERSION, data_schema, event_type, utc_text
from services.ledger.domain.events import SubjectEvent, event_id_of

LEDGER_SOURCE = "urn:kz.esperance:consent-ledger"

# Fields every domain event carries that become envelope attributes rather than `data`.
_COMMON = frozenset(
    {"originator_id", "originator_version", "timestamp", "command_id", "actor", "occurred_at"}
    | {"correlation_id", "causation_id", "command_digest", "pii", "prev_hash", "hash"}
)


def to_envelope(event: SubjectEvent, *, position: int | None = None) -> dict[str, Any]:
    """The CloudEvents envelope of `event`; absent optional attributes are left out, never null."""
    subject_id, version = event.originator_id, event.originator_version
    return _envelope(type(event).__name__, subject_id, version, event.timestamp, vars(event), position=position)


def stored_envelope(
    topic: str, subject_id: UUID, version: int, state: bytes, *, position: int | None = None
) -> dict[str, Any] | None:
    """The same envelope straight from the event's stored JSON (eventsourcing's, no cipher or compressor).

    None when the state holds a value only eventsourcing's transcoder can read (anything but the
    recorded timestamp): then take the event through the mapper and `to_envelope`.
    """
    if state.count(b'"_type_"') != 1:
        return None
    attributes = orjson.loads(state)
    recorded = attributes["timestamp"]
    if not isinstance(recorded, dict) or recorded.get("_type_") != "datetime_iso":
        return None
    name = topic.rpartition(":")[2]
    return _envelope(
        name, subject_id, version, datetime.fromisoformat(recorded["_data_"]), attributes, position=position
    )


def _envelope(
    name: str, subject_id: UUID, version: int, recorded: datetime, attributes: dict[str, Any], *, position: int | None
) -> dict[str, Any]:
    subject = str(subject_id)
    envelope: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": str(event_id_of(subject_id, version)),
        "source": LEDGER_SOURCE,
        "type": event_type(name),
        "subject": subject,
        "time": utc_text(datetime.fromisoformat(attributes["occurred_at"])),
        "datacontenttype": "application/json",
        "dataschema": data_schema(name),
        "data": {key: value for key, value in attributes.items() if key not in _COMMON},
        "subjectversion": version,
        "recordedat": utc_text(recorded),
        "actor": attributes["actor"],
        "commandid": attributes["command_id"],
    }
    optional = {
        "causationid": attributes["causation_id"],
        "correlationid": attributes["correlation_id"],
        "commanddigest": attributes["command_digest"],
        "pii": attributes["pii"],
        "prevhash": attributes["prev_hash"],
        "hash": attributes["hash"],
        "position": position,
    }
    envelope.update({key: value for key, value in optional.items() if value is not None})
    return envelope
