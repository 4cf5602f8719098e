"""Prove that consent.events.v1 and the event store hold the same events — or say exactly what differs.

Checked: every record's hash matches its content; each stored event is on the topic once, at its
position, with the same id and hash; nothing on the topic is unknown to the store; every subject's
chain links (prevhash) and counts (subjectversion) without a gap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from schemas.chain import chain_problems
from schemas.envelope import event_hash
from services.ledger.application.ledger import Ledger
from services.ledger.application.outbox import stored_envelopes
from services.platform.kafka import KafkaAccess
from services.platform.reading import Batch, read_to_end

Progress = Callable[[int], None]
PAGE = 5000


@dataclass
class Report:
    """What verify found: counts, and the problems in ledger order (empty when all agree)."""

    stored: int = 0
    on_topic: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """True when topic and store agree and every chain holds."""
        return not self.problems


async def read_topic(kafka: KafkaAccess, topic: str, progress: Progress = lambda n: None) -> list[dict[str, Any]]:
    """Every committed envelope on the topic, read to the end offsets as they were when reading started."""
    envelopes: list[dict[str, Any]] = []

    async def collect(batch: Batch) -> None:
        envelopes.extend(orjson.loads(record.value) for record in batch)
        progress(len(batch))

    await read_to_end(kafka, topic, collect)
    return envelopes


def stored_fingerprints(ledger: Ledger, progress: Progress = lambda n: None) -> dict[int, tuple[str, str]]:
    """Position -> (event id, hash) of every stored event; a hash that no longer matches its event is kept
    as `altered:<recomputed hash>`, so the comparison names that position."""
    found: dict[int, tuple[str, str]] = {}
    position = 0
    while envelopes := stored_envelopes(ledger, position, PAGE):
        for envelope in envelopes:
            recomputed = event_hash(envelope)
            stored_hash = envelope["hash"] if envelope["hash"] == recomputed else f"altered:{recomputed}"
            found[envelope["position"]] = (envelope["id"], stored_hash)
        position = envelopes[-1]["position"]
        progress(len(envelopes))
    return found


def compare(stored: dict[int, tuple[str, str]], envelopes: list[dict[str, Any]]) -> Report:
    """Everything that differs between the store's events and the topic's envelopes."""
    report = Report(stored=len(stored), on_topic=len(envelopes))
    found: list[tuple[int, str]] = []
    seen: dict[int, dict[str, Any]] = {}
    found += [
        (p, f"position {p}: stored event {event_id}'s hash does not match its content (altered in the store)")
        for p, (event_id, stored_hash) in stored.items()
        if stored_hash.startswith("altered:")
    ]
    for envelope in envelopes:
        position, event_id = envelope.get("position", 0), envelope.get("id")
        if envelope.get("hash") != event_hash(envelope):
            found.append((position, f"position {position}: event {event_id}'s hash does not match its content"))
        if position in seen:
            found.append((position, f"position {position}: event {event_id} is on the topic more than once"))
        seen[position] = envelope
        if position not in stored:
            found.append((position, f"position {position}: event {event_id} is on the topic but not in the store"))
        elif stored[position] != (event_id, envelope.get("hash")):
            store_id, store_hash = stored[position]
            found.append(
                (position, f"position {position}: the topic has {event_id} ({envelope.get('hash')}), "
                           f"the store {store_id} ({store_hash})")
            )  # fmt: skip
    found += [
        (p, f"position {p}: stored event {stored[p][0]} is missing from the topic") for p in stored if p not in seen
    ]
    chains = [
        problem for problem in chain_problems(seen[p] for p in sorted(seen)) if "match its content" not in problem
    ]
    report.problems = [problem for _, problem in sorted(found, key=lambda item: item[0])] + chains
    return report
