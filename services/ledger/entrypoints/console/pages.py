"""The console's reading pages: sign-in and sign-out, find a person, the subject page, the requests board, checks."""

from __future__ import annotations

import hmac
import secrets
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from schemas import commands as c
from services.ledger.adapters.projector import Projector, ProjectorError
from services.ledger.application.identity import Identifier
from services.ledger.bootstrap import LedgerServices
from services.ledger.domain.calendar import KAZAKHSTAN, kazakh_day
from services.ledger.entrypoints.app_state import services_of
from services.ledger.entrypoints.console.rendering import Words, console_router, page
from services.ledger.entrypoints.console.session import (
    CONSOLE_SCOPES,
    PREFIX,
    SIGN_IN_COOKIE,
    Acting,
    SignedIn,
    Viewer,
    sessions_of,
    set_cookie,
    sign_out,
)
from services.ledger.entrypoints.console.subject_page import subject_page, working_days_left
from services.ledger.reports.texts import LANGUAGES

router = console_router()
EXPIRING_WITHIN_DAYS = 30
WITHDRAWALS_WITHIN_DAYS = 14
PURPOSES, CHANNELS = get_args(c.PURPOSES), get_args(c.CHANNELS)


def _codes(model: type[c.Command], name: str) -> tuple[str, ...]:
    """The codes a command's field takes (its Literal), read from the contract."""
    return get_args(model.model_fields[name].annotation)


# The vocabularies the action forms offer, from the command models themselves.
CHOICES = {
    "categories": get_args(c.CATEGORIES),
    "block_ground": _codes(c.BlockPersonalData, "ground"),
    "unblock_ground": _codes(c.UnblockPersonalData, "ground"),
    "refusal_reason": _codes(c.RefuseWithdrawal, "reason"),
    "erasure_ground": _codes(c.ErasePersonalData, "ground"),
    "requested_by": _codes(c.ErasePersonalData, "requested_by"),
    "request_kind": _codes(c.ReceiveSubjectRequest, "kind"),
}


def projector_of(request: Request) -> Projector:
    """The projector the console asks."""
    found: Projector = request.app.state.console_projector
    return found


def to(path: str) -> RedirectResponse:
    """See the console page at `path` (after a form: 303, so a reload does not send it again)."""
    return RedirectResponse(f"{PREFIX}{path}", status_code=303)


def moment_asked(value: str | None, *, not_after: datetime | None = None) -> datetime | None:
    """A moment typed in a form (Almaty time, as the page shows times), or an ISO instant with its offset.

    ValueError("invalid") when it is not a moment, ValueError("in_the_future") when it is after `not_after`.
    """
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("invalid") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=KAZAKHSTAN)
    if not_after is not None and moment > not_after:
        raise ValueError("in_the_future")
    return moment


# --- signing in and out ---------------------------------------------------------------------------------


@router.get("/sign-in")
def sign_in_form(request: Request) -> HTMLResponse:
    """The sign-in form: a token of the dpo or read scope."""
    return _sign_in_page(request, 200, None)


def _sign_in_page(request: Request, status_code: int, problem: str | None) -> HTMLResponse:
    """The sign-in form, its CSRF token kept in a cookie of its own until there is a session."""
    csrf = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    after = request.query_params.get("next") or "/"
    response = page(request, None, "sign_in.html.j2", status_code=status_code, csrf=csrf, problem=problem, after=after)
    set_cookie(response, request, SIGN_IN_COOKIE, csrf, 3600)
    return response


@router.post("/sign-in")
async def sign_in(
    request: Request,
    token: Annotated[str, Form(max_length=512)],
    csrf: Annotated[str, Form(max_length=128)],
    after: Annotated[str, Form(alias="next", max_length=300)] = "/",
) -> Response:
    """Sign in with a named token: a session for a token of the dpo or read scope."""
    expected = request.cookies.get(SIGN_IN_COOKIE)
    if not expected or not hmac.compare_digest(csrf, expected):
        return page(request, None, "refused.html.j2", status_code=403, problem="csrf")
    principal = request.app.state.tokens.principal(token.strip())
    if principal is None or not set(CONSOLE_SCOPES) & principal.scopes:
        return _sign_in_page(request, 401, "sign_in.refused")
    # Back to the page asked for before: a console path only, never another site.
    response = to(after.removeprefix(PREFIX) if after.startswith(f"{PREFIX}/") and "//" not in after else "/")
    sessions_of(request).issue(response, request, token.strip())
    return response


@router.post("/sign-out")
async def sign_out_route(person: Acting) -> Response:
    """End the session."""
    response = to("/sign-in")
    sign_out(response)
    return response


# --- finding a person -----------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, person: SignedIn) -> HTMLResponse:
    """Find a person; links to the board, checks and evidence."""
    return page(request, person, "find.html.j2", problem=None)


