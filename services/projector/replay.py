"""Rebuild the read models from offset 0 of consent.events.v1 into a fresh store, and compare with the live one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anyio import to_thread

from schemas.events import parse_envelope
from services.platform.collector import collector_held
from services.platform.kafka import KafkaAccess
from services.platform.reading import Batch, read_to_end
from services.projector.store import Consumed, ProjectionStore


async def replay(store: ProjectionStore, kafka: KafkaAccess, topic: str, progress: Callable[[int], None]) -> int:
    """Fold every committed event of `topic` into `store` (which should be empty); return how many."""

    async def apply(batch: Batch) -> None:
        with collector_held():  # the batch's objects die with it, none in a cycle (services.platform.collector)
            consumed = [Consumed(r.partition, r.offset, parse_envelope(r.value)) for r in batch]
            await to_thread.run_sync(store.apply, topic, consumed)
            consumed.clear()  # the worker thread holds its arguments until its next task: the batch dies here
        progress(len(batch))

    return await read_to_end(kafka, topic, apply)


def differences(live: dict[str, list[Any]], rebuilt: dict[str, list[Any]], limit: int = 20) -> list[str]:
    """Rows that differ between two dumps of the read models, first ones first (empty when equal)."""
    found: list[str] = []
    for table in sorted(live.keys() | rebuilt.keys()):
        ours, theirs = live.get(table, []), rebuilt.get(table, [])
        if len(ours) != len(theirs):
            found.append(f"{table}: {len(ours)} rows live, {len(theirs)} rebuilt")
        found += [
            f"{table}: live {a[0]} differs from the rebuilt row" for a, b in zip(ours, theirs, strict=False) if a != b
        ]
    return found[:limit]
