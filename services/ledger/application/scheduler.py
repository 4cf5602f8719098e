"""Deadlines that pass by themselves: withdrawals taking effect and consents expiring.

The scheduler follows the ledger's notification log to know which subjects have a withdrawal
pending (and when it is due) or a consent with an end date. On each run it applies the due ones
with a command id derived from the deciding event, so several instances running at once, or a run
repeated after a crash, record each ConsentWithdrawn / ConsentExpired exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

from eventsourcing.utils import get_topic

from schemas import commands as c
from services.ledger.application.commands import Commands
from services.ledger.domain import events as e
from services.ledger.domain.calendar import kazakh_day
from services.ledger.domain.errors import RuleViolationError

log = logging.getLogger(__name__)

SCHEDULER_ACTOR = "system:scheduler"
PAGE = 1000
_FOLLOWED_TOPICS = tuple(
    get_topic(cls)
    for cls in (
        e.ConsentGranted, e.ConsentWithdrawalRequested, e.ConsentWithdrawalRefused, e.ConsentWithdrawn,
        e.ConsentExpired, e.PersonalDataErased,
    )
)  # fmt: skip


@dataclass
class Deadlines:
    """Per subject: the pending withdrawal (request event id, effective on) and the consent's last day."""

    withdrawals: dict[UUID, tuple[str, date]] = field(default_factory=dict)
    expiries: dict[UUID, tuple[str, date]] = field(default_factory=dict)  # consent event id, valid until

    def follow(self, event: e.SubjectEvent) -> None:
        """Update the deadlines with one recorded event."""
        subject = event.originator_id
        match event:
            case e.ConsentWithdrawalRequested():
                self.withdrawals[subject] = (str(event.event_id), date.fromisoformat(event.effective_on))
            case e.ConsentGranted():
                valid_until = event.terms.get("valid_until")
                if valid_until:
                    self.expiries[subject] = (str(event.event_id), date.fromisoformat(valid_until))
                else:
                    self.expiries.pop(subject, None)
            case e.ConsentWithdrawalRefused():
                self.withdrawals.pop(subject, None)
            case e.ConsentWithdrawn() | e.ConsentExpired() | e.PersonalDataErased():
                self.withdrawals.pop(subject, None)
                self.expiries.pop(subject, None)


class Scheduler:
    """Applies due withdrawals and expiries; call `run` periodically (every instance may)."""

    def __init__(self, commands: Commands) -> None:
        self.commands = commands
        self.ledger = commands.ledger
        self.deadlines = Deadlines()
        self.position = 0  # last notification id followed

    def catch_up(self) -> None:
        """Follow the notification log from where this scheduler stopped."""
        while True:
            notifications = self.ledger.recorder.select_notifications(
                start=self.position + 1, limit=PAGE, topics=_FOLLOWED_TOPICS
            )
            for notification in notifications:
                self.deadlines.follow(self.ledger.mapper.to_domain_event(notification))  # type: ignore[arg-type]
                self.position = notification.id
            if len(notifications) < PAGE:
                return

    def run(self, now: datetime) -> list[str]:
        """Record every withdrawal and expiry due on the Kazakh day of `now`; return the event ids recorded."""
        self.catch_up()
        today = kazakh_day(now)
        recorded: list[str] = []
        for subject, (request_id, effective_on) in list(self.deadlines.withdrawals.items()):
            if effective_on <= today:
                withdrawal = c.CompleteWithdrawal(
                    command_id=f"withdrawal-takes-effect:{request_id}", causation_id=request_id
                )
                recorded += self._apply(subject, withdrawal, now)
        for subject, (consent_id, valid_until) in list(self.deadlines.expiries.items()):
            if valid_until + timedelta(days=1) <= today:
                expiry = c.ExpireConsent(command_id=f"consent-expires:{consent_id}", causation_id=consent_id)
                recorded += self._apply(subject, expiry, now)
        self.catch_up()
        return recorded

    def _apply(self, subject: UUID, command: c.AnyCommand, now: datetime) -> list[str]:
        try:
            outcome = self.commands.handle(subject, command, actor=SCHEDULER_ACTOR, now=now)
        except RuleViolationError as refusal:  # e.g. erased meanwhile: nothing left to do
            log.info("scheduled command refused: %s", refusal.rule)
            return []
        return [] if outcome.replayed else list(outcome.event_ids)
