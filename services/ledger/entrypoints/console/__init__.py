"""The DPO console: server-rendered pages at /console/ for the people who answer subjects and regulators.

Find a person, see their state, cards, requests, transfers, confirmations and timeline (now or as of a
past moment), send the DPO's commands, watch the requests board on the Kazakh calendar, print the access
report, build and verify evidence, and have a check explained. In Kazakh, Russian and English
(`?lang=kk|ru|en`). Sign-in with a named token: services.ledger.entrypoints.console.session.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.ledger.adapters.projector import Projector
from services.ledger.bootstrap import LedgerServices
from services.ledger.entrypoints.console import actions, evidence, pages
from services.ledger.entrypoints.console.evidence import Builds
from services.ledger.entrypoints.console.session import PREFIX, Sessions

STATIC = Path(__file__).with_name("static")
UPLOAD_PATH = f"{PREFIX}/evidence/verify"  # takes a whole bundle: its own body limit


def install_console(app: FastAPI, wired: LedgerServices) -> None:
    """Serve the console on `app`; `close_console` releases what it holds."""
    settings = wired.settings
    token = settings.console_projector_token
    app.state.console_sessions = Sessions(settings)
    app.state.console_projector = Projector(settings.console_projector_url, token.get_secret_value() if token else None)
    app.state.console_builds = Builds()
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    for routes in (pages.router, actions.router, evidence.router):
        app.include_router(routes)


async def close_console(app: FastAPI) -> None:
    """Stop bundle builds, remove their files, close the projector client."""
    app.state.console_builds.close()
    await app.state.console_projector.close()
