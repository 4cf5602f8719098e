"""Bearer tokens with scopes, from configuration: missing or unknown token 401, wrong scope 403.

CONSENT_API_TOKENS is a JSON object {"<token>": {"name": "tablet-app", "scopes": ["consent:write"]}}.
Tokens are kept only as SHA-256 digests in memory; the name (never the token) becomes the actor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

SCOPES = {
    "consent:write": "channels: grant, opt-out and opt-in, withdrawal applications, cards, transfers, confirmations",
    "dpo": "the data protection officer: blocks, erasure, refusals, subject requests",
    "read": "history and state",
}


@dataclass(frozen=True)
class Principal:
    """Who called: the token's name and what it may do."""

    name: str
    scopes: frozenset[str]


class TokenRegistry:
    """Known tokens, looked up by digest."""

    def __init__(self, tokens: Mapping[str, Mapping[str, Any]]) -> None:
        self._by_digest: dict[str, Principal] = {}
        for token, grant in tokens.items():
            unknown = set(grant.get("scopes", [])) - SCOPES.keys()
            if len(token) < 16 or unknown:
                raise ValueError(
                    f"token {grant.get('name')!r}: at least 16 characters and scopes among {sorted(SCOPES)}"
                )
            self._by_digest[token_digest(token)] = Principal(str(grant["name"]), frozenset(grant["scopes"]))

    @classmethod
    def from_json(cls, text: str) -> TokenRegistry:
        """From CONSENT_API_TOKENS."""
        return cls(orjson.loads(text or "{}"))

    def principal(self, token: str) -> Principal | None:
        """The principal a token belongs to, or None."""
        return self._by_digest.get(token_digest(token))

    def principal_of_digest(self, digest: str) -> Principal | None:
        """The principal of the token with this digest (a console session keeps the digest, never the token)."""
        return self._by_digest.get(digest)


def token_digest(token: str) -> str:
    """The SHA-256 of a token, hex: how tokens are known here."""
    return hashlib.sha256(token.encode()).hexdigest()


_bearer = HTTPBearer(auto_error=False, description="A token from CONSENT_API_TOKENS.")


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the caller's Principal if its token has `scope`.

    Async, so it runs on the event loop (a digest and a lookup) instead of taking a worker thread per request.
    """

    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        registry: TokenRegistry = request.app.state.tokens
        principal = registry.principal(credentials.credentials) if credentials else None
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"}
            )
        if scope not in principal.scopes:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this token lacks the {scope!r} scope")
        return principal

    return check
