"""HTTP commands written in shared commits (application.group_commit), on a SQLite ledger.

Concurrent callers share one save; each gets its own outcome or its own refusal; a lone caller is
written at once; nobody is left waiting when the group fails or the writer stops.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from schemas import commands as c
from services.ledger.application.batch import Result
from services.ledger.application.commands import Commands, Submitted
from services.ledger.application.contract import to_envelope
from services.ledger.application.group_commit import GroupCommit, WriterStoppedError
from services.ledger.application.ledger import Outcome
from services.ledger.domain.errors import RuleViolationError
from services.platform.database import StoreUnavailableError
from tests.ledger.acts import ScenarioLedger
from tests.ledger.conftest import at, make_ledger, new_subject
from tests.ledger.test_http_api import grant_body

NOW = at("2026-05-04")


class Spy:
    """The ledger's Commands, counting the groups handed to `handle_many`; `hold` keeps the next group waiting."""

    def __init__(self, commands: Commands, fail: Callable[[Sequence[Submitted]], None] = lambda group: None) -> None:
        self.commands, self.fail = commands, fail
        self.groups: list[int] = []
        self.hold: threading.Event | None = None
        self.writing, self.written = threading.Event(), threading.Event()

    def handle_many(self, batch: Sequence[Submitted]) -> list[Result]:
        self.groups.append(len(batch))
        self.writing.set()
        try:
            if self.hold is not None:
                hold, self.hold = self.hold, None
                assert hold.wait(30), "the test never let the group go"
            self.fail(batch)
            return self.commands.handle_many(batch)
        finally:
            self.written.set()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[ScenarioLedger]:
    app = make_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield app
    app.close()


@pytest.fixture
def spy(ledger: ScenarioLedger) -> Spy:
    return Spy(ledger.commands())


@pytest.fixture
async def writer(spy: Spy) -> AsyncIterator[GroupCommit]:
    """A group commit over the spy with its writer running; stopped (and awaited) after the test."""
    group = GroupCommit(spy)  # type: ignore[arg-type]  # the spy stands in for Commands
    stop = asyncio.Event()
    task = asyncio.create_task(group.run(stop))
    await asyncio.sleep(0)  # the writer takes commands from here on
    yield group
    stop.set()
    await asyncio.wait_for(task, 30)


def grant(command_id: str, subject: UUID | None = None) -> Submitted:
    return Submitted(subject or new_subject(), c.GrantConsent.model_validate(grant_body(command_id)), "tablet", NOW)


def opt_in(command_id: str, subject: UUID) -> Submitted:
    return Submitted(subject, c.OptInToMarketing(command_id=command_id, channels=["sms"]), "tablet", NOW)


def opt_out(command_id: str, subject: UUID) -> Submitted:
    return Submitted(subject, c.OptOutOfMarketing(command_id=command_id, channels=["sms"]), "tablet", NOW)


async def together(group: GroupCommit, commands: Sequence[Submitted]) -> list[Any]:
    """Submit every command at once; each caller's Outcome, or the exception it was answered with."""
    return await asyncio.wait_for(asyncio.gather(*(group.submit(s) for s in commands), return_exceptions=True), 30)


async def until(done: Callable[[], bool]) -> None:
    while not done():
        await asyncio.sleep(0.01)


def kinds(ledger: ScenarioLedger, subject: UUID) -> list[str]:
    return [type(event).__name__ for event in ledger.history(subject)[0]]


