"""What runs beside the ledger's HTTP API: the Kafka command consumer, the relay and the scheduler."""

from __future__ import annotations

import asyncio

from services.ledger.application.scheduler import Scheduler
from services.ledger.bootstrap import LedgerServices
from services.ledger.entrypoints.kafka import run_command_consumer
from services.ledger.entrypoints.relay import Relay
from services.ledger.entrypoints.scheduler import run_periodically


def start_background(wired: LedgerServices, relay: Relay | None, stop: asyncio.Event) -> list[asyncio.Task[object]]:
    """Start what the settings switch on (and `relay`, unless None); each runs until `stop`."""
    settings = wired.settings
    tasks: list[asyncio.Task[object]] = []
    if settings.ledger_consume_commands:
        tasks.append(asyncio.create_task(run_command_consumer(wired, stop), name="command-consumer"))
    if relay is not None:
        tasks.append(asyncio.create_task(relay.run(stop), name="relay"))
    if settings.scheduler_interval_seconds > 0:
        scheduler = Scheduler(wired.commands)
        runs = run_periodically(scheduler, settings.scheduler_interval_seconds, stop, wired.clock)
        tasks.append(asyncio.create_task(runs, name="scheduler"))
    return tasks
