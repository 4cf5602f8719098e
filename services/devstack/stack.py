"""The local service stack: a real Kafka broker, the ledger and the projector on loopback, until Ctrl-C.

Each service is a child process of its own, started with its settings in the environment and
stopped by its PID in reverse order of start, the broker last.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import orjson
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.table import Table

from services.devstack.kafka import LocalKafka, provide_kafka
from services.devstack.processes import start_child, stop_child, tail, wait_for_health
from services.devstack.secrets import TOKENS, completed, token_table


class StackSettings(BaseSettings):
    """Where the stack listens and keeps its files; each field is read from CONSENT_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CONSENT_", extra="ignore")

    kafka_bootstrap: str | None = Field(default=None, description="Use this broker instead of starting one.")
    kafka_port: int = Field(default=9092, description="Port of the local broker's client listener.")
    kafka_controller_port: int = Field(default=9093, description="Port of the local broker's KRaft controller.")
    ledger_port: int = Field(default=8081, description="Port of the ledger's HTTP API.")
    projector_port: int = Field(default=8082, description="Port of the projector's HTTP API.")
    stack_dir: Path = Field(default=Path("var"), description="Broker data, SQLite stores and logs.")


def development_secrets(stack_dir: Path) -> dict[str, str]:
    """Secrets for a local stack, made once and kept in stack_dir/secrets.json (never for production).

    The keys and tokens of services.devstack.secrets: a secret or token added to the stack since the
    file was written (an older stack's) is made and added, the rest kept. Values set in the
    environment win.
    """
    path = stack_dir / "secrets.json"
    written: dict[str, str] = orjson.loads(path.read_bytes()) if path.exists() else {}
    secrets = completed(written)
    if secrets != written:
        path.touch(mode=0o600)
        path.write_bytes(orjson.dumps(secrets, option=orjson.OPT_INDENT_2))
    return {name: os.environ.get(name, value) for name, value in secrets.items()}


def print_tokens(console: Console, tokens_json: str) -> None:
    """Print the stack's bearer tokens: the one with every scope, and each subscriber system's own."""
    console.print("bearer tokens (development only; a system confirms enforcement with its own):", highlight=False)
    for name, scopes, token in token_table(tokens_json):  # one line each, whatever the width: easy to copy
        console.print(f"  {name:<10} {scopes:<24} {token}", highlight=False, soft_wrap=True, markup=False)


