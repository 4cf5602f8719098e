"""A real single-node Apache Kafka broker (KRaft) started from Maven Central jars with the machine's Java.

`LocalKafka` formats KRaft storage, starts `kafka.Kafka`, waits until the broker answers a
metadata request, and stops it by its own PID. `provide_kafka` picks a broker in the order the
tests and the stack use: an external bootstrap address, a Docker container, the local launcher.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from services.devstack.processes import MissingToolError, free_port, start_child, stop_child, tail
from services.platform.kafka import KafkaAccess, answers_metadata

log = logging.getLogger(__name__)

DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
KAFKA_IMAGE = "apache/kafka:4.1.2"
_STAMP = ".pom-sha256"


def ensure_broker_jars(deploy_dir: Path = DEPLOY_DIR) -> Path:
    """Copy the broker's runtime jars into `deploy_dir/target/libs` with Maven, unless they are already there.

    The copy is stamped with the SHA-256 of pom.xml, so a second run downloads and runs nothing.
    """
    pom = deploy_dir / "pom.xml"
    libs = deploy_dir / "target" / "libs"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    stamp = libs / _STAMP
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MissingToolError(
            "Maven is needed once to fetch the Kafka broker's jars from Maven Central: apt-get install maven"
        )
    if libs.exists():
        shutil.rmtree(libs)
    log.info("fetching the Kafka broker's jars with Maven into %s", libs)
    result = subprocess.run([mvn, "-q", "-B", "-f", str(pom), "package"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"Maven could not fetch the Kafka jars:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    stamp.write_text(digest)
    return libs


def java_executable() -> str:
    """The path of a Java 17+ runtime, or a clear error saying how to install one."""
    java = shutil.which(
        "java", path=os.path.join(os.environ.get("JAVA_HOME", ""), "bin") + os.pathsep + os.environ.get("PATH", "")
    )
    if java is None:
        raise MissingToolError("Java 17 or later is needed to run Kafka: apt-get install openjdk-17-jre-headless")
    version = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)', version)
    if match is None or int(match.group(1)) < 17:
        raise MissingToolError(f"Kafka 4 needs Java 17 or later; {java} says: {version.strip()}")
    return java


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in unpadded base64url that does not start with '-'.

    Kafka's own Uuid.randomUuid() skips such ids too: the storage tool would read '-...' as an option.
    """
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()).startswith("-"):
        pass
    return cluster_id


def broker_settings(broker_port: int, controller_port: int, log_dirs: str, host: str = "127.0.0.1") -> dict[str, str]:
    """server.properties of a single-node KRaft broker+controller; deploy/compose.yaml mirrors these."""
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "listeners": f"PLAINTEXT://{host}:{broker_port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.quorum.bootstrap.servers": f"{host}:{controller_port}",
        "log.dirs": log_dirs,
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Topics are created on purpose, with their settings, never by a typo in a client.
        "auto.create.topics.enable": "false",
    }


def wait_for_broker(
    kafka: KafkaAccess | str, timeout: float, *, alive: Mapping[str, subprocess.Popen[bytes]] | None = None
) -> None:
    """Return once a broker at `kafka` answers a metadata request; raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in (alive or {}).items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode} before it answered")
        if asyncio.run(answers_metadata(kafka)):
            return
        time.sleep(0.3)
    where = kafka if isinstance(kafka, str) else kafka.bootstrap_servers
    raise TimeoutError(f"no Kafka broker answered at {where} within {timeout:.0f} s")


def write_properties(path: Path, settings: Mapping[str, str]) -> Path:
    """Write a server.properties file of `settings`, readable by its owner only (it may hold a password)."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    return path


def jvm_command(heap: str, data_dir: Path, deploy_dir: Path = DEPLOY_DIR) -> list[str]:
    """java and its options to run Kafka's classes from the Maven jars, logging into `data_dir`."""
    return [
        java_executable(),
        f"-Xmx{heap}",
        "-Xms256m",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={deploy_dir / 'log4j2.xml'}",
        f"-Dkafka.logs.dir={data_dir}",
        "-cp",
        str(ensure_broker_jars(deploy_dir) / "*"),
    ]


def format_storage(jvm: list[str], properties: Path, log_dir: Path, arguments: list[str]) -> None:
    """Format a node's KRaft storage with `arguments` (cluster id, quorum, SCRAM users) unless it is formatted.

    The arguments go to java in an argument file readable by its owner only, so a password among them
    never shows in the process list.
    """
    if (log_dir / "meta.properties").exists():
        return
    argfile = properties.with_name("format.args")
    write_properties(argfile, {})  # created 0600 before anything is written into it
    argfile.write_text(" ".join(f'"{word}"' for word in ["kafka.tools.StorageTool", "format", *arguments,
                                                          "-c", str(properties)]))  # fmt: skip
    try:
        fmt = subprocess.run([*jvm, f"@{argfile}"], capture_output=True, text=True, check=False)
    finally:
        argfile.unlink(missing_ok=True)
    if fmt.returncode != 0:
        raise RuntimeError(f"formatting KRaft storage failed:\n{fmt.stdout}{fmt.stderr}")