async def test_commands_submitted_while_a_group_is_written_share_the_next_commit(
    writer: GroupCommit, spy: Spy, ledger: ScenarioLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    saves: list[int] = []
    save = ledger.save
    monkeypatch.setattr(ledger, "save", lambda *subjects, **kw: saves.append(len(subjects)) or save(*subjects, **kw))
    hold = spy.hold = threading.Event()
    first = asyncio.create_task(writer.submit(grant("g-0")))
    await until(spy.writing.is_set)  # the first group is being written ...
    later = [grant(f"g-{n}") for n in range(1, 6)]
    meanwhile = asyncio.create_task(together(writer, later))  # ... while five more callers arrive
    await asyncio.sleep(0.05)
    hold.set()

    outcomes = [await first, *await meanwhile]

    assert spy.groups == [1, 5]
    assert saves == [1, 5]  # one save (one transaction, one commit) for the five
    assert all(isinstance(outcome, Outcome) and not outcome.replayed for outcome in outcomes)
    assert all(kinds(ledger, s.subject_id) == ["ConsentGranted"] for s in later)
    recorded = [[str(to_envelope(event)["id"]) for event in ledger.history(s.subject_id)[0]] for s in later]
    assert [outcome.event_ids for outcome in outcomes[1:]] == recorded


async def test_a_refused_command_refuses_only_itself_and_one_subjects_commands_keep_their_order(
    writer: GroupCommit, spy: Spy, ledger: ScenarioLedger
) -> None:
    subject, stranger = new_subject(), new_subject()

    results = await together(writer, [
        grant("g-1", subject),
        opt_in("in-0", stranger),  # no consent: refused
        opt_out("out-1", subject),  # sees g-1
        opt_in("in-1", subject),  # sees out-1
    ])  # fmt: skip

    assert spy.groups == [4]
    assert [type(result).__name__ for result in results] == ["Outcome", "RuleViolationError", "Outcome", "Outcome"]
    assert isinstance(results[1], RuleViolationError)
    assert results[1].rule == "consent_none"
    assert kinds(ledger, subject) == ["ConsentGranted", "MarketingOptedOut", "MarketingOptedIn"]
    assert kinds(ledger, stranger) == []


async def test_a_repeat_in_the_same_group_is_answered_with_the_first_outcome(writer: GroupCommit, spy: Spy) -> None:
    subject = new_subject()

    first, again = await together(writer, [grant("g-1", subject), grant("g-1", subject)])

    assert spy.groups == [2]
    assert isinstance(first, Outcome)
    assert isinstance(again, Outcome)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.event_ids == first.event_ids


async def test_a_lone_command_is_written_at_once_as_a_group_of_one(writer: GroupCommit, spy: Spy) -> None:
    outcome = await asyncio.wait_for(writer.submit(grant("g-1")), 30)  # nothing else will ever come

    assert isinstance(outcome, Outcome)
    assert spy.groups == [1]


async def test_a_group_that_fails_writes_each_command_alone_and_answers_every_caller(
    ledger: ScenarioLedger,
) -> None:
    def fail_groups(batch: Sequence[Submitted]) -> None:
        if len(batch) > 1:
            raise RuntimeError("a group-wide failure")

    spy = Spy(ledger.commands(), fail_groups)
    subject = new_subject()

    results = await running(spy, lambda group: together(group, [grant("g-1", subject), opt_in("in-1", new_subject())]))

    assert spy.groups == [2, 1, 1]
    assert [type(result).__name__ for result in results] == ["Outcome", "RuleViolationError"]
    assert kinds(ledger, subject) == ["ConsentGranted"]


async def test_the_store_away_answers_every_caller_of_the_group_without_writing_each_again(
    ledger: ScenarioLedger,
) -> None:
    def away(batch: Sequence[Submitted]) -> None:
        raise StoreUnavailableError("the database is restarting")

    spy = Spy(ledger.commands(), away)

    results = await running(spy, lambda group: together(group, [grant("g-1"), grant("g-2"), grant("g-3")]))

    assert spy.groups == [3]
    assert all(isinstance(result, StoreUnavailableError) for result in results)


async def test_commands_queued_when_the_writer_is_told_to_stop_are_still_written(
    spy: Spy, ledger: ScenarioLedger
) -> None:
    group, stop = GroupCommit(spy), asyncio.Event()  # type: ignore[arg-type]
    task = asyncio.create_task(group.run(stop))
    await asyncio.sleep(0)
    hold = spy.hold = threading.Event()
    first = asyncio.create_task(group.submit(grant("g-0")))
    await until(spy.writing.is_set)
    queued = asyncio.create_task(together(group, [grant("g-1"), grant("g-2")]))
    await asyncio.sleep(0.05)
    stop.set()  # the app shuts down while one group is written and two commands wait
    await asyncio.sleep(0.05)
    hold.set()

    results = [await first, *await queued]
    await asyncio.wait_for(task, 30)
    after = await asyncio.wait_for(group.submit(grant("g-3")), 30)  # no writer any more: written alone

    assert all(isinstance(result, Outcome) for result in [*results, after])
    assert spy.groups == [1, 2, 1]


async def test_a_writer_cancelled_mid_group_answers_every_waiting_caller(spy: Spy) -> None:
    group, stop = GroupCommit(spy), asyncio.Event()  # type: ignore[arg-type]
    task = asyncio.create_task(group.run(stop))
    await asyncio.sleep(0)
    hold = spy.hold = threading.Event()
    first = asyncio.create_task(group.submit(grant("g-0")))
    await until(spy.writing.is_set)
    queued = asyncio.create_task(together(group, [grant("g-1"), grant("g-2")]))
    await asyncio.sleep(0.05)

    task.cancel()  # a shutdown that ran out of time
    results = [*await asyncio.gather(first, return_exceptions=True), *await queued]
    hold.set()  # the worker thread finishes the group it had begun
    await until(spy.written.is_set)

    assert all(isinstance(result, WriterStoppedError) for result in results)
    assert task.cancelled()


async def running(spy: Spy, work: Callable[[GroupCommit], Awaitable[list[Any]]]) -> list[Any]:
    """`work` on a group commit over `spy` whose writer runs meanwhile, then is stopped."""
    group, stop = GroupCommit(spy), asyncio.Event()  # type: ignore[arg-type]
    task = asyncio.create_task(group.run(stop))
    await asyncio.sleep(0)
    try:
        return await work(group)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