@dataclass(frozen=True)
class RunningService:
    """A service the stack started: where it listens, its process (stopped by PID) and its log."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def _serve(name: str, factory: str, port: int, env: dict[str, str], stack_dir: Path) -> Iterator[RunningService]:
    log = stack_dir / f"{name}.log"
    argv = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port),
            "--timeout-graceful-shutdown", "10"]  # fmt: skip
    process = start_child(argv, log_path=log, env={**os.environ, **env})
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_health(name, url, process, log)
        yield RunningService(name, url, process, log)
    finally:
        stop_child(process)


def _check_ports_free(settings: StackSettings) -> None:
    ports = {"CONSENT_LEDGER_PORT": settings.ledger_port, "CONSENT_PROJECTOR_PORT": settings.projector_port}
    if settings.kafka_bootstrap is None:
        ports |= {
            "CONSENT_KAFKA_PORT": settings.kafka_port,
            "CONSENT_KAFKA_CONTROLLER_PORT": settings.kafka_controller_port,
        }
    for variable, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise RuntimeError(f"port {port} is already in use: stop what holds it, or set {variable}") from None


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_stack(settings: StackSettings, console: Console) -> None:
    """Start the broker (unless an external one is configured), the ledger and the projector; serve until Ctrl-C."""
    _check_ports_free(settings)
    stack_dir = settings.stack_dir.resolve()
    stack_dir.mkdir(parents=True, exist_ok=True)
    # Installed explicitly: a shell's background job inherits SIGINT ignored, and Ctrl-C must still stop us.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    with ExitStack() as stack:
        started = time.monotonic()
        broker = _local_broker(settings, stack_dir)
        with console.status("starting Kafka"):
            bootstrap = stack.enter_context(provide_kafka(settings.kafka_bootstrap, use_docker=False, local=broker))
        env = {"CONSENT_KAFKA_BOOTSTRAP": bootstrap, **development_secrets(stack_dir)}
        services = _start_services(stack, settings, env, stack_dir, console)
        console.print(_ready_table(time.monotonic() - started, bootstrap, broker, services))
        state_file = _write_state_file(stack_dir, bootstrap, broker, services)
        stack.callback(state_file.unlink, missing_ok=True)
        print_tokens(console, env[TOKENS])
        console.print(f"stack ready; {state_file} lists the parts and their PIDs", highlight=False)
        children = [(service.name, service.process, service.log) for service in services]
        if broker is not None and broker.process is not None:
            children.append(("Kafka broker", broker.process, broker.log_path))
        try:
            _watch(children, console)
        except KeyboardInterrupt:
            console.print("stopping the stack")
    console.print("stack stopped")


def _local_broker(settings: StackSettings, stack_dir: Path) -> LocalKafka | None:
    """The broker the stack runs itself, unless an external one is configured."""
    if settings.kafka_bootstrap is not None:
        return None
    return LocalKafka(
        broker_port=settings.kafka_port,
        controller_port=settings.kafka_controller_port,
        data_dir=stack_dir / "kafka",
    )


def _start_services(
    stack: ExitStack, settings: StackSettings, env: dict[str, str], stack_dir: Path, console: Console
) -> list[RunningService]:
    """Start the ledger, then the projector, each stopped when `stack` closes; `env` gains their stores."""
    services = []
    for name, factory, port, store in (
        ("ledger", "services.ledger.entrypoints.http.app:create_app", settings.ledger_port, "CONSENT_LEDGER_STORE"),
        ("projector", "services.projector.http:create_app", settings.projector_port, "CONSENT_PROJECTOR_STORE"),
    ):
        env[store] = os.environ.get(store, f"sqlite:///{stack_dir / name}.sqlite3")
        with console.status(f"starting the {name}"):
            services.append(stack.enter_context(_serve(name, factory, port, env, stack_dir)))
    return services


def _ready_table(seconds: float, bootstrap: str, broker: LocalKafka | None, services: list[RunningService]) -> Table:
    """The parts of the stack, where they listen, their PIDs and logs."""
    table = Table(title=f"consent ledger stack ready in {seconds:.1f} s — Ctrl-C stops it")
    for column in ("part", "address", "pid", "log"):
        table.add_column(column)
    if broker is not None and broker.process is not None:
        table.add_row("kafka", bootstrap, str(broker.process.pid), str(broker.log_path))
    else:
        table.add_row("kafka", bootstrap, "external", "")
    for service in services:
        table.add_row(service.name, service.url, str(service.process.pid), str(service.log))
    return table


def _write_state_file(
    stack_dir: Path, bootstrap: str, broker: LocalKafka | None, services: list[RunningService]
) -> Path:
    """Write stack_dir/stack.json, the parts and their PIDs, and return its path."""
    parts = [{"part": "kafka", "address": bootstrap, "pid": broker.process.pid if broker and broker.process else None}]
    parts += [{"part": service.name, "address": service.url, "pid": service.process.pid} for service in services]
    state_file = stack_dir / "stack.json"
    state_file.write_bytes(orjson.dumps({"parts": parts}, option=orjson.OPT_INDENT_2))
    return state_file


def _watch(children: list[tuple[str, subprocess.Popen[bytes], Path]], console: Console) -> None:
    """Until interrupted: stop the stack (SystemExit 1) as soon as one of its processes exits."""
    while True:
        for name, process, log in children:
            if process.poll() is not None:
                console.print(f"[red]the {name} exited with code {process.returncode}; stopping the stack[/]")
                console.print(tail(log), markup=False, highlight=False)
                raise SystemExit(1)
        time.sleep(0.5)
