"""Background work that stops when asked: waiting, and starting a Kafka client once the broker answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker

from services.platform.kafka import KafkaAccess
from services.platform.topics import TopicSpec, ensure_topics

log = logging.getLogger(__name__)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def start_when_reachable(
    broker: KafkaBroker, kafka: KafkaAccess, topics: Sequence[TopicSpec], stop: asyncio.Event, meanwhile: str
) -> bool:
    """Create `topics` if missing and start `broker`, retrying every 5 s until Kafka answers; False if stopped first.

    `meanwhile` says what still works while Kafka is away (it goes into the warning).
    """
    while not stop.is_set():
        try:
            await ensure_topics(kafka, topics)
            await broker.start()
            return True
        except (KafkaError, OSError) as error:
            log.warning("Kafka at %s not reachable (%s); %s", kafka.bootstrap_servers, error, meanwhile)
            await broker.stop()
            await pause(stop, 5)
    return False


async def stop_tasks(tasks: Sequence[asyncio.Task[object]], stop: asyncio.Event, grace: float = 5.0) -> None:
    """Set `stop`, give `tasks` `grace` seconds to finish, then cancel what is left: a shutdown never hangs."""
    stop.set()
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        log.warning("%s did not stop within %.0f s; cancelled", task.get_name(), grace)
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=grace)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("%s ended with an error", task.get_name(), exc_info=task.exception())
