"""The one translator from the ledger's domain events to the public envelope of consent.events.v1."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.envelope import SPEC_VERSION, data_schema, event_type, utc_text
from services.ledger.domain.events import SubjectEvent

LEDGER_SOURCE = "urn:kz.esperance:consent-ledger"

# Fields every domain event carries that become envelope attributes rather than `data`.
_COMMON = frozenset(
    {"originator_id", "originator_version", "timestamp", "command_id", "actor", "occurred_at"}
    | {"correlation_id", "causation_id", "command_digest", "pii", "prev_hash", "hash"}
)


def to_envelope(event: SubjectEvent, *, position: int | None = None) -> dict[str, Any]:
    """The CloudEvents envelope of `event`; absent optional attributes are left out, never null."""
    name = type(event).__name__
    envelope: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": str(event.event_id),
        "source": LEDGER_SOURCE,
        "type": event_type(name),
        "subject": str(event.originator_id),
        "time": utc_text(datetime.fromisoformat(event.occurred_at)),
        "datacontenttype": "application/json",
        "dataschema": data_schema(name),
        "data": {key: value for key, value in vars(event).items() if key not in _COMMON},
        "subjectversion": event.originator_version,
        "recordedat": utc_text(event.timestamp),
        "actor": event.actor,
        "commandid": event.command_id,
    }
    optional = {
        "causationid": event.causation_id,
        "correlationid": event.correlation_id,
        "commanddigest": event.command_digest,
        "pii": event.pii,
        "prevhash": event.prev_hash,
        "hash": event.hash,
        "position": position,
    }
    envelope.update({key: value for key, value in optional.items() if value is not None})
    return envelope
