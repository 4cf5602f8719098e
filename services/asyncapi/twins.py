"""Stand-ins for the real brokers' collaborators, and the twins that describe the real subscribers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, NamedTuple, NoReturn, cast

from faststream.kafka import KafkaBroker

from services.ledger.adapters.forms import FormTexts
from services.ledger.application.commands import Commands
from services.ledger.application.ledger import Ledger
from services.ledger.bootstrap import LedgerServices
from services.ledger.entrypoints.kafka import command_broker
from services.ledger.settings import LedgerSettings
from services.platform.auth import TokenRegistry
from services.projector.consumer import projector_broker
from services.projector.settings import ProjectorSettings
from services.projector.store import ProjectionStore

# The topics as the services default them (the environment is not read: the document is the contract).
LEDGER = LedgerSettings.model_construct()
PROJECTOR = ProjectorSettings.model_construct()


class NotDescribedError(RuntimeError):
    """The document cannot be built as it would mislead: what no longer matches, in plain words."""


class _Unused:
    """Stands in for a collaborator the factories use only once records flow, which never happens here."""

    def __init__(self, role: str) -> None:
        self._role = role

    def __getattr__(self, name: str) -> NoReturn:
        raise NotDescribedError(f"{self._role}.{name} used while only describing the topics")

    def __call__(self, *args: object, **kwargs: object) -> NoReturn:
        raise NotDescribedError(f"{self._role} called while only describing the topics")


def real_brokers() -> list[KafkaBroker]:
    """The brokers the ledger and the projector run, built with stand-ins instead of stores (no I/O)."""
    wired = LedgerServices(
        settings=LEDGER,
        ledger=cast("Ledger", _Unused("ledger")),
        commands=cast("Commands", _Unused("commands")),
        tokens=cast("TokenRegistry", _Unused("tokens")),
        clock=cast("Callable[[], datetime]", _Unused("clock")),
        forms=cast("FormTexts", _Unused("forms")),
        signing_key=None,
    )
    return [command_broker(wired), projector_broker(cast("ProjectionStore", _Unused("store")), PROJECTOR)]


def twin_handler(name: str, payload: Any) -> Callable[[Any], Awaitable[None]]:
    """A handler named like a real one, declaring the model its records carry (it is never called)."""

    async def handler(body: Any) -> None:
        raise NotDescribedError("a twin handler only describes its topic")

    handler.__name__ = handler.__qualname__ = name
    handler.__annotations__ = {"body": payload, "return": None}
    return handler


class Subscription(NamedTuple):
    """A twin of a real subscriber: its topic, the real handler's name, the model of its records."""

    topic: str
    handler: str
    payload: Any
    description: str


class Writer(NamedTuple):
    """A writer that is no FastStream subscriber, as a publisher specification."""

    topic: str
    name: str
    payload: Any
    description: str
