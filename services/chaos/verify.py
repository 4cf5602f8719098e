"""After the run: what was acknowledged and lost, events published twice, the read model against a replay."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import orjson
import psycopg

from schemas.topics import EVENTS
from services.chaos.load import Acknowledged
from services.platform.kafka import KafkaAccess
from services.platform.reading import Batch, read_to_end
from services.projector.replay import differences, replay
from services.projector.store import ProjectionStore


@dataclass(frozen=True)
class Findings:
    """What the survival run found once everything settled."""

    acknowledged: int
    lost: int  # acknowledged commands without their events on the topic, and withdrawals without their card block
    duplicated: int  # events on consent.events.v1 (read_committed) more than once
    replay_mismatches: int  # read-model rows that differ from a replay of the topic into a fresh store
    events: int


async def events_on_topic(kafka: KafkaAccess) -> list[dict[str, object]]:
    """Every committed record's envelope on consent.events.v1 (id, type, subject only)."""
    envelopes: list[dict[str, object]] = []

    async def keep(batch: Batch) -> None:
        for record in batch:
            envelope = orjson.loads(record.value or b"{}")
            envelopes.append({key: envelope.get(key) for key in ("id", "type", "subject")})

    await read_to_end(kafka, EVENTS, keep)
    return envelopes


def recorded_commands(ledger_store: str) -> dict[str, tuple[str, ...]]:
    """command id -> the ids of the events it recorded, from the ledger's store."""
    with psycopg.connect(ledger_store, connect_timeout=10) as connection:
        rows = connection.execute("SELECT command_id, event_ids FROM ledger_commands").fetchall()
    return {command_id: tuple(event_ids.split()) for command_id, event_ids in rows}


@dataclass(frozen=True)
class Stores:
    """The ledger's and the projectors' stores, and an empty one (same server) to replay the topic into."""

    ledger: str
    projector: str
    fresh: str


async def verify(kafka: KafkaAccess, stores: Stores, acknowledged: Acknowledged, withdrawn: list[str]) -> Findings:
    """Count the losses, the duplicates and the replay mismatches (`withdrawn`: subjects whose cascade was started)."""
    envelopes = await events_on_topic(kafka)
    ids = Counter(str(envelope["id"]) for envelope in envelopes)
    recorded = recorded_commands(stores.ledger)
    on_topic = set(ids)
    lost = sum(
        1
        for command_id in (*acknowledged.http, *acknowledged.kafka)
        if command_id not in recorded or not set(recorded[command_id]) <= on_topic
    )
    blocks = Counter(str(e["subject"]) for e in envelopes if str(e["type"]).endswith("LoyaltyCardBlocked"))
    lost += sum(1 for subject in withdrawn if blocks[subject] == 0)
    duplicated = sum(count - 1 for count in ids.values() if count > 1)
    duplicated += sum(blocks[subject] - 1 for subject in withdrawn if blocks[subject] > 1)
    mismatches = await replay_mismatches(kafka, stores.projector, stores.fresh)
    return Findings(acknowledged.total, lost, duplicated, mismatches, len(ids))


async def replay_mismatches(kafka: KafkaAccess, projector_store: str, fresh_store: str) -> int:
    """Rows of the live read model that differ from a replay of the whole topic into the empty `fresh_store`."""
    fresh, live = ProjectionStore(fresh_store), ProjectionStore(projector_store)
    try:
        await replay(fresh, kafka, EVENTS, lambda _: None)
        return len(differences(live.dump(), fresh.dump(), limit=1_000_000))
    finally:
        fresh.close()
        live.close()
