"""The ledger application: load the subject, decide, seal the hash chain, save — once per command id.

`execute` is the one place idempotency lives: it takes the subject id, a Context (command id, actor,
time, the command's digest) and the decision to run; a command id seen before returns the first
outcome and records nothing new, a command id reused for another command is refused. The use case
of each command is declared in services.ledger.application.registry and run by `Commands.handle`.
A concurrent write to the same subject is retried on fresh state; after the retries it surfaces as
ConcurrentWriteError (HTTP 409).
Personal data is encrypted under the subject's key before the domain sees it.

What each command recorded is stored with its events (`ledger_commands`, by the store's recorders)
and looked up there; a subject is loaded from its latest snapshot and the events after it
(every SNAPSHOT_INTERVAL events one is taken), so a command costs the same on a long history as on
a short one (docs/decisions/0015-flat-cost-per-command.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from itertools import takewhile
from typing import Any, ClassVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProjectorFunction, project_aggregate
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from schemas.envelope import event_hash
from services.ledger.adapters.pii.cipher import NewKeys, PiiCipher
from services.ledger.adapters.recorders import CommandRow, PostgresCommandRecorder, SqliteCommandRecorder, table_of
from services.ledger.application.contract import to_envelope
from services.ledger.domain.events import SubjectEvent, event_id_of
from services.ledger.domain.state import Context, RecordedCommand, WorkingDays, repeat_of
from services.ledger.domain.subject import DataSubject

log = logging.getLogger(__name__)

SNAPSHOT_INTERVAL = 50  # a snapshot at every 50th version: a load folds 49 events at most
CONFLICT_RETRIES = 10  # with a growing random wait, two busy writers of one subject both get through
# While a batch is decided (services.ledger.application.batch), new subjects' keys are made here, stored with it.
_NEW_KEYS: ContextVar[NewKeys | None] = ContextVar("new_keys", default=None)


class ConcurrentWriteError(Exception):
    """Other writers kept changing the subject while this command was decided; nothing was recorded."""


@dataclass(frozen=True)
class Outcome:
    """What a command recorded: its event ids, and whether this was a repeat of an earlier command."""

    subject_id: UUID
    event_ids: list[str]
    replayed: bool = False


# What was recorded for a command id on a subject, as `Ledger.recorded` answers it.
Recorded = dict[tuple[UUID, str], RecordedCommand]


class Ledger(Application[UUID]):
    """The consent ledger: the event store of every data subject, with its calendar and personal-data cipher."""

    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {DataSubject: SNAPSHOT_INTERVAL}

    def __init__(self, env: Mapping[str, str], *, calendar: WorkingDays, cipher: PiiCipher) -> None:
        super().__init__(env=env)
        if not isinstance(self.recorder, PostgresCommandRecorder | SqliteCommandRecorder):
            raise TypeError("the ledger's event store needs its own recorder (services.ledger.adapters.store)")
        self.commands_recorder: PostgresCommandRecorder | SqliteCommandRecorder = self.recorder
        self.calendar = calendar
        self.cipher = cipher

    # --- mechanics ----------------------------------------------------------------------------

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Seal each subject's new events into its hash chain, then store them and their commands' rows atomically."""
        rows: list[CommandRow] = []
        for obj in objs:
            if isinstance(obj, DataSubject):
                seal(obj)
                rows.extend(command_rows(obj))
        return super().save(*objs, commands=rows, **kwargs)

    def recorded(self, keys: Iterable[tuple[UUID, str]]) -> Recorded:
        """What the store recorded for each (subject, command id) of `keys` that recorded anything: one query."""
        wanted = set(keys)
        rows = self.commands_recorder.select_commands({command_id for _, command_id in wanted})
        found = {(UUID(row.subject_id), row.command_id): RecordedCommand(row.event_ids, row.digest) for row in rows}
        return {key: found[key] for key in wanted if key in found}

    def take_snapshot(
        self, aggregate_id: UUID, version: int | None = None, projector_func: ProjectorFunction[Any, Any] | None = None
    ) -> None:
        """Snapshot the subject at `version`; a snapshot that fails is left out (it only shortens later loads)."""
        try:
            if projector_func is None:
                super().take_snapshot(aggregate_id, version)
            else:
                super().take_snapshot(aggregate_id, version, projector_func)
        except (IntegrityError, OperationalError, InterfaceError) as error:  # the events are saved already
            log.warning("no snapshot of subject %s at version %s: %s", aggregate_id, version, type(error).__name__)

    def load(self, subject_id: UUID, now: datetime) -> DataSubject:
        """The subject as recorded, or a blank one if the ledger knows nothing of it yet."""
        try:
            subject: DataSubject = self.repository.get(subject_id)
        except AggregateNotFoundError:
            subject = DataSubject.blank(subject_id, now)
        return subject

    def load_many(self, subject_ids: Collection[UUID], now: datetime) -> dict[UUID, DataSubject]:
        """Each subject as `load` gives it, read at once: the latest snapshots in one query, the events after in one."""
        recorder, ids = self.commands_recorder, list(dict.fromkeys(subject_ids))
        snapshots = recorder.select_latest(table_of(self.snapshots.recorder), ids) if self.snapshots else {}
        events = recorder.select_after({i: snapshots[i].originator_version if i in snapshots else 0 for i in ids})
        loaded: dict[UUID, DataSubject] = {}
        for subject_id in ids:
            stored = [snapshots[subject_id]] if subject_id in snapshots else []
            stored += events.get(subject_id, [])
            subject = project_aggregate(None, (self.mapper.to_domain_event(event) for event in stored))
            loaded[subject_id] = cast("DataSubject", subject) if subject else DataSubject.blank(subject_id, now)
        return loaded

    def execute(self, subject_id: UUID, ctx: Context, decide: Callable[[DataSubject], object]) -> Outcome:
        """Run `decide` on the subject's current state and save what it recorded, once per command id."""
        retrying = on_conflict(CONFLICT_RETRIES)
        try:
            for attempt in retrying:
                with attempt:
                    key = (subject_id, ctx.command_id)
                    stored = self.recorded([key]).get(key)
                    if stored is not None:  # a repeat (or a reuse, refused): the subject need not be loaded
                        prior = repeat_of(ctx.command_id, ctx.command_digest, stored) or []
                        return Outcome(subject_id, prior, replayed=True)
                    subject = self.load(subject_id, ctx.now)
                    first = subject.version + 1
                    decide(subject)
                    self.save(subject)
                    ids = [str(event_id_of(subject_id, v)) for v in range(first, subject.version + 1)]
                    return Outcome(subject_id, ids)
        except IntegrityError as error:
            raise ConcurrentWriteError(f"subject {subject_id} changed {CONFLICT_RETRIES} times meanwhile") from error
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover

    def encrypt(self, subject: DataSubject, pii: Mapping[str, object] | None) -> str | None:
        """Encrypt personal data under the subject's key; an erased subject is refused first.

        A new subject's key is created in the key store at once, or, while `making_keys`, in that batch's keys.
        """
        if not pii:
            return None
        subject.check_not_erased()
        return self.cipher.encrypt(str(subject.id), pii, new_keys=_NEW_KEYS.get())

    @contextmanager
    def making_keys(self, new_keys: NewKeys) -> Iterator[NewKeys]:
        """Within: keys for subjects that have none are made into `new_keys`, for the caller to store first."""
        token = _NEW_KEYS.set(new_keys)
        try:
            yield new_keys
        finally:
            _NEW_KEYS.reset(token)

    def erased(self, subject_id: UUID) -> bool:
        """Whether the subject's personal data was erased (PersonalDataErased recorded)."""
        try:
            subject: DataSubject = self.repository.get(subject_id)
        except AggregateNotFoundError:
            return False
        return subject.erased_by is not None

    # --- reading ------------------------------------------------------------------------------

    def history(self, subject_id: UUID, as_of: datetime | None = None) -> tuple[list[SubjectEvent], DataSubject | None]:
        """The subject's events recorded up to `as_of` (all if None) and its state as it stood then."""
        stored = cast("list[SubjectEvent]", list(self.repository.event_store.get(subject_id)))
        # A prefix: a subject's events are recorded in increasing time (DataSubject._record).
        events = list(takewhile(lambda event: as_of is None or event.timestamp <= as_of, stored))
        return events, DataSubject.project(None, events)


