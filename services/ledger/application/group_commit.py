"""Commands of concurrent callers written in shared commits: a small queue in front of `Commands.handle_many`.

The HTTP API's command routes submit each request's command here and wait for that command's own
result. One writer takes whatever is queued, at most MAX_GROUP commands and without waiting for
more (a lone command is written at once), and runs `Commands.handle_many` in a worker thread: one
transaction, one lock of the events table, one commit for the group. Each caller then gets exactly
what `Commands.handle` would have given it: its Outcome, or its refusal raised. A refusal refuses only
its own command; two commands of one subject in a group are decided in the order they were submitted;
a repeat or a reused command id is told as ever. A group that fails as a whole because the store is away
answers each of its callers with that error; any other failure writes each of its commands again
alone, so each caller gets the answer its own command earns (docs/decisions/0016-http-group-commit.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from services.ledger.adapters.store import STORE_AWAY
from services.ledger.application.batch import Result
from services.ledger.application.commands import Commands, Submitted
from services.ledger.application.ledger import Outcome

log = logging.getLogger(__name__)

MAX_GROUP = 64  # commands in one commit at most: a group's latency is every one of its callers' latency


class WriterStoppedError(Exception):
    """The writer stopped (the service is shutting down) before this command's answer was known; send it again."""


@dataclass(frozen=True)
class _Waiting:
    """A submitted command and the future its caller awaits."""

    submitted: Submitted
    answer: asyncio.Future[Result]


class GroupCommit:
    """The queue and its one writer: `run` writes groups until stopped, `submit` queues a command and awaits its result.

    Without a running writer (before `run`, after it stopped, or from another event loop) `submit`
    writes its command alone, as one group of one.
    """

    def __init__(self, commands: Commands, *, max_group: int = MAX_GROUP) -> None:
        self._commands = commands
        self._max_group = max_group
        self._queue: deque[_Waiting] = deque()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None  # the writer's, while it takes new commands

    @property
    def taking(self) -> bool:
        """Whether a writer runs and takes new commands into its queue."""
        return self._loop is not None

    async def submit(self, submitted: Submitted) -> Outcome:
        """Write the command with whatever else is queued; its Outcome, or its refusal (or the group's error) raised."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            result = (await asyncio.to_thread(self.write, [submitted]))[0]
        else:
            waiting = _Waiting(submitted, loop.create_future())
            self._queue.append(waiting)
            self._wake.set()
            result = await waiting.answer
        if isinstance(result, Exception):
            raise result
        return result

    async def run(self, stop: asyncio.Event) -> None:
        """Write what is submitted, group after group, until `stop`; commands queued by then are still written.

        Cancelled (a shutdown that ran out of time), every caller still waiting is answered WriterStoppedError.
        """
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        closing = asyncio.create_task(self._close_on(stop), name="group-commit-stop")
        try:
            while self.taking or self._queue:
                if not self._queue:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                group = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_group))]
                await self._write(group)
        finally:
            self._loop = None
            closing.cancel()
            while self._queue:
                _answer(self._queue.popleft(), WriterStoppedError("the ledger stopped before writing this command"))

    async def _close_on(self, stop: asyncio.Event) -> None:
        """Once `stop` is set, take no new commands into the queue and wake the writer to drain it."""
        await stop.wait()
        self._loop = None
        self._wake.set()

    async def _write(self, group: Sequence[_Waiting]) -> None:
        """Write one group in a worker thread and answer each of its callers, whatever happens."""
        live = [waiting for waiting in group if not waiting.answer.done()]  # a caller that gave up is not written
        try:
            results = await asyncio.to_thread(self.write, [waiting.submitted for waiting in live])
            for waiting, result in zip(live, results, strict=True):
                _answer(waiting, result)
        finally:
            for waiting in live:  # the writer was cancelled mid-group: nobody is left waiting
                _answer(waiting, WriterStoppedError("the ledger stopped before this command's answer was known"))

    def write(self, group: Sequence[Submitted]) -> list[Result]:
        """The group's results in order: handle_many's, or each command's alone if the group failed (store not away)."""
        try:
            return self._commands.handle_many(group)
        except STORE_AWAY as away:
            return [away] * len(group)
        except Exception as error:  # noqa: BLE001 - a caller's answer: its command alone tells whose fault it was
            if len(group) == 1:
                return [error]
            log.warning("a group of %d commands failed (%s); each is written alone", len(group), type(error).__name__)
            return [self.write([submitted])[0] for submitted in group]


def _answer(waiting: _Waiting, result: Result) -> None:
    """Hand the caller its result, unless it has one already or gave up waiting."""
    if waiting.answer.done():
        return
    if isinstance(result, Exception):
        waiting.answer.set_exception(result)
    else:
        waiting.answer.set_result(result)
