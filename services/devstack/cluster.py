"""A real three-node Apache Kafka cluster (KRaft) on loopback with SASL/SCRAM principals and ACLs.

Each node is broker and controller at once (a combined quorum of three voters) and a process of its
own, started with the machine's Java and stopped or killed by its PID. Clients and brokers
authenticate with SCRAM-SHA-512 on the broker listener; the controllers with PLAIN on theirs (KRaft
does not take SCRAM there). StandardAuthorizer denies what no ACL allows; `admin` is the super user
the brokers and the stack act as. Once the quorum answers, `provision` makes the principals, topics
and ACLs of services.platform.topology, so the cluster and deploy/ come from one definition.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError as AioKafkaError
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from schemas.topics import EVENTS
from services.devstack.kafka import DEPLOY_DIR, format_storage, jvm_command, new_cluster_id, wait_for_broker
from services.devstack.kafka import write_properties as write_server_properties
from services.devstack.processes import free_port, start_child, stop_child, tail
from services.platform.kafka import SCRAM, KafkaAccess
from services.platform.topology import (
    ADMIN,
    CLUSTER_MIN_INSYNC,
    CLUSTER_REPLICATION,
    LEDGER,
    Acl,
    TopicSpec,
    acls,
    principals,
    topic_specs,
)

log = logging.getLogger(__name__)

_RESOURCES = {
    "topic": ResourceType.TOPIC,
    "group": ResourceType.GROUP,
    "transactional_id": ResourceType.TRANSACTIONAL_ID,
}
_OPERATIONS = {"read": AclOperation.READ, "write": AclOperation.WRITE, "describe": AclOperation.DESCRIBE}


def _jaas(module: str, user: str, password: str, *, users: Mapping[str, str] | None = None) -> str:
    listed = "".join(f' user_{name}="{secret}"' for name, secret in (users or {}).items())
    return f'{module} required username="{user}" password="{password}"{listed};'


def node_settings(
    node_id: int, ports: Mapping[int, tuple[int, int]], log_dirs: str, admin_password: str
) -> dict[str, str]:
    """server.properties of node `node_id` of a combined quorum; `ports`: node id -> (broker, controller) port."""
    broker_port, controller_port = ports[node_id]
    voters = ",".join(f"{node}@127.0.0.1:{controller}" for node, (_, controller) in sorted(ports.items()))
    scram_login = "org.apache.kafka.common.security.scram.ScramLoginModule"
    plain_login = "org.apache.kafka.common.security.plain.PlainLoginModule"
    replication, min_isr = str(CLUSTER_REPLICATION), str(CLUSTER_MIN_INSYNC)
    return {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "listeners": f"BROKER://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"BROKER://127.0.0.1:{broker_port}",
        "listener.security.protocol.map": "BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "inter.broker.listener.name": "BROKER",
        "controller.listener.names": "CONTROLLER",
        "sasl.enabled.mechanisms": SCRAM,
        "sasl.mechanism.inter.broker.protocol": SCRAM,
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.broker.sasl.enabled.mechanisms": SCRAM,
        "listener.name.broker.scram-sha-512.sasl.jaas.config": _jaas(scram_login, ADMIN, admin_password),
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": _jaas(
            plain_login, ADMIN, admin_password, users={ADMIN: admin_password}
        ),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{ADMIN}",
        "allow.everyone.if.no.acl.found": "false",
        "log.dirs": log_dirs,
        "num.partitions": "1",
        "default.replication.factor": replication,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": replication,
        "transaction.state.log.replication.factor": replication,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replication,
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
    }


@dataclass
class KafkaNode:
    """One node of the cluster: broker and controller in one process, with its own ports and data."""

    node_id: int
    broker_port: int
    controller_port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """host:port of the node's broker listener."""
        return f"127.0.0.1:{self.broker_port}"

    @property
    def log_path(self) -> Path:
        """The node's own log (server.log), beside its data."""
        return self.data_dir / "server.log"

    @property
    def running(self) -> bool:
        """True while the node's process is alive."""
        return self.process is not None and self.process.poll() is None


