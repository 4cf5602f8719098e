"""`consent-ledger migrate`: upgrade the ledger's side tables or the projector's read model to the newest revision.

The stores do the same when they open; this runs it on demand (before a deployment, say). eventsourcing's
own tables are the library's and are left alone.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from services.ledger.adapters.tables import migrate as migrate_ledger
from services.platform.schema import Upgrade
from services.platform.sql import engine_for, sqlalchemy_url
from services.projector.schema import prepare as prepare_projector

STEPS: dict[str, Callable[[Engine], Upgrade]] = {"ledger": migrate_ledger, "projector": prepare_projector}


def upgrade(url: str, which: str) -> str:
    """Upgrade the tables of `which` ("ledger" or "projector") in the store at `url`; say what was done.

    The projector's read models of another READ_MODEL_VERSION are dropped, to be rebuilt from offset 0.
    """
    if which not in STEPS:
        raise ValueError(f"no migrations named {which!r}: {' or '.join(STEPS)}")
    engine = engine_for(url)
    try:
        done = STEPS[which](engine)
    finally:
        engine.dispose()
    return f"{done} ({sqlalchemy_url(url).render_as_string(hide_password=True)})"
