"""Synthetic data for the bench: secrets, tokens, commands and a filled ledger. No real personal data anywhere:
subject ids are random, names and phone numbers are made up from a counter."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import orjson
from pydantic import SecretStr

from schemas.kit import sealed_command
from services.ledger.adapters.pii.sealing import SealingKey
from services.ledger.adapters.signing import SigningKey
from services.ledger.application.ledger import Ledger
from services.ledger.bootstrap import LedgerServices, build, new_master_key
from services.ledger.domain.state import Context
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.terms import Collection, ConsentTerms, Controller, Notice
from services.ledger.domain.vocabulary import Channel, CollectionMethod, DataCategory, Language, Purpose
from services.ledger.settings import LedgerSettings

SAVE_BATCH = 500  # subjects per save while filling a ledger
TOKEN = "bench-token-" + "0" * 20  # a bearer token of the bench's own services, never of a real stack
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
SYNTHETIC_TERMS = ConsentTerms(
    controller=Controller("ESPERANCE-RK LLP", "220240037922"),
    notice=Notice("loyalty-consent", "bench", "0" * 64, Language.RU),
    purposes=frozenset({Purpose.LOYALTY, Purpose.MARKETING}),
    categories=frozenset({DataCategory.NAME, DataCategory.CONTACTS}),
    collection=Collection(CollectionMethod.WEB_CHECKBOX, {"checkbox_form_version": "bench"}),
    marketing_channels=frozenset({Channel.SMS, Channel.EMAIL}),
)


@dataclass(frozen=True)
class Secrets:
    """The secrets of one run's ledger, made fresh."""

    master_key: str
    identity_secret: str
    signing_key: SigningKey
    sealing_key: SealingKey

    @classmethod
    def fresh(cls) -> Secrets:
        """New random secrets."""
        identity = base64.urlsafe_b64encode(os.urandom(32)).decode()
        return cls(new_master_key(), identity, SigningKey.generate(), SealingKey.generate())

    def env(self) -> dict[str, str]:
        """As CONSENT_* variables for a ledger process, with the bench's token (every scope)."""
        tokens = {TOKEN: {"name": "bench", "scopes": ["consent:write", "read", "dpo"]}}
        return {
            "CONSENT_LEDGER_MASTER_KEY": self.master_key,
            "CONSENT_LEDGER_IDENTITY_SECRET": self.identity_secret,
            "CONSENT_LEDGER_SIGNING_KEY": self.signing_key.seed_base64(),
            "CONSENT_LEDGER_SEALING_KEY": self.sealing_key.private_base64(),
            "CONSENT_API_TOKENS": orjson.dumps(tokens).decode(),
        }

    def wired(self, store: str, **settings: Any) -> LedgerServices:
        """The ledger wired in this process on `store`, as the ledger's own entry points wire it."""
        return build(
            LedgerSettings(
                ledger_store=store, ledger_master_key=SecretStr(self.master_key),
                ledger_identity_secret=SecretStr(self.identity_secret),
                ledger_sealing_key=SecretStr(self.sealing_key.private_base64()),
                ledger_signing_key=SecretStr(self.signing_key.seed_base64()), **settings,
            )
        )  # fmt: skip


def grant(n: int, subject: UUID | None = None) -> dict[str, Any]:
    """A GrantConsent command with made-up personal data (`n` numbers it); `subject` puts its id in the body."""
    body: dict[str, Any] = {
        "type": "GrantConsent",
        "command_id": f"bench-grant-{n}",
        "form": {"form_id": "loyalty-consent", "form_version": "bench", "text_sha256": "b" * 64, "language": "ru"},
        "purposes": ["loyalty", "marketing"],
        "categories": ["name", "contacts"],
        "marketing_channels": ["sms", "email"],
        "collection": {"method": "web_checkbox", "proof": {"checkbox_form_version": "bench"}},
        "pii": {"name": f"Bench Subject {n:07d}", "phone": f"+7 700 {n % 10_000_000:07d}"},
    }
    if subject is not None:
        body["subject_id"] = str(subject)
    return body


def kafka_grant(n: int, sealing_public: str) -> tuple[UUID, bytes, bytes]:
    """(subject, key, value) of a grant record for consent.commands.v1, its personal data sealed (schemas.kit)."""
    subject = uuid4()
    command = sealed_command(grant(n, subject), sealing_public)
    return subject, str(subject).encode(), orjson.dumps(command)


def marketing(n: int, opt_in: bool) -> dict[str, Any]:
    """An OptOutOfMarketing (or OptInToMarketing) command over SMS."""
    kind = "OptInToMarketing" if opt_in else "OptOutOfMarketing"
    return {"type": kind, "command_id": f"bench-marketing-{n}", "channels": ["sms"]}


def fill(ledger: Ledger, events: int, progress: Any = None) -> list[UUID]:
    """Record `events` synthetic events: subjects that consent, then opt out of SMS; return their ids.

    Saved SAVE_BATCH subjects at a time (one store transaction each): a fill, not a measured path.
    """
    start, subjects = datetime(2026, 5, 4, 5, tzinfo=UTC), []
    for first in range(0, events, SAVE_BATCH * 2):
        batch = []
        for n in range(first, min(events, first + SAVE_BATCH * 2), 2):
            now = start + timedelta(seconds=n)
            subject = DataSubject.blank(uuid4(), now)
            subject.grant_consent(Context(f"g{n}", "bench", now), SYNTHETIC_TERMS, None)
            if n + 1 < events:
                subject.opt_out_of_marketing(Context(f"o{n}", "bench", now), [Channel.SMS])
            batch.append(subject)
        ledger.save(*batch)
        subjects += [subject.id for subject in batch]
        if progress is not None:
            progress(min(SAVE_BATCH * 2, events - first))
    return subjects


def long_history(ledger: Ledger, events: int) -> UUID:
    """A subject with `events` past events (a grant, then opt-outs and opt-ins of SMS in turn), saved at once."""
    now = datetime.now(UTC) - timedelta(days=1)
    subject = DataSubject.blank(uuid4(), now)
    subject.grant_consent(Context("history-grant", "bench", now), SYNTHETIC_TERMS, None)
    for n in range(1, events):
        ctx = Context(f"history-{n}", "bench", now + timedelta(milliseconds=n))
        if n % 2:
            subject.opt_out_of_marketing(ctx, [Channel.SMS])
        else:
            subject.opt_in_to_marketing(ctx, [Channel.SMS])
    ledger.save(subject)
    return subject.id
