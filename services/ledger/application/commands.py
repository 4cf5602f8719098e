"""Runs a command of the public contract: opened, its dates checked, decided once per command id.

The one way in for every sender of a command: the HTTP API, the Kafka command consumer and the
scheduler call `Commands.handle`, which looks the command up in the registry and runs its use case
through `Ledger.execute`, where a repeat is told from a new command (idempotency); the access-report
answer passes its own decision to the same `Ledger.execute`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Set
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from schemas import commands as c
from schemas.envelope import canonical_bytes
from services.ledger.adapters.pii.sealing import SealingKey, opened
from services.ledger.application.identity import SubjectIds
from services.ledger.application.ledger import Ledger, Outcome
from services.ledger.application.registry import REGISTRY
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
        spec = REGISTRY.of(command)
        command = opened(command, subject_id, self.sealing_key)
        check_dates(command, now, kazakh_day(now), late_entry=LATE_ENTRY_SCOPE in scopes)
        ctx = Context(
            command_id=command.command_id,
            actor=actor,
            now=now,
            occurred_at=command.occurred_at,
            correlation_id=command.correlation_id,
            causation_id=command.causation_id,
            command_digest=digest(command),
        )
        try:
            return self.ledger.execute(subject_id, ctx, lambda subject: spec.decide(self, command, subject, ctx))
        finally:
            if spec.settle is not None:
                spec.settle(self, subject_id)


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
