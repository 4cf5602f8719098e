"""What the ledger's app holds for its routes (the HTTP API's and the console's): the wired services, the writer."""

from __future__ import annotations

from fastapi import Request

from services.ledger.application.group_commit import GroupCommit
from services.ledger.bootstrap import LedgerServices


def services_of(request: Request) -> LedgerServices:
    """The wired ledger of this app."""
    wired: LedgerServices = request.app.state.ledger
    return wired


def group_of(request: Request) -> GroupCommit:
    """The queue this app's command routes write through, in commits shared by concurrent requests."""
    group: GroupCommit = request.app.state.group_commit
    return group
