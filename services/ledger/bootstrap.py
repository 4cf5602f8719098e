"""The composition root: wires the ledger from its settings. The HTTP app, the Kafka consumer, the relay,
the scheduler, the CLI, the AsyncAPI document and the tests all start here."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from services.ledger.adapters.calendar import KazakhCalendar
from services.ledger.adapters.forms import FormTexts
from services.ledger.adapters.pii.cipher import PiiCipher
from services.ledger.adapters.pii.keys import MasterKey
from services.ledger.adapters.pii.sealing import SealingKey
from services.ledger.adapters.signing import SigningKey
from services.ledger.adapters.store import eventsourcing_env, key_store
from services.ledger.application.commands import Commands
from services.ledger.application.identity import SubjectIds
from services.ledger.application.ledger import Ledger
from services.ledger.domain.terms import Controller
from services.ledger.settings import LedgerSettings
from services.platform.auth import TokenRegistry


class ConfigurationError(RuntimeError):
    """A setting the ledger cannot start without is missing or malformed; the message names it."""


@dataclass(frozen=True)
class LedgerServices:
    """Everything an entry point needs."""

    settings: LedgerSettings
    ledger: Ledger
    commands: Commands
    tokens: TokenRegistry
    clock: Callable[[], datetime]  # the entry points' only clock; tests pass a fixed one
    forms: FormTexts
    signing_key: SigningKey | None  # None: evidence bundles cannot be made here

    def close(self) -> None:
        """Close the ledger's and the form texts' connections."""
        self.ledger.close()
        self.forms.close()


def utc_now() -> datetime:
    """The current time."""
    return datetime.now(UTC)


def build(settings: LedgerSettings, clock: Callable[[], datetime] = utc_now) -> LedgerServices:
    """Build the ledger on its configured store, or raise ConfigurationError naming the missing setting."""
    if settings.ledger_master_key is None:
        raise ConfigurationError(
            "CONSENT_LEDGER_MASTER_KEY is required: 32 random bytes in base64 "
            "(python -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())')"
        )
    if settings.ledger_identity_secret is None:
        raise ConfigurationError("CONSENT_LEDGER_IDENTITY_SECRET is required: at least 32 random characters")
    try:
        master = MasterKey.from_base64(settings.ledger_master_key.get_secret_value())
        subject_ids = SubjectIds(settings.ledger_identity_secret.get_secret_value().encode())
        tokens = TokenRegistry.from_json(settings.api_tokens)
        signing = settings.ledger_signing_key
        signing_key = SigningKey.from_base64(signing.get_secret_value()) if signing else None
        sealing = settings.ledger_sealing_key
        sealing_key = SealingKey.from_base64(sealing.get_secret_value()) if sealing else None
    except ValueError as error:
        raise ConfigurationError(str(error)) from error
    ledger = Ledger(
        eventsourcing_env(settings.ledger_store),
        calendar=KazakhCalendar(),
        cipher=PiiCipher(key_store(settings.ledger_store, master)),
    )
    controller = Controller(settings.controller_name, settings.controller_bin)
    commands = Commands(ledger, controller, subject_ids, sealing_key)
    return LedgerServices(settings, ledger, commands, tokens, clock, FormTexts(settings.ledger_store), signing_key)


def new_master_key() -> str:
    """A fresh master key in the form CONSENT_LEDGER_MASTER_KEY takes (for development stacks)."""
    return base64.b64encode(os.urandom(32)).decode()
