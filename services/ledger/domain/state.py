"""A data subject's state, the guards every rule uses, and how a rule records an event."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, Self
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.ledger.domain import events as e
from services.ledger.domain.calendar import kazakh_day
from services.ledger.domain.errors import InvalidCommandError, RuleViolationError
from services.ledger.domain.terms import ConsentTerms
from services.ledger.domain.vocabulary import Channel, ConsentStatus, DataCategory

ONE_MICROSECOND = timedelta(microseconds=1)


class WorkingDays(Protocol):
    """The calendar the rules count working days on (KazakhCalendar in production)."""

    def add_working_days(self, start: date, count: int) -> date: ...


@dataclass(frozen=True)
class Context:
    """Who asks, when, and under which command id; `now` is when the ledger records it."""

    command_id: str
    actor: str
    now: datetime
    occurred_at: datetime | None = None  # when it happened in the world; defaults to now
    correlation_id: str | None = None
    causation_id: str | None = None
    command_digest: str | None = None  # SHA-256 of the command's content, to tell a repeat from a reuse


def days_late(ctx: Context, day: date, name: str) -> int:
    """Days from the paper date `name` (= `day`) to the day in Kazakhstan the ledger records it; never negative."""
    late = (kazakh_day(ctx.now) - day).days
    if late < 0:
        raise InvalidCommandError(name, "must not lie after today in Kazakhstan")
    return late


SNAPSHOT_FORM = 1  # the layout of `SubjectState.snapshot_state`; a change of it needs a new form


@dataclass(frozen=True)
class RecordedCommand:
    """What the store knows of one command on one subject: the events it recorded and its digest."""

    event_ids: tuple[str, ...]
    digest: str | None


def repeat_of(command_id: str, digest: str | None, recorded: RecordedCommand | None) -> list[str] | None:
    """The event ids of the first outcome if `recorded` (the command id's record, if any) makes this a repeat.

    None if the command id never recorded anything; a reuse (another non-empty `digest`) is refused.
    """
    if recorded is None:
        return None
    if digest and recorded.digest and digest != recorded.digest:
        raise RuleViolationError("command_id_reused", f"command id {command_id!r} was used for another command")
    return list(recorded.event_ids)


@dataclass
class _Blank:
    """Initial state of a subject the ledger has never recorded anything about."""

    consent_status: ConsentStatus = ConsentStatus.NONE
    consent_id: str | None = None
    consent_given_on: date | None = None  # the day (in Kazakhstan) the consent in force was given
    terms_payload: dict[str, Any] | None = None  # of the consent last given; SubjectState.terms reads it
    pending_withdrawal: tuple[str, date] | None = None  # (request event id, effective_on)
    opted_out: set[Channel] = field(default_factory=set)
    blocks: dict[DataCategory, str] = field(default_factory=dict)  # category -> blocking event id
    erased_by: str | None = None
    cards: dict[str, str | None] = field(default_factory=dict)  # card ref -> blocking event id or None
    open_requests: dict[str, date] = field(default_factory=dict)  # request id -> due on
    enforcements: set[tuple[str, str]] = field(default_factory=set)
    last_hash: str | None = None


class SubjectState(Aggregate):
    """What the ledger knows about one subject, folded from its events; its id is an opaque UUID."""

    consent_status: ConsentStatus
    consent_id: str | None
    consent_given_on: date | None
    terms_payload: dict[str, Any] | None
    pending_withdrawal: tuple[str, date] | None
    opted_out: set[Channel]
    blocks: dict[DataCategory, str]
    erased_by: str | None
    cards: dict[str, str | None]
    open_requests: dict[str, date]
    enforcements: set[tuple[str, str]]
    last_hash: str | None

    @classmethod
    def blank(cls, subject_id: UUID, timestamp: datetime) -> Self:
        """A subject with no history yet (version 0); its first command records its first event."""
        subject = cls.__new__(cls)
        subject.__base_init__(subject_id, 0, timestamp)
        subject.__dict__.update(vars(_Blank()))
        return subject

    def outcome_of(
        self, command_id: str, digest: str | None = None, stored: RecordedCommand | None = None
    ) -> list[str] | None:
        """Event ids a command recorded earlier, or None if it was never applied.

        `stored` is what the event store recorded for this command id on this subject (the ledger
        looks it up: the subject does not keep every past command); commands recorded since the
        subject was loaded are among its pending events. A command id reused for a different
        command (another `digest`) is refused: answering it as a repeat would silently drop the new command.
        """
        return repeat_of(command_id, digest, self._recorded_since_load(command_id) or stored)

    def _recorded_since_load(self, command_id: str) -> RecordedCommand | None:
        mine = [event for event in self.pending_events if getattr(event, "command_id", None) == command_id]
        if not mine:
            return None
        digests = [d for event in mine if (d := getattr(event, "command_digest", None))]
        ids = tuple(str(e.event_id_of(self.id, event.originator_version)) for event in mine)
        return RecordedCommand(ids, digests[-1] if digests else None)

    def has_recorded(self, event_id: str) -> bool:
        """True if `event_id` is one of this subject's events.

        Event ids are derived from the subject and the version (`event_id_of`), so this needs no
        list of them: the versions are tried newest first, as the ids asked about are mostly recent.
        """
        try:
            wanted = UUID(event_id)
        except ValueError:
            return False
        return any(e.event_id_of(self.id, v) == wanted for v in range(self.version, 0, -1))

    @property
    def terms(self) -> ConsentTerms | None:
        """The terms of the consent last given, read from its event's payload the first time a rule asks.

        A load folds many grants a rule never looks at again; reading each into ConsentTerms was a tenth of a grant.
        """
        payload = self.terms_payload
        if payload is None:
            return None
        read: tuple[dict[str, Any], ConsentTerms] | None = self.__dict__.get("_terms_read")
        if read is None or read[0] is not payload:  # a later grant brought other terms
            read = self.__dict__["_terms_read"] = (payload, ConsentTerms.from_payload(payload))
        return read[1]

    # --- snapshots ----------------------------------------------------------------------------

    def snapshot_state(self) -> dict[str, Any]:
        """The decision state in JSON values, for a snapshot; the inverse of `restore`.

        It holds what the events hold in clear (ids, dates, terms without personal data), never `pii`.
        """
        withdrawal = self.pending_withdrawal
        return {
            "form": SNAPSHOT_FORM,
            "created_on": self.created_on.isoformat(),
            "modified_on": self.modified_on.isoformat(),
            "consent_status": self.consent_status.value,
            "consent_id": self.consent_id,
            "consent_given_on": self.consent_given_on.isoformat() if self.consent_given_on else None,
            "terms": self.terms_payload,
            "pending_withdrawal": [withdrawal[0], withdrawal[1].isoformat()] if withdrawal else None,
            "opted_out": sorted(c.value for c in self.opted_out),
            "blocks": {c.value: event_id for c, event_id in self.blocks.items()},
            "erased_by": self.erased_by,
            "cards": dict(self.cards),
            "open_requests": {r: due.isoformat() for r, due in self.open_requests.items()},
            "enforcements": sorted([system, event_id] for system, event_id in self.enforcements),
            "last_hash": self.last_hash,
        }

    @classmethod
    def restore(cls, subject_id: UUID, version: int, state: dict[str, Any]) -> Self:
        """The subject at `version` from its `snapshot_state`."""
        if state.get("form") != SNAPSHOT_FORM:
            raise ValueError(f"a snapshot of form {state.get('form')!r}; this ledger reads form {SNAPSHOT_FORM}")
        subject = cls.blank(subject_id, datetime.fromisoformat(state["created_on"]))
        subject.version = version
        subject.modified_on = datetime.fromisoformat(state["modified_on"])
        given_on, withdrawal = state["consent_given_on"], state["pending_withdrawal"]
        subject.__dict__.update(
            consent_status=ConsentStatus(state["consent_status"]),
            consent_id=state["consent_id"],
            consent_given_on=date.fromisoformat(given_on) if given_on else None,
            terms_payload=state["terms"],
            pending_withdrawal=(withdrawal[0], date.fromisoformat(withdrawal[1])) if withdrawal else None,
            opted_out={Channel(c) for c in state["opted_out"]},
            blocks={DataCategory(c): event_id for c, event_id in state["blocks"].items()},
            erased_by=state["erased_by"],
            cards=dict(state["cards"]),
            open_requests={r: date.fromisoformat(due) for r, due in state["open_requests"].items()},
            enforcements={(system, event_id) for system, event_id in state["enforcements"]},
            last_hash=state["last_hash"],
        )
        return subject

    # --- guards -------------------------------------------------------------------------------

    def check_not_erased(self) -> None:
        if self.erased_by is not None:
            raise RuleViolationError("subject_erased", f"the subject's data was erased (event {self.erased_by})")

    def check_consent_active(self, *, allow_pending: bool = False) -> ConsentTerms:
        allowed = {ConsentStatus.ACTIVE} | ({ConsentStatus.WITHDRAWAL_PENDING} if allow_pending else set())
        if self.consent_status not in allowed or self.terms is None:
            state = self.consent_status.value.replace("_", " ")
            raise RuleViolationError(f"consent_{self.consent_status.value}", f"not allowed while consent is {state}")
        return self.terms

    def check_not_blocked(self, categories: Iterable[DataCategory]) -> None:
        blocked = sorted(c.value for c in categories if c in self.blocks)
        if blocked:
            events = ", ".join(self.blocks[DataCategory(c)] for c in blocked)
            raise RuleViolationError("data_blocked", f"blocked categories: {', '.join(blocked)} (events {events})")

    # --- recording ----------------------------------------------------------------------------

    def _record(self, event_class: type[e.SubjectEvent], ctx: Context, pii: str | None = None, **fields: Any) -> str:
        # A subject's events are recorded in strictly increasing time, even when ledger instances' clocks
        # disagree a little: so "the history as of T" is always a prefix of the subject's events.
        recorded = ctx.now if self.version == 0 else max(ctx.now, self.modified_on + ONE_MICROSECOND)
        self.trigger_event(
            event_class,
            timestamp=recorded,
            command_id=ctx.command_id,
            actor=ctx.actor,
            occurred_at=(ctx.occurred_at or ctx.now).isoformat(),
            correlation_id=ctx.correlation_id,
            causation_id=ctx.causation_id,
            command_digest=ctx.command_digest,
            pii=pii,
            prev_hash=None,
            hash=None,
            **fields,
        )
        return str(e.event_id_of(self.id, self.version))
