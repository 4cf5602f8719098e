"""`consent-ledger bench`: a command per path, `all`, and `evidence` (evidence_build and evidence_verify)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.bench.names import ALL, COMMANDS

bench_app = typer.Typer(
    help="Benchmarks: each line of the performance budget beside a ceiling measured in the same run.",
    no_args_is_help=True,
)
console = Console(width=None if Console().is_terminal else 200)

Store = Annotated[
    str,
    typer.Option(help="sqlite (files in a temporary folder), postgresql (a throwaway server) or a store URL."),
]
Events = Annotated[
    int | None, typer.Option(min=1, help="The path's size (events, commands, checks, subjects); default: its own.")
]
Json = Annotated[Path | None, typer.Option("--json", dir_okay=False, help="Also write one JSON object a line here.")]


def run(names: list[str], store: str, events: int | None, json: Path | None) -> None:
    """Measure `names` (the paths' code is imported only now: `consent-ledger` starts fast without it)."""
    from services.bench.run import run as measure  # noqa: PLC0415 - see above

    measure(names, store, events, json, console)


def _command(name: str) -> None:
    def measure(store: Store = "sqlite", events: Events = None, json: Json = None) -> None:
        run([name], store, events, json)

    measure.__doc__ = f"Measure {name} beside its ceiling (see docs/decisions/0013-benchmarks.md)."
    bench_app.command(name)(measure)


for _name in COMMANDS:
    _command(_name)


@bench_app.command("all")
def bench_all(store: Store = "sqlite", events: Events = None, json: Json = None) -> None:
    """Measure every path in one environment: a table of lines, and with --json one JSON object a line."""
    run(list(ALL), store, events, json)


@bench_app.command("evidence")
def bench_evidence(
    events: Annotated[int, typer.Option(min=1, help="Events in the synthetic ledger.")] = 100_000,
    store: Store = "sqlite", json: Json = None,
) -> None:  # fmt: skip
    """Build an evidence bundle of a synthetic ledger and verify it: evidence_build and evidence_verify."""
    run(["evidence"], store, events, json)
