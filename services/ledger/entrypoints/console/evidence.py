"""Evidence from the console: build a signed bundle (one subject, a range, everything) with progress; verify an upload.

A bundle is built in the background by the same `write_bundle` as `consent-ledger bundle` and GET
/v1/evidence/bundle; its page shows how many of the ledger's events have been read and refreshes itself
until the bundle is ready to download. This ledger instance builds at most two at a time and keeps each
for an hour (removed when its bundles are next looked at after that). An uploaded bundle is checked by the
offline verifier (schemas.evidence_verifier) with this ledger's public key, and the page says "verified"
or names the first problem.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from uuid import UUID

from fastapi import Form, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from schemas.evidence_verifier import verify_bundle
from services.ledger.adapters.signing import SigningKey
from services.ledger.bootstrap import LedgerServices
from services.ledger.entrypoints.app_state import services_of
from services.ledger.entrypoints.console.actions import may_act
from services.ledger.entrypoints.console.pages import moment_asked, to
from services.ledger.entrypoints.console.rendering import console_router, page
from services.ledger.entrypoints.console.session import Acting, SignedIn
from services.ledger.evidence.bundle import BundleSummary, Scope, write_bundle

log = logging.getLogger(__name__)
router = console_router()
KEPT_SECONDS = 3600
MAX_BUILDING = 2  # bundles built at once by one instance: each reads the whole store
COPY_CHUNK = 1024 * 1024


@dataclass
class Build:
    """One bundle being built, or built."""

    scope: Scope
    folder: Path
    total: int  # the ledger's events to read
    started: float = field(default_factory=time.monotonic)
    read: int = 0
    summary: BundleSummary | None = None
    problem: str | None = None

    @property
    def percent(self) -> int:
        """How far the build is, 0..100."""
        if self.summary is not None:
            return 100
        return min(99, int(100 * self.read / self.total)) if self.total else 0


class Builds:
    """The bundles this instance is building or has built, by id; each kept an hour, then removed."""

    def __init__(self) -> None:
        self._builds: dict[str, Build] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, build_id: str) -> Build:
        """The build `build_id`, or 404."""
        self._forget_old()
        found = self._builds.get(build_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such bundle here (kept an hour, on this instance)")
        return found

    async def start(self, wired: LedgerServices, scope: Scope) -> str:
        """Start building the bundle of `scope`; its id."""
        self._forget_old()
        if wired.signing_key is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "CONSENT_LEDGER_SIGNING_KEY is not set")
        if sum(build.summary is None and build.problem is None for build in self._builds.values()) >= MAX_BUILDING:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS, "bundles are being built: try again when one is done"
            )
        build_id = secrets.token_urlsafe(12)
        total = await run_in_threadpool(wired.ledger.recorder.max_notification_id) or 0
        build = self._builds[build_id] = Build(scope, Path(tempfile.mkdtemp(prefix="console-evidence-")), total)
        task = asyncio.create_task(self._run(wired, wired.signing_key, build), name=f"console-bundle-{build_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return build_id

    async def _run(self, wired: LedgerServices, key: SigningKey, build: Build) -> None:
        def advance(read: int) -> None:
            build.read += read

        try:
            build.summary = await run_in_threadpool(
                write_bundle, wired.ledger, wired.forms, key, scope=build.scope, path=build.folder / "evidence.zip",
                now=wired.clock(), progress=advance,
            )  # fmt: skip
        except Exception as error:  # shown on the build's page; the store's own errors name no personal data
            log.exception("console: evidence bundle failed")
            build.problem = f"{type(error).__name__}: {error}"

    def _forget_old(self) -> None:
        for build_id, build in list(self._builds.items()):
            if time.monotonic() - build.started > KEPT_SECONDS:
                shutil.rmtree(build.folder, ignore_errors=True)
                del self._builds[build_id]

    def close(self) -> None:
        """Stop the builds under way and remove every bundle."""
        for task in self._tasks:
            task.cancel()
        for build in self._builds.values():
            shutil.rmtree(build.folder, ignore_errors=True)
        self._builds.clear()


def builds_of(request: Request) -> Builds:
    """This app's bundle builds."""
    found: Builds = request.app.state.console_builds
    return found


@router.get("/evidence")
def evidence(request: Request, person: SignedIn, subject_id: UUID | None = None) -> HTMLResponse:
    """Build a bundle (a subject, a range, everything), or verify one by upload."""
    return page(request, person, "evidence.html.j2", subject_id=subject_id, verdict=None, problem=None)


@router.post("/evidence/bundles")
async def start_bundle(
    request: Request,
    person: Acting,
    *,
    kind: Annotated[str, Form(pattern="^(subject|range|all)$")],
    subject_id: Annotated[str, Form()] = "",
    start: Annotated[str, Form(alias="from")] = "",
    end: Annotated[str, Form(alias="to")] = "",
) -> Response:
    """Start building a bundle; its page shows the progress."""
    may_act(person)
    try:
        if kind == "subject":
            scope = Scope(UUID(subject_id.strip()), None, None)
        elif kind == "range":
            scope = Scope(None, moment_asked(start), moment_asked(end))
        else:
            scope = Scope(None, None, None)
    except ValueError as error:
        return page(request, person, "evidence.html.j2", status_code=422, subject_id=None, verdict=None,
                    problem=str(error))  # fmt: skip
    build_id = await builds_of(request).start(services_of(request), scope)
    log.info("console: evidence bundle %s (%s) started by %s", build_id, scope.kind, person.name)
    return to(f"/evidence/bundles/{build_id}")


@router.get("/evidence/bundles/{build_id}")
def bundle_page(request: Request, build_id: str, person: SignedIn) -> HTMLResponse:
    """How far the build is (the page refreshes itself until done), then the download."""
    return page(request, person, "bundle.html.j2", build_id=build_id, build=builds_of(request).get(build_id))


@router.get("/evidence/bundles/{build_id}/download")
def download_bundle(request: Request, build_id: str, person: SignedIn) -> FileResponse:
    """The finished bundle (ZIP)."""
    may_act(person)
    build = builds_of(request).get(build_id)
    if build.summary is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "the bundle is not finished")
    name = f"evidence-{build.scope.kind}-{build_id}.zip"
    return FileResponse(build.summary.path, media_type="application/zip", filename=name)


@router.post("/evidence/verify")
async def verify(request: Request, person: Acting) -> HTMLResponse:
    """Check an uploaded bundle with the offline verifier and this ledger's public key.

    The upload is read only after the session and its CSRF token are checked (the form is parsed then).
    """
    key = services_of(request).signing_key
    if key is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "CONSENT_LEDGER_SIGNING_KEY is not set")
    bundle = (await request.form()).get("bundle")
    if not isinstance(bundle, UploadFile):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "choose a bundle (ZIP) to upload")
    with tempfile.TemporaryDirectory(prefix="console-verify-") as folder:
        path = Path(folder) / "bundle.zip"

        def check() -> object:
            with path.open("wb") as copy:
                shutil.copyfileobj(bundle.file, copy, COPY_CHUNK)
            return verify_bundle(path, key.public)

        verdict = await run_in_threadpool(check)
    log.info("console: a bundle was verified by %s: %s", person.name, str(verdict)[:80])
    return page(request, person, "evidence.html.j2", subject_id=None, verdict=verdict, problem=None)
