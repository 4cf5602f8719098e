"""The local service stack: real Kafka, the ledger and the projector on loopback, until Ctrl-C.

By default one open broker, one ledger and one projector on SQLite. With `brokers` 3 (or more) a
KRaft cluster with SASL/SCRAM principals and ACLs (services.devstack.cluster); with more than one
ledger or projector instance, PostgreSQL stores they share (started here unless given). Each part
is a child process of its own, started with its settings in the environment (a service gets only its
own Kafka password) and stopped by its PID in reverse order of start, the broker last.
`running_stack` yields the running parts to code that kills and restarts them (scripts/chaos).
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
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import orjson
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.table import Table

from services.devstack.cluster import LocalKafkaCluster
from services.devstack.kafka import LocalKafka, provide_kafka
from services.devstack.postgres import LocalPostgres
from services.devstack.processes import start_child, stop_child, tail, wait_for_health
from services.devstack.secrets import (
    CONSOLE_TOKEN,
    KAFKA_PASSWORDS,
    LEDGER_SECRETS,
    TOKENS,
    completed,
    console_token,
    token_table,
)
from services.platform.kafka import KafkaAccess
from services.platform.topology import CLUSTER_REPLICATION


class StackSettings(BaseSettings):
    """Where the stack listens, keeps its files, and how many of each part it runs; each field from CONSENT_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CONSENT_", extra="ignore")

    kafka_bootstrap: str | None = Field(default=None, description="Use this broker instead of starting one.")
    kafka_port: int = Field(default=9092, description="Port of the local broker's client listener (the first's).")
    kafka_controller_port: int = Field(default=9093, description="Port of the local broker's KRaft controller.")
    ledger_port: int = Field(default=8081, description="Port of the ledger's HTTP API (the first instance's).")
    projector_port: int = Field(default=8082, description="Port of the projector's HTTP API (the first instance's).")
    stack_dir: Path = Field(default=Path("var"), description="Broker data, stores and logs.")
    brokers: int = Field(
        default=1, ge=1, description="1: one broker without authentication; 3 or more: a SASL/SCRAM cluster with ACLs."
    )
    ledgers: int = Field(default=1, ge=1, description="Ledger instances; more than one share a PostgreSQL store.")
    projectors: int = Field(default=1, ge=1, description="Projector instances: one consumer group, one read model.")

    @model_validator(mode="after")
    def _cluster_of_three(self) -> StackSettings:
        if self.brokers == 2:
            raise ValueError("brokers: 1, or 3 or more (topics are replicated 3 times with min.insync.replicas 2)")
        return self

    @property
    def cluster(self) -> bool:
        """True when the stack runs the authenticated cluster rather than one open broker."""
        return self.brokers >= 3 and self.kafka_bootstrap is None

    @property
    def shared_store(self) -> bool:
        """True when several instances share PostgreSQL stores (SQLite stays the single-instance default)."""
        return self.ledgers > 1 or self.projectors > 1


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


# Secrets a service gets only from its own settings, never from the environment the stack was started in.
SECRET_NAMES = {*LEDGER_SECRETS, KAFKA_PASSWORDS, "CONSENT_KAFKA_USERNAME", "CONSENT_KAFKA_PASSWORD"}
FACTORIES = {
    "ledger": "services.ledger.entrypoints.http.app:create_app",
    "projector": "services.projector.http:create_app",
}


