"""HTTP routes of the subject access report (policy §5): read it, or answer an access request with it.

The answer to an access request records SubjectRequestAnswered whose `response_ref` names the report
sent — `access-report:<report_id>@<as_of>` — so anyone can rebuild the report as of that moment and
check its id (once the subject is erased, a rebuilt report reads no personal data and its id differs:
the recorded id still names the report as it was sent). Both routes need the DPO's scope: the report
holds the subject's personal data in clear.
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
from schemas.envelope import canonical_bytes, utc_text
from schemas.fields import Instant
from services.ledger.access_report import UnknownSubjectError, build_access_report
from services.ledger.access_report_html import render_access_report
from services.ledger.bootstrap import LedgerServices
from services.ledger.domain import events as e
from services.ledger.domain.calendar import kazakh_day
from services.ledger.domain.errors import RuleViolationError
from services.ledger.domain.vocabulary import RequestKind
from services.ledger.routes import CommandAccepted, services_of
from services.platform.auth import Principal, require
from services.platform.errors import error_responses, unprocessable
from services.platform.strict_json import StrictJsonRoute

log = logging.getLogger(__name__)

RESPONSE_REF_PREFIX = "access-report:"
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


def report_router() -> APIRouter:
    """The access report's /v1 routes."""
    api = APIRouter(prefix="/v1", tags=["access report"], route_class=StrictJsonRoute)

    @api.get(
        "/subjects/{subject_id}/access-report",
        responses={
            200: {"content": {"text/html": {"schema": {"type": "string"}}}},
            **error_responses(401, 403, 404, 422, 503, described=_WORDING),
        },
    )
    def access_report(
        subject_id: UUID,
        request: Request,
        _: Annotated[Principal, Depends(require("dpo"))],
        lang: ReportLanguage = "ru",
        report_format: Annotated[Literal["json", "html"], Query(alias="format")] = "json",
        as_of: Annotated[Instant | None, Query(description="The moment to report on; default now.")] = None,
    ) -> Response:
        """The subject's access report (policy §5): canonical JSON, or the readable document in kk, ru or en."""
        wired = services_of(request)
        now = wired.clock()
        if as_of is not None and as_of > now:
            raise unprocessable(("query", "as_of"), "lies in the future")
        report = _build(wired, subject_id, as_of or now)
        if report_format == "html":
            return HTMLResponse(render_access_report(report, lang), headers={"Content-Language": lang})
        return Response(canonical_bytes(report), media_type="application/json")

    @api.post(
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
        events, subject = wired.ledger.history(subject_id)
        if not events or subject is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "the ledger has recorded nothing for this subject")
        earlier = _earlier_answer(events, body.command_id, request_id)
        if earlier is not None:
            as_of, ref = earlier
            report = _build(wired, subject_id, as_of)
            response.status_code = status.HTTP_200_OK
            answer = CommandAccepted(subject_id=subject_id, event_ids=subject.outcomes[body.command_id], replayed=True)
            return AccessReportAnswer(
                report=report, html=render_access_report(report, body.lang), answer=answer, response_ref=ref
            )
        if body.command_id in subject.outcomes:
            raise RuleViolationError(
                "command_id_reused", f"command id {body.command_id!r} was used for another command"
            )
        received = _open_access_request(events, subject.open_requests, request_id)
        # As of the subject's last recorded act: any later event is recorded later still (the ledger keeps a
        # subject's events in increasing time), so the report rebuilt as of this moment is always this one.
        as_of = events[-1].timestamp
        report = _build(wired, subject_id, as_of)
        ref = f"{RESPONSE_REF_PREFIX}{report['report_id']}@{utc_text(as_of)}"
        now = wired.clock()
        command = c.AnswerSubjectRequest(
            command_id=body.command_id, request_id=request_id, answered_on=kazakh_day(now), response_ref=ref,
            causation_id=str(received.event_id),
        )  # fmt: skip
        outcome = wired.handler.handle(subject_id, command, actor=principal.name, now=now)
        log.info("request %s of subject %s answered with %s", request_id, subject_id, report["report_id"])
        answer = CommandAccepted(subject_id=subject_id, event_ids=outcome.event_ids, replayed=outcome.replayed)
        return AccessReportAnswer(
            report=report, html=render_access_report(report, body.lang), answer=answer, response_ref=ref
        )

    return api


def _build(wired: LedgerServices, subject_id: UUID, as_of: datetime) -> dict[str, Any]:
    """The report, or 404 when the ledger had recorded nothing for the subject by `as_of`."""
    try:
        return build_access_report(wired.ledger, subject_id, as_of=as_of, controller=wired.handler.controller)
    except UnknownSubjectError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None


def _earlier_answer(events: list[e.SubjectEvent], command_id: str, request_id: str) -> tuple[datetime, str] | None:
    """When this command already answered this request with a report: that report's moment and reference."""
    for event in events:
        if isinstance(event, e.SubjectRequestAnswered) and event.command_id == command_id:
            ref = event.response_ref or ""
            if event.request_id != request_id or not ref.startswith(RESPONSE_REF_PREFIX) or "@" not in ref:
                raise RuleViolationError("command_id_reused", f"command id {command_id!r} was used for another answer")
            return datetime.fromisoformat(ref.rsplit("@", 1)[1]), ref
    return None


def _open_access_request(
    events: list[e.SubjectEvent], open_requests: dict[str, Any], request_id: str
) -> e.SubjectRequestReceived:
    """The open access request `request_id`, or a refusal naming why it cannot be answered with a report."""
    received = [ev for ev in events if isinstance(ev, e.SubjectRequestReceived) and ev.request_id == request_id]
    if not received:
        raise RuleViolationError("unknown_request", f"no request {request_id} was received for this subject")
    if request_id not in open_requests:
        raise RuleViolationError("request_not_open", f"request {request_id} is not open")
    if received[-1].kind != RequestKind.ACCESS:
        raise RuleViolationError(
            "not_an_access_request", f"request {request_id} asks for {received[-1].kind}, not access to the data"
        )
    return received[-1]
