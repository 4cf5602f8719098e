"""A Ledger application on each event store, with the real calendar and per-subject keys."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from services.ledger.adapters.calendar import KazakhCalendar
from services.ledger.adapters.pii.cipher import PiiCipher
from services.ledger.adapters.pii.keys import MasterKey
from services.ledger.adapters.store import eventsourcing_env, key_store
from services.ledger.domain.state import Context
from services.ledger.domain.terms import Collection, ConsentTerms, Controller, Notice
from services.ledger.domain.vocabulary import Channel, CollectionMethod, DataCategory, Language, Purpose
from tests.ledger.acts import ScenarioLedger

MASTER_TEXT = base64.b64encode(os.urandom(32)).decode()
MASTER = MasterKey.from_base64(MASTER_TEXT)


def make_ledger(url: str) -> ScenarioLedger:
    """A Ledger on the store at `url` (a new instance each call, as another process would be)."""
    return ScenarioLedger(eventsourcing_env(url), calendar=KazakhCalendar(), cipher=PiiCipher(key_store(url, MASTER)))


@pytest.fixture
def ledger(store_url: str) -> Iterator[ScenarioLedger]:
    """The ledger application on a fresh store."""
    app = make_ledger(store_url)
    yield app
    app.close()


def at(day: str, time: str = "10:00") -> datetime:
    """A moment in Almaty (UTC+5) on `day`."""
    return datetime.fromisoformat(f"{day}T{time}:00+05:00").astimezone(UTC)


def ctx(command: str, day: str = "2026-05-04", actor: str = "consultant-17") -> Context:
    """A command context with a unique-per-test command id."""
    return Context(command_id=command, actor=actor, now=at(day))


def tablet_consent(**changes: object) -> ConsentTerms:
    """The loyalty form signed on a consultant's tablet with SMS verification; RU transfers allowed."""
    terms: dict[str, object] = {
        "controller": Controller("ESPERANCE-RK LLP", "220240037922"),
        "notice": Notice("loyalty-consent", "2026.1", "a" * 64, Language.KK),
        "purposes": frozenset({Purpose.LOYALTY, Purpose.MARKETING, Purpose.DELIVERY_AND_SERVICE}),
        "categories": frozenset({DataCategory.NAME, DataCategory.CONTACTS, DataCategory.BIRTH}),
        "collection": Collection(
            CollectionMethod.TABLET_SMS, {"sms_verification_id": "sms-0001"}, "consultant-17", "store-ALA-3"
        ),
        "marketing_channels": frozenset({Channel.SMS, Channel.EMAIL}),
        "third_party_transfer": True,
        "cross_border_countries": frozenset({"RU"}),
    }
    terms.update(changes)
    return ConsentTerms(**terms)  # type: ignore[arg-type]


def new_subject() -> UUID:
    """An opaque subject id."""
    return uuid4()


def ledger_env(store_url: str, kafka_bootstrap: str, **settings: str) -> dict[str, str]:
    """The environment a ledger process (the CLI, a relay) needs for this store and broker, plus CONSENT_<settings>."""
    return {
        **os.environ,
        "CONSENT_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CONSENT_LEDGER_STORE": store_url,
        "CONSENT_LEDGER_MASTER_KEY": MASTER_TEXT,
        "CONSENT_LEDGER_IDENTITY_SECRET": "identity-secret-for-tests-0123456789",
        **{f"CONSENT_{name.upper()}": value for name, value in settings.items()},
    }
