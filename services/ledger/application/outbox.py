"""The store side of the relay: stored events after a position, as envelopes and as Kafka records.

Pure reads of the event store's notification log (no Kafka client here): the relay publishes what
`records_after` returns, evidence bundles and `consent-ledger verify` read `stored_envelopes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from eventsourcing.persistence import Notification

from schemas.envelope import CONTENT_TYPE, canonical_bytes
from services.ledger.application.contract import stored_envelope, to_envelope
from services.ledger.application.ledger import Ledger
from services.ledger.domain.events import SubjectEvent


@dataclass(frozen=True)
class Record:
    """One event ready for Kafka."""

    position: int
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def stored_envelopes(ledger: Ledger, position: int, limit: int) -> list[dict[str, Any]]:
    """The next `limit` stored events after `position`, as envelopes carrying their position.

    Built from each event's stored JSON when the store holds it plain (no cipher or compressor), else
    through the domain event; the ledger's own rows are read, without the library's objects per event.
    """
    if ledger.mapper.cipher is None and ledger.mapper.compressor is None:
        return [
            stored_envelope(row.topic, row.subject, row.version, row.state, position=row.position)
            or _through_the_domain(ledger, row.notification())
            for row in ledger.commands_recorder.select_rows(position + 1, limit)
        ]
    return [
        _through_the_domain(ledger, n) for n in ledger.recorder.select_notifications(start=position + 1, limit=limit)
    ]


def _through_the_domain(ledger: Ledger, notification: Notification) -> dict[str, Any]:
    return to_envelope(cast("SubjectEvent", ledger.mapper.to_domain_event(notification)), position=notification.id)


def records_after(ledger: Ledger, position: int, limit: int) -> list[Record]:
    """The next `limit` stored events after `position`, as Kafka records."""
    return [
        Record(
            envelope["position"],
            envelope["subject"].encode(),
            canonical_bytes(envelope),
            [
                ("content-type", CONTENT_TYPE.encode()),
                ("ce-type", envelope["type"].encode()),
                ("schema-version", b"v1"),
                ("position", str(envelope["position"]).encode()),
            ],
        )
        for envelope in stored_envelopes(ledger, position, limit)
    ]


def check_resumable(ledger: Ledger, position: int, topic_hash: str) -> None:
    """Refuse to publish when the topic's last event is not the store's event at that position.

    That happens when the store was restored from a backup older than the topic: publishing
    would give new events positions the topic already holds.
    """
    if position == 0:
        return
    stored = stored_envelopes(ledger, position - 1, 1)
    if not stored or stored[0]["position"] != position or stored[0]["hash"] != topic_hash:
        raise RuntimeError(
            f"the topic's last event (position {position}) is not the store's event at that position: "
            "is the event store behind the topic (restored from a backup)? Not publishing."
        )
