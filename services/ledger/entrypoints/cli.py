"""The ledger's commands of `consent-ledger`: relay, verify, bundle, public-key, sealing-public-key.

Each builds the ledger through the composition root (services.ledger.bootstrap), calls one use case and
says in plain words what went wrong; services/cli.py adds them to the project's one command line.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress

from services.ledger.bootstrap import ConfigurationError, LedgerServices, build
from services.ledger.entrypoints.relay import relay_for
from services.ledger.evidence.bundle import Scope, write_bundle
from services.ledger.evidence.topic_check import compare, read_topic, stored_fingerprints
from services.ledger.settings import LedgerSettings

commands = typer.Typer()
console = Console()


@commands.command()
def relay() -> None:
    """Publish the ledger's event store to consent.events.v1 until Ctrl-C (one active relay per store).

    Reads the ledger's settings (CONSENT_LEDGER_STORE, CONSENT_KAFKA_BOOTSTRAP, ...). The ledger runs
    its own relay unless CONSENT_LEDGER_RUN_RELAY=false; two relays on one store are safe: one waits.
    """
    wired = _ledger_or_exit("start the relay")
    asyncio.run(_until_signalled(relay_for(wired).run))
    wired.close()


@commands.command()
def verify(
    topic: str | None = typer.Option(None, help="The events topic (default: CONSENT_EVENTS_TOPIC)."),
    show: int = typer.Option(20, help="How many differences to print at most."),
) -> None:
    """Prove consent.events.v1 and the event store hold the same events, or say exactly what differs."""
    wired = _ledger_or_exit("verify")
    settings = wired.settings
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console) as progress:
        stored_task = progress.add_task("event store", total=wired.ledger.recorder.max_notification_id() or 0)
        stored = stored_fingerprints(wired.ledger, lambda n: progress.advance(stored_task, n))
        topic_task = progress.add_task("topic", total=None)
        envelopes = asyncio.run(
            read_topic(settings.kafka(), topic or settings.events_topic, lambda n: progress.advance(topic_task, n))
        )
    wired.close()
    report = compare(stored, envelopes)
    if report.verified:
        console.print(f"verified: {report.stored} events; the topic and the store agree and every chain holds")
        return
    console.print(f"[red]NOT verified[/]: {len(report.problems)} difference(s); the first:", highlight=False)
    for problem in report.problems[:show]:
        console.print(f"  {problem}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@commands.command()
def bundle(
    out: Annotated[Path, typer.Argument(help="The ZIP file to write.")],
    subject: Annotated[UUID | None, typer.Option(help="Only this subject's events.")] = None,
    start: str | None = typer.Option(None, "--from", help="Only events recorded at or after (ISO 8601, with offset)."),
    end: str | None = typer.Option(None, "--to", help="Only events recorded before (ISO 8601, with offset)."),
) -> None:
    """Write a signed evidence bundle for a regulator: one subject, a time range, or (by default) everything."""
    try:
        scope = Scope(subject, _moment(start, "--from"), _moment(end, "--to"))
    except ValueError as error:
        console.print(f"[red]cannot make an evidence bundle:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from error
    wired = _ledger_or_exit("make an evidence bundle")
    if wired.signing_key is None:
        console.print("[red]cannot make an evidence bundle:[/] CONSENT_LEDGER_SIGNING_KEY is not set")
        raise typer.Exit(1)
    began = time.perf_counter()
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console) as progress:
        task = progress.add_task("events read", total=wired.ledger.recorder.max_notification_id() or 0)
        summary = write_bundle(
            wired.ledger, wired.forms, wired.signing_key, scope=scope, path=out, now=datetime.now(UTC),
            progress=lambda n: progress.advance(task, n),
        )  # fmt: skip
    wired.close()
    console.print(
        f"wrote {summary.path}: {summary.events} events of {summary.subjects} subject(s), checkpoint over "
        f"{summary.tree_size} events, {summary.bytes / 1e6:.1f} MB in {time.perf_counter() - began:.1f} s; "
        f"signed by key {summary.key_id}",
        highlight=False, soft_wrap=True,
    )  # fmt: skip


@commands.command("public-key")
def public_key_command() -> None:
    """Print the public key (PEM) that the ledger's checkpoints and evidence bundles verify with."""
    wired = _ledger_or_exit("show the public key")
    wired.close()
    if wired.signing_key is None:
        console.print("[red]no signing key:[/] CONSENT_LEDGER_SIGNING_KEY is not set")
        raise typer.Exit(1)
    typer.echo(wired.signing_key.public_pem(), nl=False)


@commands.command("sealing-public-key")
def sealing_public_key_command() -> None:
    """Print the public key (base64) channels seal personal data to before they send it on Kafka."""
    wired = _ledger_or_exit("show the sealing public key")
    wired.close()
    if wired.commands.sealing_key is None:
        console.print("[red]no sealing key:[/] CONSENT_LEDGER_SEALING_KEY is not set")
        raise typer.Exit(1)
    typer.echo(wired.commands.sealing_key.public_base64())


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        console.print(f"[red]{option}[/] takes an ISO 8601 moment with its offset, e.g. 2026-05-22T00:00:00+05:00")
        raise typer.Exit(2)
    return moment


def _ledger_or_exit(what: str) -> LedgerServices:
    try:
        return build(LedgerSettings())
    except ConfigurationError as error:
        console.print(f"[red]cannot {what}:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error


async def _until_signalled(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run(stop)
