"""The console's actions: each form sends one command of the ledger's registry, as the person signed in.

There is no second way to write: a form's fields are the command model's (a dotted name fills a nested
model: `identity_document.issued_on`), the command is validated by that model and goes through the
same group commit as the HTTP API's, with the person's name as the actor. A refusal is shown on the
subject page with the rule that refused it, in the page's language. Only a person with the dpo scope
acts; one with read only sees the pages.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, get_origin
from uuid import UUID

from fastapi import Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from schemas import commands as c
from services.ledger.adapters.pii.keys import SubjectErasedError
from services.ledger.application.commands import Submitted
from services.ledger.application.ledger import ConcurrentWriteError
from services.ledger.application.registry import REGISTRY
from services.ledger.domain.errors import InvalidCommandError, RuleViolationError
from services.ledger.entrypoints.app_state import group_of, services_of
from services.ledger.entrypoints.console.pages import render_subject, to
from services.ledger.entrypoints.console.rendering import console_router
from services.ledger.entrypoints.console.session import Acting, SignedIn, Viewer
from services.ledger.reports import answer as answers
from services.ledger.reports.access_report import UnknownSubjectError
from services.ledger.reports.html import render_access_report
from services.ledger.reports.pdf import access_report_pdf

log = logging.getLogger(__name__)
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9:._/@+-]{0,127}$"  # schemas.commands.REF
router = console_router()

# The commands a person sends from the console, by name (each an entry of the registry).
ACTIONS = {
    spec.name: spec
    for spec in REGISTRY
    if spec.model in {
        c.BlockPersonalData, c.UnblockPersonalData, c.RefuseWithdrawal, c.CompleteWithdrawal, c.ErasePersonalData,
        c.LinkLoyaltyCard, c.BlockLoyaltyCard, c.UnblockLoyaltyCard, c.ReceiveSubjectRequest, c.AnswerSubjectRequest,
        c.RejectSubjectRequest,
    }
}  # fmt: skip
# Form fields that are the console's, and command fields the console never takes from a form (the actor is
# the person, the moment is now, the subject is the page's).
# What a command may be refused with: each shown on the subject page (services.ledger.entrypoints.http.app
# answers the same ones with 409 or 422).
REFUSED = (RuleViolationError, InvalidCommandError, SubjectErasedError, ConcurrentWriteError)
_NOT_FIELDS = frozenset({"csrf", "confirm", "actor", "occurred_at", "correlation_id", "causation_id", "subject_id"})


def may_act(person: Viewer) -> None:
    """403 unless the person signed in with the dpo scope."""
    if not person.may_act:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "view only: signed in with the read scope")


def command_fields(model: type[c.Command], form: FormData) -> dict[str, Any]:
    """The command's fields from a form: dotted names nested, list fields from every value, empty ones left out."""
    fields: dict[str, Any] = {}
    for key in {key for key in form if key not in _NOT_FIELDS}:
        values = [value.strip() for value in form.getlist(key) if isinstance(value, str) and value.strip()]
        if not values:
            continue
        *path, name = key.split(".")
        target = fields
        for part in path:
            target = target.setdefault(part, {})
        target[name] = values if not path and _is_list(model, name) else values[0]
    return fields


def _is_list(model: type[c.Command], name: str) -> bool:
    field = model.model_fields.get(name)
    return field is not None and get_origin(field.annotation) is list


@router.post("/subjects/{subject_id}/commands/{name}")
async def send_command(request: Request, subject_id: UUID, name: str, person: Acting) -> Response:
    """Send the command `name` of the registry for the subject, as the person; the subject page shows the outcome."""
    may_act(person)
    spec = ACTIONS.get(name)
    if spec is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the console sends no {name}")
    form = await request.form()
    if spec.model is c.ErasePersonalData and form.get("confirm") != str(subject_id)[:8]:
        return await render_subject(request, person, subject_id, refusal=_refusal("erasure_not_confirmed", "confirm"))
    try:
        command = spec.model.model_validate({**command_fields(spec.model, form), "subject_id": str(subject_id)})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return await render_subject(request, person, subject_id, refusal=_refusal("invalid", where, first["msg"]))
    wired = services_of(request)
    submitted = Submitted(subject_id, command, person.name, wired.clock(), person.principal.scopes)
    try:
        outcome = await group_of(request).submit(submitted)
    except REFUSED as error:
        log.info("console: %s refused (%s)", name, type(error).__name__)
        return await render_subject(request, person, subject_id, refusal=_refused_by(error))
    log.info("console: %s sent by %s for %s", name, person.name, subject_id)
    return to(f"/subjects/{subject_id}?done={name if not outcome.replayed else 'replayed'}")


def _refusal(rule: str, field: str | None, message: str = "") -> dict[str, str]:
    return {"rule": rule, "field": field or "", "message": message}


def _refused_by(error: Exception) -> dict[str, str]:
    """What the page says of a refusal: the rule (or the kind of refusal), the field, the ledger's words."""
    if isinstance(error, RuleViolationError):
        return _refusal(error.rule, None, error.message)
    if isinstance(error, InvalidCommandError):
        return _refusal("invalid", error.field, error.message)
    if isinstance(error, SubjectErasedError):
        return _refusal("subject_erased", None, str(error))
    return _refusal("concurrent_write", None, str(error))


@router.post("/subjects/{subject_id}/answers-with-report")
async def answer_with_report(
    request: Request,
    subject_id: UUID,
    person: Acting,
    request_id: Annotated[str, Form(pattern=REF_PATTERN)],
    command_id: Annotated[str, Form(pattern=REF_PATTERN)],
) -> Response:
    """Answer an open access request with the subject's access report as of now (recorded as the answer's ref)."""
    may_act(person)
    wired = services_of(request)
    try:
        await run_in_threadpool(
            answers.answer_with_access_report, wired.commands, subject_id, request_id, command_id,
            actor=person.name, now=wired.clock(),
        )  # fmt: skip
    except REFUSED as error:
        return await render_subject(request, person, subject_id, refusal=_refused_by(error))
    except UnknownSubjectError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the ledger has recorded nothing for this subject") from None
    return to(f"/subjects/{subject_id}?done=AnswerWithAccessReport")


@router.get("/subjects/{subject_id}/report")
def access_report(
    request: Request,
    subject_id: UUID,
    person: SignedIn,
    lang: Annotated[str, Query(pattern="^(kk|ru|en)$")] = "ru",
    report_format: Annotated[str, Query(alias="format", pattern="^(html|pdf)$")] = "html",
) -> Response:
    """The subject's access report as of now, in `lang`: the readable page, or its PDF to download."""
    may_act(person)  # the report holds the subject's personal data in clear: the dpo scope only, as over HTTP
    wired = services_of(request)
    try:
        report = answers.access_report(wired.commands, subject_id, wired.clock())
    except UnknownSubjectError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the ledger has recorded nothing for this subject") from None
    log.info("console: access report of %s shown to %s", subject_id, person.name)
    headers = {"Content-Language": lang, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "X-Frame-Options": "DENY"}  # fmt: skip
    if report_format == "pdf":
        name = f"access-report-{subject_id}-{lang}.pdf"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return Response(access_report_pdf(report, lang), media_type="application/pdf", headers=headers)
    return HTMLResponse(render_access_report(report, lang), headers=headers)
