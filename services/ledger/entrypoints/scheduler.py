"""Runs the scheduler every few seconds beside the HTTP API (CONSENT_SCHEDULER_INTERVAL_SECONDS)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from anyio import to_thread

from services.ledger.application.scheduler import Scheduler
from services.platform.tasks import pause

log = logging.getLogger(__name__)


async def run_periodically(
    scheduler: Scheduler, interval: float, stop: asyncio.Event, clock: Callable[[], datetime]
) -> None:
    """Run the scheduler every `interval` seconds until `stop`; a failed run is logged and tried again."""
    while not stop.is_set():
        try:
            recorded = await to_thread.run_sync(scheduler.run, clock())
            if recorded:
                log.info("scheduler recorded %d event(s)", len(recorded))
        except Exception:
            log.exception("scheduler run failed; trying again in %.0f s", interval)
        await pause(stop, interval)
