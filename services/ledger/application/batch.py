"""Many commands decided together and saved in one transaction: how the Kafka consumer writes.

`execute_many` takes steps (subject id, Context, decision) of one subject or many, in the order given.
Each subject is loaded once and its commands run in order, a later one seeing what an earlier one
recorded; a repeat or a reused command id is told exactly as `Ledger.execute` tells it (the
subject's `outcome_of`, on what the store recorded for the batch's command ids, read in one query).
A refused command refuses only itself: its subject is put back as it was
before that command. Then every changed subject is sealed into its hash chain and saved, with the
keys made for new subjects, by one `save(*subjects, keys=...)`: one transaction, one lock of the
events table, one commit. A concurrent write to one of the subjects, or a key another writer stored
first (both an IntegrityError), voids the attempt: the batch is decided again on fresh state,
and after BATCH_RETRIES each command goes through `Ledger.execute` alone
(docs/decisions/0014-batched-command-writes.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from services.ledger.adapters.pii.cipher import NewKeys
from services.ledger.adapters.pii.keys import SubjectErasedError
from services.ledger.application.ledger import Ledger, Outcome, Recorded, on_conflict
from services.ledger.domain.errors import RuleViolationError
from services.ledger.domain.events import SubjectEvent, event_id_of
from services.ledger.domain.state import Context, repeat_of
from services.ledger.domain.subject import DataSubject

log = logging.getLogger(__name__)

# What refuses one command and no other (InvalidCommandError and SealedDataError are ValueErrors).
REFUSALS: tuple[type[Exception], ...] = (RuleViolationError, SubjectErasedError, ValueError, OverflowError)
BATCH_RETRIES = 3  # then every command of the batch is written alone, with Ledger.execute's own retries

Result = Outcome | Exception  # what a command recorded (or repeated), or why it was refused (one of REFUSALS)


@dataclass(frozen=True)
class Step:
    """One command of a batch: its subject, its Context and the decision to run on the subject."""

    subject_id: UUID
    ctx: Context
    decide: Callable[[DataSubject], object]


@dataclass
class _Loaded:
    """A subject of the batch as the batch has changed it so far, and its version in the store when loaded."""

    subject: DataSubject
    base: int

    def put_back(self, ledger: Ledger, version: int, now: datetime) -> None:
        """The subject as it was at `version`: as stored at `base`, with the batch's earlier events again."""
        kept = cast("list[SubjectEvent]", self.subject.pending_events[: version - self.base])
        subject_id = self.subject.id
        subject = ledger.repository.get(subject_id, version=self.base) if self.base else None
        restored = cast("DataSubject", subject) if subject is not None else DataSubject.blank(subject_id, now)
        for event in kept:
            restored = event.mutate(restored)
            restored.pending_events.append(event)
        self.subject = restored


def execute_many(ledger: Ledger, steps: Sequence[Step]) -> list[Result]:
    """Decide every step in order and save every changed subject at once; one result per step, in order.

    A refusal is returned in its step's place; anything else (the store away, a bug) is raised and
    nothing of the batch was saved, unless the batch had fallen back to writing its commands alone.
    """
    try:
        for attempt in on_conflict(BATCH_RETRIES):
            with attempt:
                return _attempt(ledger, steps)
    except IntegrityError as error:
        log.info("a batch of %d met other writers %d times (%s); its commands are written one by one",
                 len(steps), BATCH_RETRIES, type(error).__name__)  # fmt: skip
    return [_alone(ledger, step) for step in steps]


def _attempt(ledger: Ledger, steps: Sequence[Step]) -> list[Result]:
    """One try: decide everything on the state as stored now, then save the subjects with their new keys."""
    loaded: dict[UUID, _Loaded] = {}
    new_keys = NewKeys()
    ledger.cipher.prefetch({str(step.subject_id) for step in steps}, new_keys)  # one read for every subject's key
    recorded = ledger.recorded((step.subject_id, step.ctx.command_id) for step in steps)  # one read for repeats
    deciding = [step.subject_id for step in steps if (step.subject_id, step.ctx.command_id) not in recorded]
    if deciding:  # two reads for every subject the batch decides on
        for subject_id, subject in ledger.load_many(deciding, steps[0].ctx.now).items():
            loaded[subject_id] = _Loaded(subject, subject.version)
    with ledger.making_keys(new_keys):
        results = [_decide(ledger, loaded, recorded, step) for step in steps]
    changed = {entry.subject.id: entry.subject for entry in loaded.values() if entry.subject.pending_events}
    # The new keys are written in the events' transaction: no event without its key, no key without its events.
    kept = NewKeys({s: key for s, key in new_keys.items() if UUID(s) in changed})
    if changed:
        ledger.save(*changed.values(), keys=ledger.cipher.wrapped(kept))
        ledger.cipher.remember_new_keys(kept)
    return results


def _decide(ledger: Ledger, loaded: dict[UUID, _Loaded], recorded: Recorded, step: Step) -> Result:
    """Run one step on its subject as the batch has left it; a refusal puts the subject back as it was."""
    entry = loaded.get(step.subject_id)
    stored = recorded.get((step.subject_id, step.ctx.command_id))
    if entry is None:  # _attempt loaded every subject but those whose command is a repeat of a stored one
        assert stored is not None  # noqa: S101 - see above
        try:
            return Outcome(step.subject_id, repeat_of(step.ctx.command_id, step.ctx.command_digest, stored) or [], True)
        except REFUSALS as refusal:
            return refusal
    subject = entry.subject
    version = subject.version
    try:
        prior = subject.outcome_of(step.ctx.command_id, step.ctx.command_digest, stored)
        if prior is not None:
            return Outcome(step.subject_id, list(prior), replayed=True)
        step.decide(subject)
    except REFUSALS as refusal:
        if entry.subject.version != version:  # it recorded something before it was refused
            entry.put_back(ledger, version, step.ctx.now)
        return refusal
    new = range(version + 1, subject.version + 1)
    return Outcome(step.subject_id, [str(event_id_of(step.subject_id, v)) for v in new])


def _alone(ledger: Ledger, step: Step) -> Result:
    """The step written by itself, as `Ledger.execute` writes a command."""
    try:
        return ledger.execute(step.subject_id, step.ctx, step.decide)
    except REFUSALS as refusal:
        return refusal