def launch_broker(
    jvm: list[str], properties: Path, data_dir: Path, kafka: KafkaAccess | str, timeout: float
) -> subprocess.Popen[bytes]:
    """Start `kafka.Kafka` with `properties` and return its process once it answers at `kafka` (stopped on failure)."""
    started = time.monotonic()
    process = start_child([*jvm, "kafka.Kafka", str(properties)], log_path=data_dir / "stdout.log")
    try:
        wait_for_broker(kafka, timeout, alive={"the Kafka broker": process})
    except (RuntimeError, TimeoutError) as error:
        stop_child(process)
        raise RuntimeError(f"{error}\n--- {data_dir / 'server.log'} ---\n{tail(data_dir / 'server.log')}") from error
    except BaseException:  # Ctrl-C while starting: leave nothing behind
        stop_child(process)
        raise
    log.info("Kafka broker of %s ready in %.1f s (pid %d)", properties, time.monotonic() - started, process.pid)
    return process


class LocalKafka:
    """A single-node Kafka broker on loopback, started with the machine's Java and stopped by its PID.

    `data_dir` keeps the broker's data between runs (formatted once); without it a temporary
    directory is used and removed on stop. Ports default to free ones.
    """

    def __init__(
        self,
        *,
        broker_port: int | None = None,
        controller_port: int | None = None,
        data_dir: Path | None = None,
        heap: str = "1g",
        start_timeout: float = 90.0,
        deploy_dir: Path = DEPLOY_DIR,
    ) -> None:
        self.broker_port = broker_port or free_port()
        self.controller_port = controller_port or free_port()
        self._keep_data = data_dir is not None
        self.data_dir = data_dir if data_dir is not None else Path(tempfile.mkdtemp(prefix="consent-kafka-"))
        self.heap = heap
        self.start_timeout = start_timeout
        self.deploy_dir = deploy_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """host:port for Kafka clients."""
        return f"127.0.0.1:{self.broker_port}"

    @property
    def log_path(self) -> Path:
        """The broker's own log (server.log), kept beside its data."""
        return self.data_dir / "server.log"

    def start(self) -> LocalKafka:
        """Format storage if new, start the broker and wait until it answers a metadata request."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = broker_settings(self.broker_port, self.controller_port, str(self.data_dir / "data"))
        properties = write_properties(self.data_dir / "server.properties", settings)
        jvm = jvm_command(self.heap, self.data_dir, self.deploy_dir)
        format_storage(jvm, properties, self.data_dir / "data", ["--standalone", "-t", new_cluster_id()])
        self.process = launch_broker(jvm, properties, self.data_dir, self.bootstrap_servers, self.start_timeout)
        return self

    def stop(self) -> None:
        """Stop the broker by its PID (controlled shutdown, SIGKILL after 30 s) and drop temporary data."""
        if self.process is not None:
            stop_child(self.process)
            self.process = None
        if not self._keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def docker_engine_answers() -> bool:
    """True when a Docker engine answers a ping (the client alone is not enough)."""
    try:
        import docker  # noqa: PLC0415 - optional: only where testcontainers is installed

        return bool(docker.from_env(timeout=3).ping())
    except Exception:  # noqa: BLE001 - any failure means: no engine to use
        return False


@contextmanager
def _kafka_container() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415
    from testcontainers.core.waiting_utils import wait_for_logs  # noqa: PLC0415

    port = free_port()
    settings = broker_settings(9092, 9093, "/var/lib/kafka/data", host="0.0.0.0")  # noqa: S104 - inside the container
    settings["advertised.listeners"] = f"PLAINTEXT://127.0.0.1:{port}"
    del settings["controller.quorum.bootstrap.servers"]
    settings["controller.quorum.voters"] = "1@localhost:9093"  # the image formats a static quorum
    container = DockerContainer(KAFKA_IMAGE).with_bind_ports(9092, port)
    for key, value in settings.items():
        container = container.with_env("KAFKA_" + key.upper().replace(".", "_"), value)
    with container:
        wait_for_logs(container, "Kafka Server started", timeout=120)
        yield f"127.0.0.1:{port}"


@contextmanager
def provide_kafka(
    external: str | None = None, *, use_docker: bool = True, local: LocalKafka | None = None
) -> Iterator[str]:
    """Yield a bootstrap address: `external` if given, else a Docker container if an engine answers, else `local`.

    `local` defaults to a `LocalKafka` on free ports with temporary data.
    """
    if external:
        wait_for_broker(external, 30)
        yield external
    elif use_docker and docker_engine_answers():
        with _kafka_container() as bootstrap:
            yield bootstrap
    else:
        with local or LocalKafka() as broker:
            yield broker.bootstrap_servers
