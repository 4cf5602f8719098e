"""The paths by name, and a run of some of them in one environment."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from services.bench.command_to_check import command_to_check
from services.bench.environment import Bench, bench
from services.bench.evidence import evidence
from services.bench.harness import Line, print_table, write_json
from services.bench.history_cost import history_cost
from services.bench.http_commands import http_commands
from services.bench.kafka_commands import kafka_commands
from services.bench.projector import bulk_check, check, projector_replay
from services.bench.relay import relay

Path_ = Callable[[Bench], list[Line]]


def _one(measure: Callable[[Bench], Line]) -> Path_:
    return lambda environment: [measure(environment)]


PATHS: dict[str, Path_] = {
    "relay": _one(relay),
    "kafka_commands": _one(kafka_commands),
    "http_commands": _one(http_commands),
    "command_to_check": _one(command_to_check),
    "projector_replay": _one(projector_replay),
    "check": _one(check),
    "bulk_check": _one(bulk_check),
    "evidence": evidence,  # evidence_build and evidence_verify: the bundle is built, then verified
    "evidence_build": lambda environment: evidence(environment)[:1],
    "evidence_verify": lambda environment: evidence(environment)[1:],
    "history_cost": _one(history_cost),
}


QUIET = ("faststream", "aiokafka", "eventsourcing", "httpx")  # their INFO and retry lines would bury the table


def run(names: Sequence[str], store: str, events: int | None, json: Path | None, console: Console) -> list[Line]:
    """Measure `names` in one environment (started here, taken down here); print the table, write --json."""
    lines: list[Line] = []
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.ERROR)
    with bench(store, events, console) as environment:
        for name in names:
            environment.say(f"measuring {name} on {environment.kind} ...")
            lines += PATHS[name](environment)
    print_table(console, lines)
    if json is not None:
        write_json(json, lines)
    return lines