@dataclass
class RunningService:
    """A service instance the stack started: where it listens, its process (stopped by PID), its log and settings."""

    name: str
    kind: str  # "ledger" or "projector"
    port: int
    env: dict[str, str] = field(repr=False)
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The instance's HTTP base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The PID of the instance's process while it runs."""
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def start(self) -> None:
        """Start the instance (again) with its settings and wait until /health answers."""
        argv = [sys.executable, "-m", "uvicorn", "--factory", FACTORIES[self.kind], "--host", "127.0.0.1",
                "--port", str(self.port), "--timeout-graceful-shutdown", "10"]  # fmt: skip
        inherited = {name: value for name, value in os.environ.items() if name not in SECRET_NAMES}
        self.process = start_child(argv, log_path=self.log, env={**inherited, **self.env})  # only its own secrets
        try:
            wait_for_health(self.name, self.url, self.process, self.log)
        except BaseException:
            self.stop()
            raise

    def kill(self) -> None:
        """kill -9 the instance, as a crashed machine."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        """Stop the instance by its PID (SIGTERM, SIGKILL after 30 s)."""
        if self.process is not None:
            stop_child(self.process)
            self.process = None


@dataclass
class Stack:
    """The running parts: the broker or cluster, PostgreSQL when instances share stores, the service instances."""

    bootstrap: str
    broker: LocalKafka | LocalKafkaCluster | None
    postgres: LocalPostgres | None
    ledgers: list[RunningService]
    projectors: list[RunningService]
    secrets: dict[str, str] = field(repr=False)

    @property
    def services(self) -> list[RunningService]:
        """Every service instance, ledgers first."""
        return [*self.ledgers, *self.projectors]

    def kafka_access(self, principal: str) -> KafkaAccess:
        """How `principal` reaches the stack's Kafka (authenticated on the cluster, open on one broker)."""
        if isinstance(self.broker, LocalKafkaCluster):
            return self.broker.access(principal)
        return KafkaAccess(self.bootstrap)

    def parts(self) -> list[dict[str, object]]:
        """Every part with its address and PID, as stack.json lists them."""
        parts: list[dict[str, object]] = []
        if isinstance(self.broker, LocalKafkaCluster):
            parts += [{"part": f"kafka-{node.node_id}", "address": node.address,
                       "pid": node.process.pid if node.process else None} for node in self.broker.nodes]  # fmt: skip
        else:
            pid = self.broker.process.pid if self.broker is not None and self.broker.process else None
            parts.append({"part": "kafka", "address": self.bootstrap, "pid": pid})
        if self.postgres is not None:
            pid = self.postgres.process.pid if self.postgres.process else None
            parts.append({"part": "postgres", "address": f"127.0.0.1:{self.postgres.port}", "pid": pid})
        parts += [{"part": service.name, "address": service.url, "pid": service.pid} for service in self.services]
        return parts


def check_ports_free(settings: StackSettings) -> None:
    ports = {f"CONSENT_LEDGER_PORT (+{2 * i})": settings.ledger_port + 2 * i for i in range(settings.ledgers)}
    ports |= {f"CONSENT_PROJECTOR_PORT (+{2 * i})": settings.projector_port + 2 * i for i in range(settings.projectors)}
    if settings.cluster:
        ports |= {f"CONSENT_KAFKA_PORT (+{i})": settings.kafka_port + i for i in range(2 * settings.brokers)}
    elif settings.kafka_bootstrap is None:
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


@contextmanager
def running_stack(settings: StackSettings, console: Console | None = None) -> Iterator[Stack]:
    """Start every part the settings ask for and yield them; stop them all by PID (the broker last) on exit."""
    console = console or Console(quiet=True)
    check_ports_free(settings)
    stack_dir = settings.stack_dir.resolve()
    stack_dir.mkdir(parents=True, exist_ok=True)
    secrets = development_secrets(stack_dir)
    with ExitStack() as stack:
        broker = _local_broker(settings, stack_dir, secrets)
        with console.status("starting Kafka"):
            if isinstance(broker, LocalKafkaCluster):
                bootstrap = stack.enter_context(broker).bootstrap_servers
            else:
                bootstrap = stack.enter_context(provide_kafka(settings.kafka_bootstrap, use_docker=False, local=broker))
        postgres = None
        if settings.shared_store and not _stores_given():
            with console.status("starting PostgreSQL"):
                postgres = stack.enter_context(LocalPostgres(durable=True, base_dir=stack_dir / "postgres"))
        running = Stack(bootstrap, broker, postgres, [], [], secrets)
        for service in _services(settings, running, stack_dir):
            with console.status(f"starting the {service.name}"):
                service.start()
            stack.callback(service.stop)
            (running.ledgers if service.kind == "ledger" else running.projectors).append(service)
        yield running


def _stores_given() -> bool:
    return "CONSENT_LEDGER_STORE" in os.environ and "CONSENT_PROJECTOR_STORE" in os.environ


