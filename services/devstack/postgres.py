"""A throwaway PostgreSQL cluster made with the machine's initdb, run in the foreground and stopped by its PID.

initdb refuses to run as root, so as root the cluster is created and run as the `postgres`
user that Debian's package creates.
"""

from __future__ import annotations

import getpass
import glob
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import psycopg

from services.devstack.processes import MissingToolError, free_port, start_child, stop_child, tail

log = logging.getLogger(__name__)

_INSTALL_HINT = "apt-get install postgresql (or point CONSENT_TEST_POSTGRES_DSN at a running server)"


def server_bindir() -> Path:
    """The directory holding initdb and postgres: from PATH, else the newest /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(os.path.realpath(on_path)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not candidates:
        raise MissingToolError(f"PostgreSQL server binaries (initdb, postgres) not found: {_INSTALL_HINT}")
    return Path(candidates[-1]).parent


def wait_for_postgres(dsn: str, timeout: float, *, process: subprocess.Popen[bytes] | None = None) -> None:
    """Return once `dsn` accepts a connection; raise after `timeout` seconds or if `process` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"postgres exited with code {process.returncode} before it accepted connections")
        try:
            with psycopg.connect(dsn, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class LocalPostgres:
    """A PostgreSQL cluster in a temporary directory on a free loopback port, trust auth, user `postgres`.

    `durable=False` turns fsync off: fine for tests, wrong for benchmarks and real data.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        durable: bool = False,
        start_timeout: float = 60.0,
        base_dir: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.durable = durable
        self.start_timeout = start_timeout
        self._keep_data = base_dir is not None  # kept between runs, made once; else a temporary one, removed
        self.base_dir = base_dir if base_dir is not None else Path(tempfile.mkdtemp(prefix="consent-pg-"))
        self.process: subprocess.Popen[bytes] | None = None
        self._user = "postgres" if os.geteuid() == 0 else None

    @property
    def dsn(self) -> str:
        """A libpq connection string for the `postgres` database as the `postgres` superuser."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> LocalPostgres:
        """initdb (unless the data is there from a run before), start `postgres`, wait until it takes connections."""
        bindir = server_bindir()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            shutil.chown(self.base_dir, user=self._user)
        data = self.base_dir / "data"
        if not (data / "PG_VERSION").exists():
            self._initdb(bindir, data)
        self._launch(bindir, data)
        return self

    def create_database(self, name: str) -> str:
        """Create database `name` unless it exists; return its DSN."""
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                connection.execute(f'CREATE DATABASE "{name}"')  # a name of ours, never a user's input
        return self.dsn.rsplit("/", 1)[0] + f"/{name}"

    def _initdb(self, bindir: Path, data: Path) -> None:
        initdb = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            capture_output=True,
            text=True,
            user=self._user,
            check=False,
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed (as {self._user or getpass.getuser()}):\n{initdb.stdout}{initdb.stderr}")

    def restart(self, *, down_for: float = 0.0) -> None:
        """Stop the server as an operator's restart would (fast shutdown: sessions are cut), stay down
        `down_for` seconds, then start it again on the same data and port."""
        if self.process is None:
            raise RuntimeError("the server is not running")
        stop_child(self.process, sig=signal.SIGINT)
        self.process = None
        time.sleep(down_for)
        self._launch(server_bindir(), self.base_dir / "data")

    def _launch(self, bindir: Path, data: Path) -> None:
        argv = [
            str(bindir / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.base_dir),
            "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
        ]  # fmt: skip
        if not self.durable:
            argv += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        log_path = self.base_dir / "postgres.log"
        if self._user is not None:
            log_path.touch()
            shutil.chown(log_path, user=self._user)
        self.process = start_child(argv, log_path=log_path, user=self._user)
        try:
            wait_for_postgres(self.dsn, self.start_timeout, process=self.process)
        except (RuntimeError, psycopg.OperationalError) as error:
            self.stop()
            raise RuntimeError(f"{error}\n--- postgres.log ---\n{tail(log_path)}") from error
        except BaseException:  # Ctrl-C while starting: leave nothing behind
            self.stop()
            raise
        log.info("PostgreSQL ready at %s (pid %d)", self.dsn, self.process.pid)

    def stop(self) -> None:
        """Fast shutdown by the postmaster's PID (SIGINT), then remove the cluster's files unless they are kept."""
        if self.process is not None:
            stop_child(self.process, sig=signal.SIGINT)
            self.process = None
        if not self._keep_data:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


@contextmanager
def provide_postgres(external_dsn: str | None = None) -> Iterator[str]:
    """Yield a DSN: `external_dsn` if given, else one of a throwaway `LocalPostgres`."""
    if external_dsn:
        wait_for_postgres(external_dsn, 30)
        yield external_dsn
    else:
        with LocalPostgres() as server:
            yield server.dsn
