"""HTTP routes of the subject access report (policy §5): read it, or answer an access request with it.

Both need the DPO's scope: the report holds the subject's personal data in clear. The use cases are
services.ledger.reports.answer's.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from schemas import commands as c
from schemas.envelope import canonical_bytes
from schemas.fields import Instant
from services.ledger.bootstrap import LedgerServices
from services.ledger.entrypoints.app_state import services_of
from services.ledger.entrypoints.http.commands import CommandAccepted
from services.ledger.reports import answer as answers
from services.ledger.reports.access_report import UnknownSubjectError
from services.ledger.reports.html import render_access_report
from services.ledger.reports.pdf import access_report_pdf
from services.platform.auth import Principal, require
from services.platform.errors import error_responses, unprocessable
from services.platform.strict_json import StrictJsonRoute

log = logging.getLogger(__name__)

REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9:._@+-]{0,127}$"  # schemas.commands.REF, less "/" (a path)
ReportLanguage = Literal["kk", "ru", "en"]
_WORDING = {404: "The ledger has recorded nothing for the subject.", 409: "Not an open access request."}


class AnswerWithAccessReport(BaseModel):
    """Answer an open access request with the subject's access report as of now."""

    model_config = ConfigDict(extra="forbid")

    command_id: c.REF = Field(description="Idempotency key: a repeat returns the first answer and its report.")
    lang: ReportLanguage = Field(default="ru", description="Language of the readable document sent to the subject.")


class AccessReportAnswer(BaseModel):
    """The report sent, its readable document, and the SubjectRequestAnswered that names it."""

    report: dict[str, Any] = Field(description="The access report (JSON), with its report_id.")
    html: str = Field(description="The readable document in the language asked for.")
    answer: CommandAccepted
    response_ref: str = Field(examples=["access-report:sha256:5e5e…@2026-05-26T05:00:00.000000Z"])


# The access report's /v1 routes.
router = APIRouter(prefix="/v1", tags=["access report"], route_class=StrictJsonRoute)


@router.get(
    "/subjects/{subject_id}/access-report",
    responses={
        200: {
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "The report: canonical JSON, the readable document, or that document as a PDF attachment.",
        },
        **error_responses(401, 403, 404, 422, 503, described=_WORDING),
    },
)
def access_report(
    subject_id: UUID,
    request: Request,
    _: Annotated[Principal, Depends(require("dpo"))],
    lang: ReportLanguage = "ru",
    report_format: Annotated[Literal["json", "html", "pdf"], Query(alias="format")] = "json",
    as_of: Annotated[Instant | None, Query(description="The moment to report on; default now.")] = None,
) -> Response:
    """The subject's access report (policy §5): canonical JSON, or the document in kk, ru or en as HTML or PDF."""
    wired = services_of(request)
    now = wired.clock()
    if as_of is not None and as_of > now:
        raise unprocessable(("query", "as_of"), "lies in the future")
    report = _build(wired, subject_id, as_of or now)
    if report_format == "html":
        return HTMLResponse(render_access_report(report, lang), headers={"Content-Language": lang})
    if report_format == "pdf":
        attachment = f'attachment; filename="access-report-{subject_id}-{lang}.pdf"'
        headers = {"Content-Disposition": attachment, "Content-Language": lang}
        return Response(access_report_pdf(report, lang), media_type="application/pdf", headers=headers)
    return Response(canonical_bytes(report), media_type="application/json")


@router.post(
    "/subjects/{subject_id}/requests/{request_id}/access-report",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": AccessReportAnswer, "description": "A repeat: the first answer and its report."},
        **error_responses(401, 403, 404, 409, 413, 422, 503, described=_WORDING),
    },
)
def answer_with_access_report(
    subject_id: UUID,
    request_id: Annotated[str, Path(pattern=REF_PATTERN, description="The request (Өтініш) answered.")],
    *,
    body: AnswerWithAccessReport,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require("dpo"))],
) -> AccessReportAnswer:
    """Answer an open access request with the report as of now; 201 when recorded, 200 when a repeat."""
    wired = services_of(request)
    try:
        sent = answers.answer_with_access_report(
            wired.commands, subject_id, request_id, body.command_id, actor=principal.name, now=wired.clock()
        )
    except UnknownSubjectError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the ledger has recorded nothing for this subject") from None
    outcome = sent.outcome
    if outcome.replayed:
        response.status_code = status.HTTP_200_OK
    else:
        log.info("request %s of subject %s answered with %s", request_id, subject_id, sent.report["report_id"])
    answer = CommandAccepted(subject_id=subject_id, event_ids=outcome.event_ids, replayed=outcome.replayed)
    return AccessReportAnswer(
        report=sent.report, html=render_access_report(sent.report, body.lang), answer=answer,
        response_ref=sent.response_ref,
    )  # fmt: skip


def _build(wired: LedgerServices, subject_id: UUID, as_of: datetime) -> dict[str, Any]:
    """The report, or 404 when the ledger had recorded nothing for the subject by `as_of`."""
    try:
        return answers.access_report(wired.commands, subject_id, as_of)
    except UnknownSubjectError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