@router.post("/find")
async def find(
    request: Request,
    person: Acting,
    identifier: Annotated[Literal["phone", "iin", "card", "subject_id"], Form()],
    value: Annotated[str, Form(max_length=64)],
) -> Response:
    """The subject page of a person known by IIN, phone or card number (through the HMAC id) or by subject id."""
    value = value.strip()
    if identifier == "subject_id":
        try:
            return to(f"/subjects/{UUID(value)}")
        except ValueError:
            return page(request, person, "find.html.j2", status_code=422, problem="find.not_a_subject_id")
    try:
        subject_id = services_of(request).commands.subject_ids.subject_id(Identifier(identifier), value)
    except ValueError:  # InvalidIinError included; the value is never repeated or logged
        return page(request, person, "find.html.j2", status_code=422, problem=f"find.invalid.{identifier}")
    return to(f"/subjects/{subject_id}")


# --- the subject page -----------------------------------------------------------------------------------


@router.get("/subjects/{subject_id}")
async def subject(
    request: Request, subject_id: UUID, person: SignedIn, at: Annotated[str | None, Query()] = None
) -> HTMLResponse:
    """The subject's state, cards, requests, transfers, confirmations and timeline, now or as of `at`."""
    return await render_subject(request, person, subject_id, at)


async def render_subject(
    request: Request,
    person: Viewer,
    subject_id: UUID,
    at: str | None = None,
    *,
    refusal: dict[str, str] | None = None,
    done: str | None = None,
) -> HTMLResponse:
    """The subject page, with the outcome of an action when one was just sent."""
    wired: LedgerServices = services_of(request)
    try:
        moment = moment_asked(at, not_after=wired.clock())
    except ValueError as error:
        moment, refusal = None, {"rule": str(error), "field": "at", "message": ""}
    found = await subject_page(wired, projector_of(request), subject_id, moment, Words(person.lang))
    status_code = (422 if refusal["rule"] in {"invalid", "in_the_future"} else 409) if refusal else 200
    if not found.found and not refusal:
        status_code = 404
    return page(
        request, person, "subject.html.j2", status_code=status_code, subject=found, refusal=refusal,
        done=done or request.query_params.get("done"), today=kazakh_day(wired.clock()).isoformat(),
        report_languages=LANGUAGES, choices=CHOICES,
    )  # fmt: skip


# --- the requests board ---------------------------------------------------------------------------------


@router.get("/requests")
async def board(request: Request, person: SignedIn, kind: str | None = None, overdue: bool = False) -> HTMLResponse:
    """Every open request with its due date and working days left, overdue first; withdrawals and expiring consents."""
    kind = kind or None  # "every kind"
    projector, today = projector_of(request), kazakh_day(services_of(request).clock())
    problem, requests, withdrawals, expiring = None, [], [], []
    try:
        for row in await projector.open_requests():
            row["working_days_left"] = working_days_left(today, date.fromisoformat(row["due_on"]))
            requests.append(row)
        horizon = (today + timedelta(days=WITHDRAWALS_WITHIN_DAYS)).isoformat()
        withdrawals = [w for w in await projector.pending_withdrawals() if w["effective_on"] <= horizon]
        expiring = await projector.expiring_consents(EXPIRING_WITHIN_DAYS)
    except ProjectorError as error:
        problem = str(error)
    kinds = sorted({row["kind"] for row in requests})
    shown = [r for r in requests if (kind is None or r["kind"] == kind) and (not overdue or r["working_days_left"] < 0)]
    shown.sort(key=lambda row: (row["working_days_left"] >= 0, row["due_on"], row["received_on"]))
    return page(
        request, person, "board.html.j2", requests=shown, kinds=kinds, kind=kind, overdue=overdue,
        withdrawals=withdrawals, expiring=expiring, problem=problem, today=today.isoformat(),
        withdrawals_within=WITHDRAWALS_WITHIN_DAYS, expiring_within=EXPIRING_WITHIN_DAYS,
    )  # fmt: skip


# --- the check explainer --------------------------------------------------------------------------------


@router.get("/check")
async def check(
    request: Request,
    person: SignedIn,
    *,
    subject_id: UUID | None = None,
    system: str = "marketing",
    purpose: str = "marketing",
    channel: str | None = None,
    recipient: str | None = None,
    country: str | None = None,
    at: str | None = None,
) -> HTMLResponse:
    """May system S use this person's data for purpose P over channel C (to R in K) at moment T? With the rule."""
    asked: dict[str, Any] = {
        "subject_id": subject_id, "system": system, "purpose": purpose, "channel": channel or None,
        "recipient": recipient or None, "country": (country or "").upper() or None,
    }  # fmt: skip
    answer, problem = None, None
    if subject_id is not None:
        try:
            moment = moment_asked(at, not_after=services_of(request).clock())
        except ValueError:
            problem = "check.bad_moment"
        else:
            try:
                answer = await projector_of(request).check({**asked, "subject_id": str(subject_id)}, moment)
            except ProjectorError as error:
                problem = str(error)
    return page(
        request, person, "check.html.j2", asked=asked, at=at or "", answer=answer, problem=problem,
        purposes=PURPOSES, channels=CHANNELS,
    )  # fmt: skip
