"""http_commands: single GrantConsent commands over HTTP from 10 concurrent clients, beside a trivial app.

The ledger runs as operators run it (uvicorn, its own store; no Kafka consumer, no relay, no scheduler,
so only the command path is measured). The ceiling is services.bench.trivial served by the same
uvicorn and loaded by the same client: what HTTP alone costs on this machine.
"""

from __future__ import annotations

from services.bench.clients import CLIENTS, Load, post_grants
from services.bench.environment import Bench, Service
from services.bench.harness import Line, Meter, line
from services.bench.synthetic import Secrets

DEFAULT = 5_000
NO_KAFKA = "127.0.0.1:9"  # the ledger's HTTP path needs no broker; nothing listens there


def ledger_env(bench: Bench, secrets: Secrets, **extra: str) -> dict[str, str]:
    """A ledger process's settings on a fresh store, consuming nothing and relaying nothing unless told."""
    return {
        **secrets.env(), "CONSENT_LEDGER_STORE": bench.store_url("ledger"), "CONSENT_KAFKA_BOOTSTRAP": NO_KAFKA,
        "CONSENT_LEDGER_CONSUME_COMMANDS": "false", "CONSENT_LEDGER_RUN_RELAY": "false",
        "CONSENT_SCHEDULER_INTERVAL_SECONDS": "0", **extra,
    }  # fmt: skip


def trivial(bench: Bench) -> Service:
    """The trivial app, started once per run."""
    if "trivial" not in bench.shared:
        bench.shared["trivial"] = bench.service("trivial", {})
    service: Service = bench.shared["trivial"]
    return service


def _load(bench: Bench, service: Service, count: int, what: str) -> tuple[Load, Meter]:
    meter = Meter([service.process.pid]).start()
    load = post_grants(service.url, count, bench.task(what, count))
    if load.failures:
        raise RuntimeError(f"{load.failures} of {count} commands to {what} were not accepted")
    return load, meter


def http_commands(bench: Bench) -> Line:
    """Commands/s and p50/p99 from 10 concurrent clients, the trivial app's beside them."""
    count = bench.size(DEFAULT)
    ledger = bench.service("ledger", ledger_env(bench, Secrets.fresh()))
    post_grants(ledger.url, min(50, count), lambda n: None)  # warm-up: imports, pools, first key table writes
    load, meter = _load(bench, ledger, count, "http_commands: ledger")
    usage = meter.stop()
    ceiling, _ = _load(bench, trivial(bench), count, "http_commands: trivial app")
    detail = {
        "p50_ms": load.p50, "p99_ms": load.p99, "ceiling_p50_ms": ceiling.p50, "ceiling_p99_ms": ceiling.p99,
        "clients": CLIENTS,
    }  # fmt: skip
    name = "trivial FastAPI app, same uvicorn and client"
    return line("http_commands", load.per_second, ceiling.per_second, name, events=count, usage=usage, detail=detail)
