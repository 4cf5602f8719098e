"""The bench's environment: stores, the broker, topics and services it starts, and takes down again.

Everything is entered on one ExitStack, so a Ctrl-C or an error stops the child processes by
their PID, drops the databases and topics the run made and removes its temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress

from services.devstack.kafka import provide_kafka
from services.devstack.postgres import LocalPostgres, wait_for_postgres
from services.devstack.processes import free_port, start_child, stop_child, wait_for_health
from services.platform.settings import store_kind
from services.platform.topology import inbound_senders

FACTORIES = {
    "ledger": "services.ledger.entrypoints.http.app:create_app",
    "projector": "services.projector.http:create_app",
    "trivial": "services.bench.trivial:create_app",
}
START_SECONDS = 90.0


@dataclass(frozen=True)
class Service:
    """A running uvicorn process: its base URL and its process (stopped by PID when the bench ends)."""

    url: str
    process: subprocess.Popen[bytes]


class Bench:
    """One run's environment: `--store` (sqlite, postgresql, or a URL), the broker, topics, services, progress.

    `--store postgresql` starts a throwaway PostgreSQL (durable: fsync on, as production runs);
    a postgresql:// URL names a running server, where the bench makes and drops databases of its
    own. Kafka is CONSENT_KAFKA_BOOTSTRAP if set, else the local launcher; both are started on first use.
    """

    def __init__(self, store: str, events: int | None, console: Console, stack: ExitStack) -> None:
        if store not in {"sqlite", "postgresql"}:
            store_kind(store)  # ValueError for anything but sqlite:// and postgresql:// URLs
        self.store, self.events, self.console, self.stack = store, events, console, stack
        self.folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="consent-bench-")))
        self.progress = stack.enter_context(
            Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console, transient=True)
        )
        self.shared: dict[str, Any] = {}  # what one path made and another may reuse (a filled store, a topic)
        self._server: str | None = None
        self._bootstrap: str | None = None

    @property
    def kind(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.store if self.store in {"sqlite", "postgresql"} else store_kind(self.store)

    def size(self, default: int) -> int:
        """--events if given, else the path's own default."""
        return self.events or default

    def task(self, description: str, total: int | None) -> Callable[[int], None]:
        """A progress bar; the callable advances it."""
        task = self.progress.add_task(description, total=total)
        return lambda n: self.progress.advance(task, n)

    def say(self, text: str) -> None:
        """A line of what the bench is doing (no personal data: everything is synthetic)."""
        self.progress.console.print(f"[dim]{text}[/]", highlight=False)

    # --- stores -------------------------------------------------------------------------------

    def store_url(self, name: str) -> str:
        """A fresh, empty store for `name`: a SQLite file in the run's folder or a new database on the server."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / f'{name}-{uuid.uuid4().hex[:6]}.sqlite3'}"
        server = self._postgres()
        database = f"bench_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        self.stack.callback(_drop_database, server, database)
        parts = urlsplit(server)
        return urlunsplit((parts.scheme, parts.netloc, f"/{database}", "", ""))

    def _postgres(self) -> str:
        if self._server is None:
            if self.store == "postgresql":
                self.say("starting a throwaway PostgreSQL (durable) ...")
                self._server = self.stack.enter_context(LocalPostgres(durable=True)).dsn
            else:
                wait_for_postgres(self.store, 30)
                self._server = self.store
        return self._server

    # --- Kafka --------------------------------------------------------------------------------

    def kafka(self) -> str:
        """The broker's bootstrap address: CONSENT_KAFKA_BOOTSTRAP, else a local broker started now."""
        if self._bootstrap is None:
            external = os.environ.get("CONSENT_KAFKA_BOOTSTRAP")
            if not external:
                self.say("starting a local Kafka broker ...")
            self._bootstrap = self.stack.enter_context(provide_kafka(external, use_docker=False))
        return self._bootstrap

    def topic(self, prefix: str, partitions: int = 1) -> str:
        """A new topic with a unique name, deleted when the bench ends."""
        name = f"bench.{prefix}.{uuid.uuid4().hex[:8]}"
        self._create([name], partitions)
        return name

    def families(self, prefix: str) -> tuple[str, str]:
        """A commands and an acks topic family with unique names, every sender's topic in them made (and deleted)."""
        run = uuid.uuid4().hex[:8]
        commands, acks = f"bench.{prefix}-commands.{run}", f"bench.{prefix}-acks.{run}"
        self._create(list(inbound_senders(commands, acks)), 1)
        return commands, acks

    def _create(self, names: list[str], partitions: int) -> None:
        bootstrap = self.kafka()
        topics = [NewTopic(name, partitions, 1) for name in names]
        asyncio.run(_admin(bootstrap, lambda admin: admin.create_topics(topics)))
        for name in names:
            self.stack.callback(_delete_topic, bootstrap, name)

    # --- services -----------------------------------------------------------------------------

    def service(self, name: str, env: dict[str, str]) -> Service:
        """Start `name` (ledger, projector, trivial) under uvicorn as operators run it; stopped by PID at the end."""
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", "--factory", FACTORIES[name], "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--timeout-graceful-shutdown", "10"]
        log = self.folder / f"{name}-{port}.log"
        process = start_child(argv, log_path=log, env={**os.environ, **env})
        self.stack.callback(stop_child, process)
        url = f"http://127.0.0.1:{port}"
        wait_for_health(url, url, process, log, START_SECONDS)
        return Service(url, process)


def _drop_database(server: str, database: str) -> None:
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def _admin(bootstrap: str, work: Callable[[AIOKafkaAdminClient], Any]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await work(admin)
    finally:
        await admin.close()


def _delete_topic(bootstrap: str, name: str) -> None:
    asyncio.run(_admin(bootstrap, lambda admin: admin.delete_topics([name])))


@contextmanager
def bench(store: str, events: int | None, console: Console) -> Iterator[Bench]:
    """A Bench whose every process, database, topic and file is gone when the block ends, however it ends."""
    with ExitStack() as stack:
        yield Bench(store, events, console, stack)