def _services(settings: StackSettings, running: Stack, stack_dir: Path) -> list[RunningService]:
    """The ledger and projector instances to start, each with its own settings in its environment."""
    secrets = running.secrets
    common = {"CONSENT_KAFKA_BOOTSTRAP": running.bootstrap, TOKENS: secrets[TOKENS]}
    if settings.cluster:
        common["CONSENT_TOPIC_REPLICATION"] = str(CLUSTER_REPLICATION)
    stores: dict[str, str] = {}
    for kind, variable in (("ledger", "CONSENT_LEDGER_STORE"), ("projector", "CONSENT_PROJECTOR_STORE")):
        if running.postgres is not None:
            stores[variable] = os.environ.get(variable) or running.postgres.create_database(kind)
        else:
            stores[variable] = os.environ.get(variable, f"sqlite:///{stack_dir / kind}.sqlite3")
    ledger_env = {
        **common,
        **{name: secrets[name] for name in LEDGER_SECRETS},
        "CONSENT_LEDGER_STORE": stores["CONSENT_LEDGER_STORE"],
        "CONSENT_CONSOLE_PROJECTOR_URL": f"http://127.0.0.1:{settings.projector_port}",  # the first projector
        CONSOLE_TOKEN: console_token(secrets[TOKENS]),
    }
    projector_env = {**common, "CONSENT_PROJECTOR_STORE": stores["CONSENT_PROJECTOR_STORE"]}
    instances = []
    for kind, count, port, own in (
        ("ledger", settings.ledgers, settings.ledger_port, ledger_env),
        ("projector", settings.projectors, settings.projector_port, projector_env),
    ):
        env = dict(own)
        if settings.cluster:  # each service its own principal: never another system's password
            env |= {"CONSENT_KAFKA_USERNAME": kind, "CONSENT_KAFKA_PASSWORD": running.kafka_access(kind).password or ""}
        for index in range(count):
            name = kind if count == 1 else f"{kind}-{index + 1}"
            instances.append(RunningService(name, kind, port + 2 * index, env, stack_dir / f"{name}.log"))
    return instances


def run_stack(settings: StackSettings, console: Console) -> None:
    """Start the parts the settings ask for; serve until Ctrl-C (or until one of them exits)."""
    # Installed explicitly: a shell's background job inherits SIGINT ignored, and Ctrl-C must still stop us.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    started = time.monotonic()
    with running_stack(settings, console) as stack:
        console.print(_ready_table(time.monotonic() - started, stack))
        state_file = settings.stack_dir.resolve() / "stack.json"
        state_file.write_bytes(orjson.dumps({"parts": stack.parts()}, option=orjson.OPT_INDENT_2))
        try:
            print_tokens(console, stack.secrets[TOKENS])
            if settings.cluster:
                where = settings.stack_dir / "secrets.json"
                console.print(f"Kafka principals' SCRAM passwords: {KAFKA_PASSWORDS} in {where}", highlight=False)
            console.print(f"stack ready; {state_file} lists the parts and their PIDs", highlight=False)
            _watch(stack, console)
        except KeyboardInterrupt:
            console.print("stopping the stack")
        finally:
            state_file.unlink(missing_ok=True)
    console.print("stack stopped")


def _local_broker(
    settings: StackSettings, stack_dir: Path, secrets: dict[str, str]
) -> LocalKafka | LocalKafkaCluster | None:
    """The broker or cluster the stack runs itself, unless an external one is configured."""
    if settings.kafka_bootstrap is not None:
        return None
    if settings.cluster:
        passwords: dict[str, str] = orjson.loads(secrets[KAFKA_PASSWORDS])
        return LocalKafkaCluster(passwords, size=settings.brokers, first_port=settings.kafka_port,
                                 data_dir=stack_dir / "kafka-cluster")  # fmt: skip
    return LocalKafka(
        broker_port=settings.kafka_port,
        controller_port=settings.kafka_controller_port,
        data_dir=stack_dir / "kafka",
    )


def _ready_table(seconds: float, stack: Stack) -> Table:
    """The parts of the stack, where they listen, their PIDs and logs."""
    table = Table(title=f"consent ledger stack ready in {seconds:.1f} s — Ctrl-C stops it")
    for column in ("part", "address", "pid"):
        table.add_column(column)
    for part in stack.parts():
        table.add_row(str(part["part"]), str(part["address"]), str(part["pid"] or "external"))
    return table


def _watch(stack: Stack, console: Console) -> None:
    """Until interrupted: stop the stack (SystemExit 1) as soon as one of its processes exits."""
    while True:
        children: list[tuple[str, subprocess.Popen[bytes] | None, Path]] = [
            (service.name, service.process, service.log) for service in stack.services
        ]
        if isinstance(stack.broker, LocalKafkaCluster):
            children += [(f"Kafka node {node.node_id}", node.process, node.log_path) for node in stack.broker.nodes]
        elif stack.broker is not None:
            children.append(("Kafka broker", stack.broker.process, stack.broker.log_path))
        if stack.postgres is not None:
            children.append(("PostgreSQL", stack.postgres.process, stack.postgres.base_dir / "postgres.log"))
        for name, process, log in children:
            if process is not None and process.poll() is not None:
                console.print(f"[red]the {name} exited with code {process.returncode}; stopping the stack[/]")
                console.print(tail(log), markup=False, highlight=False)
                raise SystemExit(1)
        time.sleep(0.5)