class LocalKafkaCluster:
    """Three (or `size`) KRaft nodes on loopback with SCRAM principals and ACLs, each stopped by its PID.

    `passwords` holds the SCRAM password of the admin and of each principal to make. `data_dir` keeps
    the cluster between runs (formatted once); without it a temporary directory is removed on stop.
    Ports are `first_port`, `first_port + 2`, ... for the brokers and one above each for its
    controller, or free ones.
    """

    def __init__(
        self,
        passwords: Mapping[str, str],
        *,
        size: int = 3,
        first_port: int | None = None,
        data_dir: Path | None = None,
        heap: str = "512m",
        start_timeout: float = 120.0,
        deploy_dir: Path = DEPLOY_DIR,
    ) -> None:
        if ADMIN not in passwords:
            raise ValueError(f"the passwords must include the {ADMIN!r} super user's")
        self.passwords = dict(passwords)
        self._keep_data = data_dir is not None
        self.data_dir = data_dir if data_dir is not None else Path(tempfile.mkdtemp(prefix="consent-kafka-cluster-"))
        self.heap, self.start_timeout, self.deploy_dir = heap, start_timeout, deploy_dir
        self.nodes = [
            KafkaNode(
                node_id,
                first_port + 2 * index if first_port else free_port(),
                first_port + 2 * index + 1 if first_port else free_port(),
                self.data_dir / f"node-{node_id}",
            )
            for index, node_id in enumerate(range(1, size + 1))
        ]

    @property
    def bootstrap_servers(self) -> str:
        """Every node's broker listener, comma-separated, for Kafka clients."""
        return ",".join(node.address for node in self.nodes)

    def access(self, principal: str = ADMIN) -> KafkaAccess:
        """How `principal` reaches the cluster (SASL/SCRAM with its password)."""
        return KafkaAccess(self.bootstrap_servers, principal, self.passwords[principal])

    def start(self) -> LocalKafkaCluster:
        """Format new nodes, start them all, wait until each answers, then make the principals, topics and ACLs."""
        cluster_id_file = self.data_dir / "cluster-id"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not cluster_id_file.exists():
            cluster_id_file.write_text(new_cluster_id())
        cluster_id = cluster_id_file.read_text().strip()
        admin_scram = f"{SCRAM}=[name={ADMIN},password={self.passwords[ADMIN]}]"
        for node in self.nodes:
            properties = self._write_properties(node)
            format_storage(
                self._jvm(node), properties, node.data_dir / "data", ["-t", cluster_id, "--add-scram", admin_scram]
            )
        try:
            for node in self.nodes:  # all first: a node answers only once the quorum has a leader
                node.process = self._launch(node)
            for node in self.nodes:
                self._wait(node)
            self.provision()
        except BaseException:
            self.stop()
            raise
        log.info("Kafka cluster ready at %s", self.bootstrap_servers)
        return self

    def _write_properties(self, node: KafkaNode) -> Path:
        node.data_dir.mkdir(parents=True, exist_ok=True)
        ports = {n.node_id: (n.broker_port, n.controller_port) for n in self.nodes}
        settings = node_settings(node.node_id, ports, str(node.data_dir / "data"), self.passwords[ADMIN])
        return write_server_properties(node.data_dir / "server.properties", settings)  # 0600: the admin's password

    def _jvm(self, node: KafkaNode) -> list[str]:
        return jvm_command(self.heap, node.data_dir, self.deploy_dir)

    def _launch(self, node: KafkaNode) -> subprocess.Popen[bytes]:
        argv = [*self._jvm(node), "kafka.Kafka", str(node.data_dir / "server.properties")]
        return start_child(argv, log_path=node.data_dir / "stdout.log")

    def _wait(self, node: KafkaNode) -> None:
        """Wait until `node` answers its admin; on failure say why with the tail of its log."""
        assert node.process is not None  # noqa: S101 - started by start() or restart()
        access = KafkaAccess(node.address, ADMIN, self.passwords[ADMIN])
        try:
            wait_for_broker(access, self.start_timeout, alive={f"Kafka node {node.node_id}": node.process})
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}\n--- {node.log_path} ---\n{tail(node.log_path)}") from error

    def provision(self) -> None:
        """Make every principal's SCRAM credentials, every topic and every ACL of the topology (idempotent)."""
        admin = self.admin_client()
        users: list[UserScramCredentialAlteration] = [
            UserScramCredentialUpsertion(
                name, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password.encode()
            )
            for name, password in self.passwords.items()
            if name != ADMIN and name in principals()
        ]
        if users:
            _wait_all(admin.alter_user_scram_credentials(users))
        _wait_all(admin.create_topics([_new_topic(spec) for spec in topic_specs(CLUSTER_REPLICATION)]), exists_ok=True)
        _wait_all(admin.create_acls([_binding(acl) for acl in acls()]))
        for node in self.nodes:
            self._wait_until_applied(node)

    def _wait_until_applied(self, node: KafkaNode) -> None:
        """Wait until `node` has applied the users and ACLs just made: the ledger logs in and sees the event log.

        The controller commits them at once, but each broker applies the metadata log a moment later.
        """
        access = KafkaAccess(node.address, LEDGER, self.passwords[LEDGER])
        deadline = time.monotonic() + self.start_timeout
        while EVENTS not in asyncio.run(_visible_topics(access)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka node {node.node_id} did not apply the ledger's user and ACLs in time")
            time.sleep(0.2)

    def admin_client(self) -> AdminClient:
        """An admin client (librdkafka's) of the cluster's super user."""
        return AdminClient(_confluent(self.access()))

    def kill(self, node: KafkaNode) -> None:
        """kill -9 one node (no controlled shutdown), as a lost machine."""
        if node.process is not None:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()
            node.process = None

    def restart(self, node: KafkaNode) -> None:
        """Start a stopped or killed node again on its data; wait until it answers and every replica is in sync.

        Until its replicas have caught up, losing another node would leave partitions below
        min.insync.replicas: a second failure is only fair once the cluster is whole again.
        """
        node.process = self._launch(node)
        self._wait(node)
        deadline = time.monotonic() + self.start_timeout
        while (behind := self.under_replicated()) > 0:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{behind} partition(s) still under-replicated after Kafka node {node.node_id} restarted"
                )
            time.sleep(0.5)

    def under_replicated(self) -> int:
        """How many partitions have fewer in-sync replicas than replicas."""
        topics = self.admin_client().list_topics(timeout=20).topics.values()
        return sum(1 for topic in topics for p in topic.partitions.values() if len(p.isrs) < len(p.replicas))

    def stop(self) -> None:
        """Stop every node by its PID (controlled shutdown, SIGKILL after 30 s) and drop temporary data.

        All are told at once: a node stopped after the others would wait for a quorum that is gone.
        """
        running = [node.process for node in self.nodes if node.process is not None and node.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            if node.process is not None:
                stop_child(node.process)
                node.process = None
        if not self._keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalKafkaCluster:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def _confluent(access: KafkaAccess) -> dict[str, str | int | float | bool]:
    """librdkafka's settings for the admin client of `access`."""
    return {
        "bootstrap.servers": access.bootstrap_servers,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": SCRAM,
        "sasl.username": access.username or "",
        "sasl.password": access.password or "",
        "log_level": "3" if os.environ.get("CONSENT_KAFKA_DEBUG") is None else "7",
    }


async def _visible_topics(access: KafkaAccess) -> set[str]:
    """The topics `access`'s principal may see on its bootstrap broker (empty while it cannot log in)."""
    client = AIOKafkaClient(**access.options(), request_timeout_ms=3000)
    try:
        await client.bootstrap()
        return set((await client.fetch_all_metadata()).topics())
    except (AioKafkaError, OSError):
        return set()
    finally:
        await client.close()


def _new_topic(spec: TopicSpec) -> NewTopic:
    return NewTopic(
        spec.name, num_partitions=spec.partitions, replication_factor=spec.replication, config=spec.config()
    )


def _binding(acl: Acl) -> AclBinding:
    return AclBinding(
        _RESOURCES[acl.resource], acl.name, ResourcePatternType.LITERAL, f"User:{acl.principal}", "*",
        _OPERATIONS[acl.operation], AclPermissionType.ALLOW,
    )  # fmt: skip


def _wait_all(futures: Mapping[Any, Future[Any]] | Sequence[Future[Any]], *, exists_ok: bool = False) -> None:
    """Wait for an admin client's futures; raise the first failure (an existing topic is fine with `exists_ok`)."""
    for future in futures.values() if isinstance(futures, Mapping) else futures:
        try:
            future.result(timeout=60)
        except KafkaException as error:
            if not (exists_ok and error.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS):
                raise
