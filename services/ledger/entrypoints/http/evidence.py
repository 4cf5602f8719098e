"""HTTP routes for regulator evidence: consent form texts, the public key, and evidence bundles (scope dpo)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated
from uuid import UUID

from anyio import to_thread
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from schemas.fields import Instant
from services.ledger.adapters.forms import Form
from services.ledger.adapters.signing import SigningKey
from services.ledger.domain.vocabulary import Language
from services.ledger.entrypoints.app_state import services_of
from services.ledger.evidence.bundle import Scope, write_bundle
from services.platform.auth import Principal, require
from services.platform.errors import error_responses, unprocessable
from services.platform.strict_json import StrictJsonRoute

SHA256_PATTERN = "^[0-9a-f]{64}$"
# Routes answering text say so for 200 alone: a route's response_class would make FastAPI declare the JSON
# error bodies as text too, so these routes name the bare Response (no media type) and return the text.
_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}
_WORDING = {
    404: "Nothing recorded: no form text with this SHA-256, or no event of the subject.",
    503: "A store is unreachable, or CONSENT_LEDGER_SIGNING_KEY is not set.",
}


NO_NUL = "^[^\\x00]*$"  # no form holds a NUL character, and PostgreSQL's text columns cannot


class FormText(BaseModel):
    """A consent form as subjects see it; consents reference it by the SHA-256 of `text` (UTF-8)."""

    form_id: str = Field(min_length=1, max_length=100, pattern=NO_NUL, examples=["loyalty-consent"])
    form_version: str = Field(min_length=1, max_length=50, pattern=NO_NUL, examples=["2026.1"])
    language: Language
    text: str = Field(min_length=1, max_length=200_000, pattern=NO_NUL)


class FormRegistered(BaseModel):
    """Where consents point to this text."""

    text_sha256: str


def signing_key_of(request: Request) -> SigningKey:
    """The ledger's signing key, or 503 naming the setting that is missing."""
    key = services_of(request).signing_key
    if key is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "evidence is not available: CONSENT_LEDGER_SIGNING_KEY is not set"
        )
    return key


# /v1/forms and /v1/evidence.
router = APIRouter(prefix="/v1", tags=["evidence"], route_class=StrictJsonRoute)


@router.post("/forms", status_code=201, responses=error_responses(401, 403, 413, 422, 503))
def register_form(form: FormText, request: Request, _: Annotated[Principal, Depends(require("dpo"))]) -> FormRegistered:
    """Keep a consent form's text; consents given on it reference the SHA-256 returned."""
    wired = services_of(request)
    registered = Form(form.form_id, form.form_version, form.language.value, form.text)
    return FormRegistered(text_sha256=wired.forms.register(registered, wired.clock()))


@router.get(
    "/forms/{text_sha256}",
    response_class=Response,
    responses={
        200: _TEXT | {"description": "The text."},
        **error_responses(401, 403, 404, 422, 503, described=_WORDING),
    },
)
def form_text(
    text_sha256: Annotated[str, PathParam(pattern=SHA256_PATTERN)],
    request: Request,
    _: Annotated[Principal, Depends(require("read"))],
) -> PlainTextResponse:
    """The form text with this SHA-256."""
    text = services_of(request).forms.text(text_sha256)
    if text is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no form text with this SHA-256 was registered")
    return PlainTextResponse(text)


@router.get(
    "/evidence/public-key",
    response_class=Response,
    responses={200: _TEXT | {"description": "The key, PEM."}, **error_responses(503, described=_WORDING)},
)
def public_key(request: Request) -> PlainTextResponse:
    """The Ed25519 public key (PEM) that checkpoints and evidence bundles verify with; public by design."""
    return PlainTextResponse(signing_key_of(request).public_pem())


@router.get(
    "/evidence/bundle",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
        **error_responses(401, 403, 404, 422, 503, described=_WORDING),
    },
)
async def bundle(
    request: Request,
    _: Annotated[Principal, Depends(require("dpo"))],
    subject_id: UUID | None = None,
    start: Annotated[Instant | None, Query(alias="from", description="Recorded at or after.")] = None,
    end: Annotated[Instant | None, Query(alias="to", description="Recorded before.")] = None,
) -> FileResponse:
    """A signed evidence bundle (ZIP) of one subject, a time range, or everything; verify it with
    `consent-ledger verify-bundle` or schemas.evidence_verifier.verify_bundle and the public key."""
    wired, key = services_of(request), signing_key_of(request)
    try:
        scope = Scope(subject_id, start, end)
    except ValueError as error:
        raise unprocessable(("query", "from"), str(error)) from None
    if subject_id is not None and not (await to_thread.run_sync(wired.ledger.history, subject_id))[0]:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the ledger has recorded nothing for this subject")
    folder = Path(tempfile.mkdtemp(prefix="evidence-"))
    path = folder / "evidence.zip"
    try:
        await to_thread.run_sync(
            lambda: write_bundle(wired.ledger, wired.forms, key, scope=scope, path=path, now=wired.clock())
        )
    except BaseException:
        _remove(folder)
        raise
    name = f"evidence-{scope.kind}-{wired.clock():%Y%m%dT%H%M%S}.zip"
    cleanup = BackgroundTask(_remove, folder)
    return FileResponse(path, media_type="application/zip", filename=name, background=cleanup)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
