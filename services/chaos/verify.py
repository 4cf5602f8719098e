"""After the run: what was acknowledged and lost, events published twice, the read model against a replay."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import httpx
import orjson
import psycopg

from schemas.topics import EVENTS
from services.chaos.load import Acknowledged
from services.platform.kafka import KafkaAccess
from services.platform.reading import Batch, read_to_end
from services.projector.replay import differences, replay
from services.projector.store import ProjectionStore

CHECKED_SUBJECTS = 200  # subjects whose checks every projector instance is asked


@dataclass(frozen=True)
class Findings:
    """What the survival run found once everything settled."""

    acknowledged: int
    lost: int  # acknowledged commands without their events on the topic, and withdrawals without their card block
    duplicated: int  # events on consent.events.v1 (read_committed) more than once
    replay_mismatches: int  # read-model rows that differ from a replay of the topic into a fresh store
    events: int
    instances_disagreeing: int  # checks that not every projector instance answered alike


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


async def verify(
    kafka: KafkaAccess, stores: Stores, acknowledged: Acknowledged, withdrawn: list[str], projectors: Projectors
) -> Findings:
    """Count the losses, the duplicates, the replay mismatches (`withdrawn`: subjects whose cascade was started)
    and the checks on which the projector instances disagree."""
    envelopes = await events_on_topic(kafka)
    ids = Counter(str(envelope["id"]) for envelope in envelopes)
    recorded = recorded_commands(stores.ledger)
    on_topic = set(ids)
    lost = sum(
        1
        for command_id in (*acknowledged.http, *acknowledged.kafka)
        if command_id not in recorded or not set(recorded[command_id]) <= on_topic
    )
    unique = {str(e["id"]): e for e in envelopes}.values()  # an event published twice is counted once, above
    blocks = Counter(str(e["subject"]) for e in unique if str(e["type"]).endswith("LoyaltyCardBlocked"))
    lost += sum(1 for subject in withdrawn if blocks[subject] == 0)
    duplicated = sum(count - 1 for count in ids.values() if count > 1)
    duplicated += sum(blocks[subject] - 1 for subject in withdrawn if blocks[subject] > 1)
    mismatches = await replay_mismatches(kafka, stores.projector, stores.fresh)
    subjects = sorted({*acknowledged.http.values(), *withdrawn})
    disagreeing = await projectors.disagreements(subjects[:: max(1, len(subjects) // CHECKED_SUBJECTS)])
    return Findings(acknowledged.total, lost, duplicated, mismatches, len(ids), disagreeing)


@dataclass(frozen=True)
class Projectors:
    """The projector instances' HTTP APIs and a token that reads them."""

    urls: list[str]
    token: str

    async def disagreements(self, subjects: list[str]) -> int:
        """Of the checks of `subjects` (loyalty, and marketing by sms), how many not every instance answers alike."""
        headers = {"Authorization": f"Bearer {self.token}"}
        queries = [{"subject_id": subject, "system": "loyalty", "purpose": "loyalty"} for subject in subjects]
        queries += [{**query, "system": "marketing", "purpose": "marketing", "channel": "sms"} for query in queries]
        async with httpx.AsyncClient(timeout=10, headers=headers) as client:
            answers = [
                {(await client.get(f"{url}/v1/checks", params=query)).text for url in self.urls} for query in queries
            ]
        return sum(1 for answer in answers if len(answer) > 1)


async def replay_mismatches(kafka: KafkaAccess, projector_store: str, fresh_store: str) -> int:
    """Rows of the live read model that differ from a replay of the whole topic into the empty `fresh_store`."""
    fresh, live = ProjectionStore(fresh_store), ProjectionStore(projector_store)
    try:
        await replay(fresh, kafka, EVENTS, lambda _: None)
        return len(differences(live.dump(), fresh.dump(), limit=1_000_000))
    finally:
        fresh.close()
        live.close()
