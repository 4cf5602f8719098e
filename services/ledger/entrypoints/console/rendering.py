"""The console's pages: Jinja2 templates, the words of each language, and the headers every page carries.

The console's own labels are in services.ledger.entrypoints.console.texts; the policy's vocabulary
(purposes, categories, channels, grounds, event names) is the access report's, so the console and the
report a subject receives use the same words. Times are shown in Almaty time.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined

from services.ledger.domain.calendar import KAZAKHSTAN
from services.ledger.entrypoints.console.session import (
    LANG_COOKIE,
    LANGS,
    PREFIX,
    Lang,
    NotSignedInError,
    Viewer,
    language,
    sessions_of,
    set_cookie,
)
from services.ledger.entrypoints.console.texts import TEXTS
from services.ledger.reports.texts import TEXTS as VOCABULARY

_templates = Environment(
    loader=PackageLoader("services.ledger.entrypoints.console", "templates"),
    autoescape=True,  # every value is escaped: some come from what a channel typed
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# No script, style or frame from anywhere but the console itself; no page of it inside another site's frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # pages show personal data's state: never kept by a shared cache
}


class Words:
    """The words of one language: the console's labels and the policy's vocabulary."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self._texts, self._vocabulary = TEXTS[lang], VOCABULARY[lang]

    def __call__(self, key: str, **values: Any) -> str:
        """The console's label `key`, with `values` filled in ({name} placeholders)."""
        text = self._texts.get(key) or TEXTS["en"][key]
        return text.format(**values) if values else text

    def knows(self, key: str) -> bool:
        """Whether the console has a label `key`."""
        return key in TEXTS["en"]

    def term(self, kind: str, code: str | None) -> str:
        """A word of the policy's vocabulary (`purpose`, `loyalty`), or the code when it has none."""
        if code is None:
            return "—"
        return self._vocabulary.get(f"{kind}.{code}") or self._texts.get(f"{kind}.{code}") or code

    def terms(self, kind: str, codes: Iterable[str]) -> str:
        """Several words of the vocabulary, comma separated, or "none"."""
        found = [self.term(kind, code) for code in codes]
        return ", ".join(found) if found else self("none")

    def rule(self, code: str) -> str:
        """What a rule (of a refusal or a check) means, in this language; the code when it has no text."""
        return self._texts.get(f"rule.{code}") or TEXTS["en"].get(f"rule.{code}") or code


def moment(value: str | datetime | None) -> str:
    """An instant in Almaty time, to the second."""
    if value is None:
        return "—"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(KAZAKHSTAN).strftime("%Y-%m-%d %H:%M:%S")


def day(value: str | date | None) -> str:
    """A calendar day, as ISO."""
    if value is None:
        return "—"
    return value if isinstance(value, str) else value.isoformat()


def page(
    request: Request, viewer: Viewer | None, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """The page `template` in the viewer's language, with the console's security headers."""
    lang = viewer.lang if viewer else language(request)
    words = Words(lang)
    html = _templates.get_template(template).render(
        request=request, viewer=viewer, t=words, lang=lang, langs=LANGS, prefix=PREFIX, moment=moment, day=day,
        switch=lambda code: _with_lang(request, code), nonce=secrets.token_hex(6), **context,
    )  # fmt: skip
    response = HTMLResponse(html, status_code=status_code, headers={**SECURITY_HEADERS, "Content-Language": lang})
    if request.query_params.get("lang") in LANGS:
        set_cookie(response, request, LANG_COOKIE, lang, 365 * 24 * 3600)
    return response


def _with_lang(request: Request, code: str) -> str:
    """The same page in another language; after a form, the page it was sent from (its subject's, or the start)."""
    if request.method != "GET":
        subject = re.match(rf"{PREFIX}/subjects/[0-9a-f-]+", request.url.path)
        return f"{subject.group(0) if subject else PREFIX + '/'}?lang={code}"
    query: Mapping[str, str] = {**request.query_params, "lang": code}
    return f"{request.url.path}?{urlencode(query)}"


class ConsoleRoute(APIRoute):
    """A console route: a refusal is a page in the person's language, and a page without a session asks to sign in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, answering its errors with pages."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except NotSignedInError:
                if request.method == "GET":  # back to the page asked for, its query included, once signed in
                    after = f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path
                    asked = {"next": after} | {k: v for k, v in request.query_params.items() if k == "lang"}
                    return RedirectResponse(f"{PREFIX}/sign-in?{urlencode(asked)}", 303)
                return page(request, None, "refused.html.j2", status_code=401, problem="sign_in.required")
            except HTTPException as error:
                return page(
                    request, _signed_in(request), "refused.html.j2", status_code=error.status_code,
                    problem=str(error.detail),
                )  # fmt: skip
            except RequestValidationError as error:
                where = ", ".join(".".join(map(str, e["loc"][1:])) for e in error.errors())
                return page(
                    request, _signed_in(request), "refused.html.j2", status_code=422, problem=f"invalid: {where}"
                )

        return route


def _signed_in(request: Request) -> Viewer | None:
    """The person signed in, if any: a refusal page keeps its navigation and sign-out."""
    found = sessions_of(request).read(request, request.app.state.tokens)
    return Viewer(found[0], found[1], language(request)) if found else None


def console_router() -> APIRouter:
    """A router of console pages (kept out of the OpenAPI document: they are for people)."""
    return APIRouter(prefix=PREFIX, include_in_schema=False, route_class=ConsoleRoute)
