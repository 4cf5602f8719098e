"""The projector's HTTP API as the console reads it: checks, the decisions of a subject, the requests register.

The projector owns the check rules and the registers (they are its read models); the ledger never
decides a check itself, it asks. Every call carries the console's own projector token
(CONSENT_CONSOLE_PROJECTOR_TOKEN) and answers the parsed JSON, or raises ProjectorError with words a
person can act on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class ProjectorError(Exception):
    """The projector could not answer: not configured, not reachable, or it refused (its status and detail)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Projector:
    """An async client of one projector."""

    def __init__(self, url: str, token: str | None) -> None:
        self._token = token
        self._client = httpx.AsyncClient(base_url=url, timeout=TIMEOUT)

    async def close(self) -> None:
        """Close its connections."""
        await self._client.aclose()

    async def decisions(self, subject_id: UUID, at: datetime | None = None) -> dict[str, Any] | None:
        """Every check's answer for the subject (per purpose, marketing channel, category), now or at `at`."""
        params = {"at": at.isoformat()} if at else {}
        found: dict[str, Any] | None = await self._get(f"/v1/subjects/{subject_id}/decisions", params, missing=True)
        return found

    async def check(self, question: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
        """One check's answer with its rule and deciding event: now, or replayed from the log at `at`."""
        params = {key: value for key, value in question.items() if value not in (None, "", [])}
        if at is not None:
            found: dict[str, Any] = await self._get("/v1/audit/checks", {**params, "at": at.isoformat()})
        else:
            found = await self._get("/v1/checks", params)
        return found

    async def open_requests(self) -> list[dict[str, Any]]:
        """Open subject requests with their due dates, soonest first."""
        found: list[dict[str, Any]] = await self._get("/v1/requests", {})
        return found

    async def pending_withdrawals(self) -> list[dict[str, Any]]:
        """Pending withdrawal applications, the soonest to take effect first."""
        found: list[dict[str, Any]] = await self._get("/v1/withdrawals", {"status": "pending"})
        return found

    async def expiring_consents(self, within_days: int) -> list[dict[str, Any]]:
        """Consents in force whose term ends within `within_days` days, soonest first."""
        found: list[dict[str, Any]] = await self._get("/v1/consents/expiring", {"within_days": within_days})
        return found

    async def _get(self, path: str, params: dict[str, Any], *, missing: bool = False) -> Any:
        if not self._token:
            raise ProjectorError("CONSENT_CONSOLE_PROJECTOR_TOKEN is not set: the console cannot ask the projector")
        try:
            answer = await self._client.get(path, params=params, headers={"Authorization": f"Bearer {self._token}"})
        except httpx.HTTPError as error:
            raise ProjectorError(f"the projector is not reachable ({type(error).__name__})") from None
        if missing and answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise ProjectorError(_detail(answer), answer.status_code)
        return answer.json()


def _detail(answer: httpx.Response) -> str:
    """The projector's own words for a refusal."""
    try:
        detail = answer.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):  # a 422: the fields and what is wrong with them
        detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])[1:]))}: {d.get('msg')}" for d in detail)
    return f"the projector answered {answer.status_code}: {detail or answer.reason_phrase}"
