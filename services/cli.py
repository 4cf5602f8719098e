"""`consent-ledger`: the project's one command line: stack, secrets, relay, verify, replay, bundles, bench."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress

from schemas.evidence import load_public_key
from schemas.evidence_verifier import verify_bundle
from services.bench.cli import bench_app
from services.devstack.processes import MissingToolError
from services.devstack.secrets import ENV_FILES, TOKENS, write_env_files
from services.devstack.stack import StackSettings, print_tokens, run_stack
from services.ledger.entrypoints.cli import commands as ledger_commands
from services.ledger.settings import LedgerSettings
from services.migrations import upgrade
from services.platform.database import StoreUnavailableError
from services.projector.replay import differences
from services.projector.replay import replay as replay_topic
from services.projector.settings import ProjectorSettings
from services.projector.store import ProjectionStore

app = typer.Typer(help="Event-sourced consent ledger of ESPERANCE-RK LLP.", no_args_is_help=True)
console = Console()


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level.")) -> None:
    """Event-sourced consent ledger of ESPERANCE-RK LLP."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def stack(
    brokers: Annotated[
        int | None, typer.Option(help="1: one open broker; 3: a SASL/SCRAM cluster with ACLs. [default: 1]")
    ] = None,
    ledgers: Annotated[
        int | None, typer.Option(help="Ledger instances (more than one: PostgreSQL). [default: 1]")
    ] = None,
    projectors: Annotated[
        int | None,
        typer.Option(help="Projector instances, one consumer group (more than one: PostgreSQL). [default: 1]"),
    ] = None,
) -> None:
    """Start Kafka, the ledger and the projector on loopback and serve until Ctrl-C.

    Ports and paths come from CONSENT_KAFKA_PORT, CONSENT_KAFKA_CONTROLLER_PORT, CONSENT_LEDGER_PORT,
    CONSENT_PROJECTOR_PORT and CONSENT_STACK_DIR; CONSENT_KAFKA_BOOTSTRAP uses an external broker instead.
    Further instances listen 2 ports above the one before; cluster nodes on CONSENT_KAFKA_PORT and up.
    """
    counts = {"brokers": brokers, "ledgers": ledgers, "projectors": projectors}
    try:
        given = {name: count for name, count in counts.items() if count is not None}
        run_stack(StackSettings.model_validate(StackSettings().model_dump() | given), console)  # the rest from env
    except ValidationError as error:
        console.print(f"[red]cannot start the stack:[/] {error.errors()[0]['msg']}", highlight=False)
        raise typer.Exit(2) from error
    except (MissingToolError, RuntimeError, TimeoutError) as error:
        console.print(f"[red]cannot start the stack:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command()
def chaos(
    rounds: Annotated[int, typer.Option(min=1, help="Rounds of four failures each.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the random moments and choices (same seed, same choices).")] = 1,
    keep: Annotated[
        Path | None, typer.Option("--dir", help="Run in this new folder and keep it (logs, data); default: temporary.")
    ] = None,
) -> None:
    """Survival run: a 3-broker cluster, 2 ledgers, 2 projectors on PostgreSQL under load; every round kill -9
    a broker, the active relay's ledger and a projector mid-cascade, and restart PostgreSQL; then count.

    Prints one JSON line: rounds, acknowledged, lost, duplicated, replay_mismatches and the worst
    relay_takeover_s, rebalance_s and pg_catch_up_s. Exits 1 unless lost, duplicated and mismatches are 0.
    """
    from services.chaos.run import FAILURES, run_chaos  # noqa: PLC0415 - only this command needs it

    signal.signal(signal.SIGTERM, _interrupted)  # a kill stops the run's parts and removes its folder too
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=Console(stderr=True)) as progress:
        task = progress.add_task("surviving", total=rounds)
        try:
            figures = run_chaos(rounds, seed, lambda done: progress.update(task, completed=done), keep)
        except (MissingToolError, *FAILURES) as error:
            progress.stop()
            Console(stderr=True).print(f"[red]the survival run failed:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from error
    print(orjson.dumps(figures).decode())
    if any(figures[name] for name in ("lost", "duplicated", "replay_mismatches", "instances_disagreeing")):
        raise typer.Exit(1)


@app.command()
def secrets(
    folder: Annotated[Path, typer.Option("--dir", help="Where compose.yaml reads its env files.")] = Path("deploy"),
) -> None:
    """Write the development secrets deploy/compose.yaml reads: tokens, the ledger's keys, the Kafka passwords.

    Each service's env file holds only its own: tokens.env (both services), ledger.env (keys and its Kafka
    password), projector.env (its Kafka password), kafka-broker.env (the admin's), kafka.env (every principal's,
    for the one-shot kafka-setup).

    Run once before `docker compose -f deploy/compose.yaml up`. Another run keeps every secret that is
    there and adds only what is missing (a new master key would leave stored subject keys unreadable).
    """
    if not folder.is_dir():
        console.print(f"[red]no folder {folder}:[/] run this from the repository, or pass --dir", highlight=False)
        raise typer.Exit(2)
    made = write_env_files(folder)
    console.print(f"wrote {', '.join(str(folder / name) for name in ENV_FILES)} (git-ignored)", highlight=False)
    print_tokens(console, made[TOKENS])


@app.command()
def migrate() -> None:
    """Upgrade the ledger's side tables and the projector's read model to the newest revision (stores do it on start).

    Reads CONSENT_LEDGER_STORE and CONSENT_PROJECTOR_STORE; eventsourcing's own tables stay as that library makes them.
    """
    stores = {"ledger": LedgerSettings().ledger_store, "projector": ProjectorSettings().projector_store}
    try:
        for which, url in stores.items():
            console.print(upgrade(url, which), highlight=False, soft_wrap=True)
    except StoreUnavailableError as error:
        console.print(f"[red]cannot migrate:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error


@app.command()
def replay(
    into: str | None = typer.Option(None, help="Store URL to rebuild into (default: a new SQLite file under var/)."),
) -> None:
    """Rebuild the projection from offset 0 into a fresh store and report whether it equals the live one."""
    settings = ProjectorSettings()
    target = into or f"sqlite:///var/replay-{datetime.now(UTC):%Y%m%dT%H%M%S}.sqlite3"
    fresh, live = ProjectionStore(target), ProjectionStore(settings.projector_store)
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console) as progress:
        task = progress.add_task("replaying", total=None)
        count = asyncio.run(
            replay_topic(fresh, settings.kafka(), settings.events_topic, lambda n: progress.advance(task, n))
        )
    found = differences(live.dump(), fresh.dump())
    fresh.close()
    live.close()
    if not found:
        console.print(f"replayed {count} events into {target}: equal to the live projection")
        return
    console.print(f"[red]replayed {count} events into {target}: it differs from the live projection[/]")
    for line in found:
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@app.command("verify-bundle")
def verify_bundle_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The evidence bundle (ZIP).")],
    public_key: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="The ledger's public key (PEM or base64).")
    ],
) -> None:
    """Check an evidence bundle offline with the ledger's public key: "verified", or the first thing that is wrong."""
    try:
        key = load_public_key(public_key.read_bytes())
    except ValueError as error:
        console.print(f"[red]cannot read the public key:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from error
    began = time.perf_counter()
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console) as progress:
        task = progress.add_task("events checked", total=None)
        verdict = verify_bundle(path, key, lambda n: progress.advance(task, n))
    seconds = time.perf_counter() - began
    console.print(f"{verdict} ({seconds:.1f} s)", highlight=False, soft_wrap=True)
    if not verdict.verified:
        raise typer.Exit(1)


app.add_typer(bench_app, name="bench")

app.registered_commands += ledger_commands.registered_commands


if __name__ == "__main__":
    app()
