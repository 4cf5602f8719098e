"""`consent-ledger`: the project's one command line (stack now; replay, verify, export and bench later)."""

from __future__ import annotations

import logging

import typer
from rich.console import Console

from services.devstack.processes import MissingToolError
from services.devstack.stack import StackSettings, run_stack

app = typer.Typer(help="Event-sourced consent ledger of ESPERANCE-RK LLP.", no_args_is_help=True)
console = Console()


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level.")) -> None:
    """Event-sourced consent ledger of ESPERANCE-RK LLP."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def stack() -> None:
    """Start Kafka, the ledger and the projector on loopback and serve until Ctrl-C.

    Ports and paths come from CONSENT_KAFKA_PORT, CONSENT_KAFKA_CONTROLLER_PORT, CONSENT_LEDGER_PORT,
    CONSENT_PROJECTOR_PORT and CONSENT_STACK_DIR; CONSENT_KAFKA_BOOTSTRAP uses an external broker instead.
    """
    try:
        run_stack(StackSettings(), console)
    except (MissingToolError, RuntimeError, TimeoutError) as error:
        console.print(f"[red]cannot start the stack:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error


if __name__ == "__main__":
    app()
