"""Schemathesis against a service's own OpenAPI document, in-process over ASGI, with a fixed seed.

Both services' fuzz tests share this: one configuration (positive and negative data, a bounded
number of examples per operation, derandomized), the response-conformance checks (no server error,
a declared status code, a declared content type, a body matching the declared schema), and a
caller that sends a valid bearer token with every scope on most cases and none on every fourth.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from schemathesis.python.asgi import shutdown_lifespans

SEED = 20260504
EXAMPLES_PER_OPERATION = 10  # per operation and phase: the suite stays within CI time
WITHOUT_TOKEN_EVERY = 4  # every fourth case goes without a token: the 401 must be declared too
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")


def fuzz_config(examples: int = EXAMPLES_PER_OPERATION) -> schemathesis.Config:
    """Positive and negative cases, `examples` per operation and phase, the same ones every run."""
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": examples, "deterministic": True},
            "phases": {"stateful": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )


def load_schema(
    request: pytest.FixtureRequest, app: Any, examples: int = EXAMPLES_PER_OPERATION
) -> Iterator[schemathesis.BaseSchema]:
    """The app's /openapi.json as schemathesis runs it; the app's lifespan is ended afterwards."""
    # schemathesis 4.32's lazy schemas rename the test through `node._nodeid`, which pytest 9.2 no longer has
    # (it keeps `_id`); give it the attribute so the run goes on (the report keeps the test's own name).
    request.node._nodeid = request.node.nodeid
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app, config=fuzz_config(examples))
    finally:
        shutdown_lifespans()


@dataclass
class Caller:
    """Sends each case with a token holding every scope, except every WITHOUT_TOKEN_EVERY-th, and counts them."""

    token: str
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    _turn: Iterator[int] = field(default_factory=itertools.count)

    def call_and_validate(self, case: schemathesis.Case) -> None:
        """Call the app with the case and run the conformance checks on its answer."""
        headers = dict(case.headers or {})
        headers.pop("Authorization", None)
        if next(self._turn) % WITHOUT_TOKEN_EVERY:
            headers["Authorization"] = f"Bearer {self.token}"
        case.headers = headers
        response = case.call_and_validate()
        self.sent += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1

    def summary(self) -> str:
        """How many cases were sent, and their answers by status code."""
        return f"{self.sent} cases, answers {dict(sorted(self.statuses.items()))}"
