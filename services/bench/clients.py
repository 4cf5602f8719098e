"""The HTTP client every HTTP line and its ceiling share: httpx, on this process's event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx

from services.bench.harness import percentile
from services.bench.synthetic import HEADERS, grant

CLIENTS = 10  # concurrent clients of the HTTP command line


@dataclass(frozen=True)
class Load:
    """What a load produced: requests per second over the load and each request's latency (ms)."""

    per_second: float
    latencies_ms: list[float]
    failures: int

    @property
    def p50(self) -> float:
        """Median latency, ms."""
        return percentile(self.latencies_ms, 0.5)

    @property
    def p99(self) -> float:
        """99th percentile latency, ms."""
        return percentile(self.latencies_ms, 0.99)


async def _grants(url: str, count: int, clients: int, progress: Callable[[int], None]) -> Load:
    numbers = iter(range(count))
    latencies: list[float] = []
    failures = 0

    async def worker() -> None:
        nonlocal failures
        async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=60) as client:
            for n in numbers:
                began = time.perf_counter()
                answer = await client.post(f"/v1/subjects/{uuid4()}/consents", json=grant(n))
                latencies.append((time.perf_counter() - began) * 1000)
                failures += answer.status_code != 201
                progress(1)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return Load(count / (time.perf_counter() - began), latencies, failures)


def post_grants(url: str, count: int, progress: Callable[[int], None], clients: int = CLIENTS) -> Load:
    """POST `count` grants for new subjects from `clients` concurrent clients (each waits for its answer)."""
    return asyncio.run(_grants(url, count, clients, progress))


async def _checks(url: str, params: list[dict[str, Any]], progress: Callable[[int], None]) -> Load:
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=60) as client:
        await client.get("/v1/checks", params=params[0])  # the connection made before timing
        began = time.perf_counter()
        for asked in params:
            start = time.perf_counter()
            answer = await client.get("/v1/checks", params=asked)
            latencies.append((time.perf_counter() - start) * 1000)
            failures += answer.status_code != 200
            progress(1)
        seconds = time.perf_counter() - began
    return Load(len(params) / seconds, latencies, failures)


def get_checks(url: str, params: list[dict[str, Any]], progress: Callable[[int], None]) -> Load:
    """GET /v1/checks once for each of `params`, one after the other (a single client)."""
    return asyncio.run(_checks(url, params, progress))
