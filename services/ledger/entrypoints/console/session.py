"""Who is signed in to the console: a signed session cookie, its CSRF token, and the language pages are shown in.

A person signs in with a named token of the `dpo` scope (every action) or `read` (view only). The
cookie holds the token's SHA-256 digest, never the token, with the person's CSRF token, signed with
itsdangerous and valid for CONSENT_CONSOLE_SESSION_HOURS; every request looks the digest up again, so
a token taken out of CONSENT_API_TOKENS ends its sessions at once. The cookie is HttpOnly,
SameSite=Strict, limited to /console, and Secure when the console is served over TLS. Every form
carries the CSRF token, and every POST is refused (403) unless the two match. Sessions are
stateless: any ledger instance with the same secret serves any person.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request, Response, status
from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.ledger.settings import LedgerSettings
from services.platform.auth import Principal, TokenRegistry, token_digest

Lang = Literal["kk", "ru", "en"]
LANGS: tuple[Lang, ...] = ("kk", "ru", "en")
PREFIX = "/console"
SESSION_COOKIE = "console_session"
SIGN_IN_COOKIE = "console_sign_in"  # the CSRF token of the sign-in form, before there is a session
LANG_COOKIE = "console_lang"
CONSOLE_SCOPES = ("dpo", "read")  # a token needs one of them to sign in


@dataclass(frozen=True)
class Viewer:
    """The person signed in: their principal, their CSRF token and the language of the pages."""

    principal: Principal
    csrf: str
    lang: Lang

    @property
    def name(self) -> str:
        """The token's name: the actor of every command this person sends."""
        return self.principal.name

    @property
    def may_act(self) -> bool:
        """Whether this person may run commands (dpo), or only look (read)."""
        return "dpo" in self.principal.scopes


class NotSignedInError(Exception):
    """A console page was asked for without a valid session."""


class Sessions:
    """Makes and reads the console's signed cookies."""

    def __init__(self, settings: LedgerSettings) -> None:
        secret = settings.console_session_secret
        if secret is not None:
            key = secret.get_secret_value()
            if len(key) < 32:
                raise ValueError("CONSENT_CONSOLE_SESSION_SECRET must be at least 32 characters")
        elif settings.ledger_master_key is not None:
            master = settings.ledger_master_key.get_secret_value().encode()
            key = hmac.new(master, b"consent-ledger console sessions", hashlib.sha256).hexdigest()
        else:  # never a key anyone could compute
            raise ValueError("the console needs CONSENT_CONSOLE_SESSION_SECRET or CONSENT_LEDGER_MASTER_KEY")
        self._signer = URLSafeTimedSerializer(key, salt="console-session")
        self._max_age = int(settings.console_session_hours * 3600)

    def issue(self, response: Response, request: Request, token: str) -> None:
        """Sign the person in: a fresh session (and CSRF token) for the token."""
        value = self._signer.dumps({"t": token_digest(token), "c": secrets.token_urlsafe(32)})
        set_cookie(response, request, SESSION_COOKIE, value, self._max_age)
        response.delete_cookie(SIGN_IN_COOKIE, path=PREFIX)

    def read(self, request: Request, tokens: TokenRegistry) -> tuple[Principal, str] | None:
        """The principal and CSRF token of the request's session, or None (none, expired, forged, token revoked)."""
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        try:
            found: dict[str, Any] = self._signer.loads(cookie, max_age=self._max_age)
        except BadSignature:  # SignatureExpired included
            return None
        principal = tokens.principal_of_digest(str(found.get("t")))
        if principal is None or not set(CONSOLE_SCOPES) & principal.scopes:
            return None
        return principal, str(found["c"])


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, for /console only, Secure over TLS."""
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="strict", secure=secure)


def sign_out(response: Response) -> None:
    """End the session on this browser."""
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)


def language(request: Request) -> Lang:
    """The pages' language: ?lang=, else the one chosen before (a cookie), else the browser's, else Russian."""
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in LANGS:
            return asked
    accepted = request.headers.get("accept-language", "")
    for part in accepted.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return "ru"


def sessions_of(request: Request) -> Sessions:
    """The app's console sessions."""
    found: Sessions = request.app.state.console_sessions
    return found


async def viewer(request: Request) -> Viewer:
    """A FastAPI dependency: the person signed in, or NotSignedInError (the console answers with the sign-in page)."""
    found = sessions_of(request).read(request, request.app.state.tokens)
    if found is None:
        raise NotSignedInError
    principal, csrf = found
    return Viewer(principal, csrf, language(request))


SignedIn = Annotated[Viewer, Depends(viewer)]


async def acting(request: Request, person: SignedIn) -> Viewer:
    """A FastAPI dependency for a POST: the person signed in, their CSRF token matching the form's (else 403)."""
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, person.csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "csrf")
    return person


Acting = Annotated[Viewer, Depends(acting)]
