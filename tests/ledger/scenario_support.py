"""Given / When / Then helpers for DataSubject scenarios: a synthetic subject, its consent form, fixed times.

Nothing here is real personal data: the subject id is made up and personal data is the opaque stand-in `PII`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from services.ledger.adapters.calendar import KazakhCalendar
from services.ledger.domain import events as e
from services.ledger.domain.errors import RuleViolationError
from services.ledger.domain.state import Context
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.terms import Collection, ConsentTerms, Controller, Notice
from services.ledger.domain.vocabulary import Channel, CollectionMethod, DataCategory, Language, Purpose

EventT = TypeVar("EventT", bound=e.SubjectEvent)

ALMATY = ZoneInfo("Asia/Almaty")
CALENDAR = KazakhCalendar()
SUBJECT_ID = UUID("00000000-0000-4000-8000-00000000a11e")  # synthetic
PII = "pii.v1.test-token"  # stands in for personal data encrypted under the subject's key

CONSULTANT = "consultant:c-017"
SUBJECT = "subject:self"
DPO = "dpo:d-001"
SCHEDULER = "system:withdrawal-scheduler"

CONSENT_GIVEN_ON = date(2026, 5, 4)  # Monday
FRIDAY_22_MAY = date(2026, 5, 22)
MONDAY_8_JUNE = date(2026, 6, 8)  # 10 Kazakh working days after Friday 22 May 2026 (Kurban Ait on 27 May)

FORM_TEXT_SHA256 = "5e" * 32
SCAN_SHA256 = "a7" * 32

CARD = "card-ref-7f3a"  # an opaque card reference, never the card number
GROCERIES_RU = "retail-partner-ru"  # a synthetic recipient in the Russian Federation

TABLET_WITH_SMS = Collection(
    method=CollectionMethod.TABLET_SMS,
    proof={"sms_verification_id": "sms-ver-000123"},
    consultant_id="c-017",
    store_id="store-almaty-01",
)

# The loyalty programme's form (Appendix 1) as a subject signs it on a consultant's tablet.
LOYALTY_FORM = ConsentTerms(
    controller=Controller(name="ESPERANCE-RK LLP", bin="220240037922"),
    notice=Notice(form_id="loyalty-consent", form_version="3", text_sha256=FORM_TEXT_SHA256, language=Language.KK),
    purposes=frozenset(Purpose),
    categories=frozenset(DataCategory),
    collection=TABLET_WITH_SMS,
    marketing_channels=frozenset({Channel.SMS, Channel.EMAIL}),
    third_party_transfer=True,
    cross_border_countries=frozenset({"RU"}),
)


def ctx(command: int | str, *, on: date = FRIDAY_22_MAY, actor: str = SUBJECT) -> Context:
    """A command's context: id `cmd-<command>`, recorded at 10:00 Almaty time on `on`."""
    return Context(command_id=f"cmd-{command}", actor=actor, now=datetime.combine(on, time(10), ALMATY))


def consent_terms(**changes: Any) -> ConsentTerms:
    """The loyalty form with `changes`; sets are accepted where the terms hold frozensets."""
    return replace(LOYALTY_FORM, **{k: frozenset(v) if isinstance(v, set) else v for k, v in changes.items()})


def given_subject() -> DataSubject:
    """A subject the ledger has recorded nothing about."""
    return DataSubject.blank(SUBJECT_ID, datetime.combine(CONSENT_GIVEN_ON, time(9), ALMATY))


def given_consent(**changes: Any) -> DataSubject:
    """A subject who consented on the loyalty form (with `changes`) on Monday 4 May 2026."""
    subject = given_subject()
    subject.grant_consent(ctx("consent", on=CONSENT_GIVEN_ON, actor=CONSULTANT), consent_terms(**changes), PII)
    return subject


def given_withdrawal_pending(**changes: Any) -> DataSubject:
    """A consenting subject who filed a written withdrawal on Friday 22 May 2026 (effective 8 June)."""
    subject = given_consent(**changes)
    subject.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)
    return subject


def given_withdrawn(**changes: Any) -> DataSubject:
    """A subject whose withdrawal took effect on Monday 8 June 2026."""
    subject = given_withdrawal_pending(**changes)
    subject.complete_withdrawal(ctx("withdrawn", on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)
    return subject


def recorded(subject: DataSubject, event_id: str, event_class: type[EventT]) -> EventT:
    """The event a command just recorded: the subject's latest, of `event_class`, with id `event_id`."""
    latest = subject.pending_events[-1]
    if not isinstance(latest, event_class) or str(latest.event_id) != event_id:
        raise AssertionError(f"expected {event_class.__name__} {event_id}, latest is {type(latest).__name__}")
    if latest.originator_version != subject.version:
        raise AssertionError("the command's event is not the subject's latest")
    return latest


def names(events: Iterable[object]) -> list[str]:
    """Event class names, as in the catalogue."""
    return [type(event).__name__ for event in events]


@contextmanager
def refused(subject: DataSubject, rule: str) -> Iterator[pytest.ExceptionInfo[RuleViolationError]]:
    """Expect the command inside to be refused by `rule`, recording nothing; yields the refusal."""
    version = subject.version
    with pytest.raises(RuleViolationError) as refusal:
        yield refusal
    if refusal.value.rule != rule:
        raise AssertionError(f"refused by {refusal.value.rule!r} ({refusal.value.message}), expected {rule!r}")
    if subject.version != version:
        raise AssertionError("a refused command recorded an event")


def replay(events: Iterable[e.SubjectEvent]) -> DataSubject:
    """Fold recorded events into a fresh subject, as the repository does."""
    subject = DataSubject.project(None, events)
    if not isinstance(subject, DataSubject):
        raise AssertionError("no events to replay")
    return subject


def state_of(subject: DataSubject) -> dict[str, Any]:
    """What a rebuild must reproduce."""
    return {
        "version": subject.version,
        "consent_status": subject.consent_status,
        "consent_id": subject.consent_id,
        "terms": subject.terms,
        "pending_withdrawal": subject.pending_withdrawal,
        "opted_out": subject.opted_out,
        "blocks": subject.blocks,
        "erased_by": subject.erased_by,
        "cards": subject.cards,
        "open_requests": subject.open_requests,
        "enforcements": subject.enforcements,
        "last_hash": subject.last_hash,
    }
