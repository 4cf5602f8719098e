"""Runs a command of the public contract: opened, its dates checked, decided once per command id.

The one way in for every sender of a command: the scheduler calls `Commands.handle`, which looks the
command up in the registry and runs its use case through `Ledger.execute`, where a repeat is told from a
new command (idempotency); the access-report answer passes its own decision to the same `Ledger.execute`.
The Kafka consumer takes its records in batches and calls `Commands.handle_many`: the same use cases, the
same repeat check (services.ledger.application.batch), and all the batch's subjects saved in one
transaction. The HTTP API's command routes call it too, through services.ledger.application.group_commit:
the requests that arrive together share one commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from schemas import commands as c
from schemas.envelope import canonical_bytes
from services.ledger.adapters.pii.sealing import SealingKey, opened
from services.ledger.application.batch import REFUSALS, Result, Step, execute_many
from services.ledger.application.identity import SubjectIds
from services.ledger.application.ledger import Ledger, Outcome
from services.ledger.application.registry import REGISTRY, CommandSpec
from services.ledger.domain.calendar import kazakh_day
from services.ledger.domain.errors import InvalidCommandError
from services.ledger.domain.state import Context
from services.ledger.domain.terms import Controller


@dataclass(frozen=True)
class Commands:
    """Runs commands on the ledger with the controller, identity secret and sealing key from configuration."""

    ledger: Ledger
    controller: Controller
    subject_ids: SubjectIds
    sealing_key: SealingKey | None = None  # None: sealed personal data is refused (sealed_data_unreadable)

    def handle(
        self,
        subject_id: UUID,
        command: c.AnyCommand,
        *,
        actor: str,
        now: datetime,
        scopes: Set[str] = frozenset(),
    ) -> Outcome:
        """Apply `command` to the subject as `actor` (with token `scopes`, none on Kafka) at `now`; raises refusals.

        Sealed personal data is opened first (SealedDataError when it cannot be), so the rules, the
        digest and the encryption under the subject's key see exactly what a command in clear gives.
        """
        spec, step = self._step(Submitted(subject_id, command, actor, now, frozenset(scopes)))
        try:
            return self.ledger.execute(step.subject_id, step.ctx, step.decide)
        finally:
            if spec.settle is not None:
                spec.settle(self, subject_id)

    def handle_many(self, batch: Sequence[Submitted]) -> list[Result]:
        """Apply many commands as `handle` applies one, saved together; per command its outcome or its refusal.

        A command refused (one of batch.REFUSALS) refuses only itself; anything else is raised, and then
        nothing of the batch was saved (unless it had fallen back to writing its commands one by one).
        """
        prepared: list[tuple[CommandSpec[Any], Step] | Exception] = []
        for submitted in batch:
            try:
                prepared.append(self._step(submitted))
            except REFUSALS as refusal:
                prepared.append(refusal)
        ready = [entry for entry in prepared if not isinstance(entry, Exception)]
        try:
            done = iter(execute_many(self.ledger, [step for _, step in ready]))
            return [entry if isinstance(entry, Exception) else next(done) for entry in prepared]
        finally:
            settles = dict.fromkeys((step.subject_id, spec.settle) for spec, step in ready if spec.settle)
            for subject_id, settle in settles:
                if settle is not None:
                    settle(self, subject_id)

    def _step(self, submitted: Submitted) -> tuple[CommandSpec[Any], Step]:
        """The command's entry and its step: opened, its dates checked, its Context with the command's digest."""
        subject_id, command, now = submitted.subject_id, submitted.command, submitted.now
        spec = REGISTRY.of(command)
        command = opened(command, subject_id, self.sealing_key)
        check_dates(command, now, kazakh_day(now), late_entry=LATE_ENTRY_SCOPE in submitted.scopes)
        ctx = Context(
            command_id=command.command_id,
            actor=submitted.actor,
            now=now,
            occurred_at=command.occurred_at,
            correlation_id=command.correlation_id,
            causation_id=command.causation_id,
            command_digest=digest(command),
        )
        opened_command = command
        return spec, Step(subject_id, ctx, lambda subject: spec.decide(self, opened_command, subject, ctx))


@dataclass(frozen=True)
class Submitted:
    """A command to apply, as `Commands.handle` takes one: its subject, who sends it, when, with which scopes."""

    subject_id: UUID
    command: c.AnyCommand
    actor: str
    now: datetime
    scopes: frozenset[str] = frozenset()


BACKDATING = timedelta(days=30)  # how far back a channel may date a paper application or request
LATE_ENTRY_SCOPE = "dpo"  # whose token may enter one later than that (DAY's 2000-01-01 still bounds it)


def digest(command: c.Command) -> str:
    """SHA-256 of what the command asks (not who sent it or when): a repeat has the same digest.

    Taken once sealed fields are opened: the empty sealed twins are left out, so a command sealed
    (each sealing differs) and the same command in clear have one digest, the one it had before sealing existed.
    """
    content = command.model_dump(mode="json", exclude={"actor", "occurred_at", "correlation_id", "causation_id"})
    return hashlib.sha256(canonical_bytes(_without_empty_seals(content))).hexdigest()


def _without_empty_seals(content: dict[str, Any]) -> dict[str, Any]:
    return {
        name: _without_empty_seals(value) if isinstance(value, dict) else value
        for name, value in content.items()
        if not (name.startswith("sealed_") and value is None)
    }


def check_dates(command: c.Command, now: datetime, today: date, *, late_entry: bool = False) -> None:
    """Dates a sender gives must be plausible: nothing filed, received or answered in the future, or long ago.

    A paper date (`filed_on`, `received_on`, `answered_on`) lies at most BACKDATING before today;
    with `late_entry` (a token with the dpo scope, over HTTP only) any earlier day the contract's DAY
    allows: a written application entered late, or an import of existing consents and requests. The
    event then says how late it was entered (`entered_late_by_days`).
    """
    if command.occurred_at is not None and not (
        now - timedelta(days=366) <= command.occurred_at <= now + timedelta(hours=1)
    ):
        raise InvalidCommandError("occurred_at", "must lie within the last year and not in the future")
    for name in ("filed_on", "received_on", "answered_on"):
        day: date | None = getattr(command, name, None)
        if day is None:
            continue
        if day > today:
            raise InvalidCommandError(name, f"must not lie after today ({today})")
        if day < today - BACKDATING and not late_entry:
            raise InvalidCommandError(
                name,
                f"must lie between {today - BACKDATING} and today ({today}); "
                f"an earlier day is entered by a token with the {LATE_ENTRY_SCOPE} scope",
            )