def command_rows(subject: DataSubject) -> list[CommandRow]:
    """The `ledger_commands` rows of the subject's pending events: one per command id, its events in order."""
    rows: dict[str, CommandRow] = {}
    for event in cast("list[SubjectEvent]", subject.pending_events):
        known = rows.get(event.command_id)
        ids = (*(known.event_ids if known else ()), str(event.event_id))
        digest = event.command_digest or (known.digest if known else None)
        rows[event.command_id] = CommandRow(event.command_id, str(subject.id), digest, ids)
    return list(rows.values())


def on_conflict(attempts: int) -> Retrying:
    """Up to `attempts` tries while other writers change the same subjects (IntegrityError), waits growing at random."""
    return Retrying(
        retry=retry_if_exception_type(IntegrityError),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.01, max=0.2),
        reraise=True,
    )


def seal(subject: DataSubject) -> None:
    """Link the subject's pending events into its hash chain: prev_hash, then hash over the envelope."""
    previous = subject.last_hash
    pending = cast("list[SubjectEvent]", subject.pending_events)
    for index, event in enumerate(pending):
        linked = type(event)(**{**vars(event), "prev_hash": previous})
        previous = event_hash(to_envelope(linked))
        pending[index] = type(event)(**{**vars(linked), "hash": previous})
    subject.last_hash = previous
