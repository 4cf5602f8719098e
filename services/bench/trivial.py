"""The ceiling of the HTTP lines: a trivial FastAPI app with the ledger's and the projector's paths, served by
the same uvicorn and loaded by the same client. It parses the JSON body and answers; it stores nothing.

Run with: uvicorn --factory services.bench.trivial:create_app.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from fastapi import FastAPI, Request, status


def create_app() -> FastAPI:
    """An app that answers a command with 201 and a check with a fixed answer."""
    app = FastAPI(title="bench: trivial app")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/subjects/{subject_id}/consents", status_code=status.HTTP_201_CREATED)
    async def command(subject_id: UUID, request: Request) -> dict[str, Any]:
        await request.json()
        return {"subject_id": str(subject_id), "event_ids": [str(uuid4())], "replayed": False}

    @app.get("/v1/checks")
    def check(subject_id: UUID, system: str, purpose: str) -> dict[str, Any]:
        return {"subject_id": str(subject_id), "allow": False, "rule": "no_consent", "reason": "", "event_id": None}

    return app
