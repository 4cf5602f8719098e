"""deploy/compose.yaml's Kafka: three authenticated KRaft brokers, and the one-shot service that sets them up.

Each broker is the local launcher's (services.devstack.kafka.broker_settings), replicated as a cluster and
with authentication on: SCRAM-SHA-512 on the clients' listeners (SASL_PLAINTEXT inside the compose network
and on 127.0.0.1), PLAIN for the admin alone between brokers and to the KRaft controllers (which do not
take SCRAM), StandardAuthorizer with the admin as super user and nothing allowed without an ACL.
`kafka-setup` runs deploy/kafka/setup.sh, written here from topology: the users, the topics, the ACLs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.devstack.kafka import KAFKA_IMAGE, broker_settings
from services.devstack.manifests.strimzi import strimzi_acls
from services.devstack.manifests.text import COMMAND, GENERATED, to_yaml
from services.devstack.secrets import ADMIN_LISTENERS, BROKER_FILE, KAFKA_FILE, scram_password_variable
from services.platform.topology import ADMIN, CLUSTER_MIN_INSYNC, CLUSTER_REPLICATION, acls, principals, topic_specs

BEGIN = f"  # --- Kafka: written by `{COMMAND}` from services/platform/topology.py; do not edit ---"
END = "  # --- end of the generated Kafka services ---"
CLIENT_PORT, BROKER_PORT, CONTROLLER_PORT = 19092, 29092, 9093  # SCRAM clients; the admin between brokers; KRaft
CLUSTER_ID = "W4WSB8LDTpGCUp4R8dWapw"  # any KRaft cluster id: fixed, so that the three nodes format alike
DATA_DIR = "/var/lib/kafka/data"
SETUP, SETUP_SCRIPT = "kafka-setup", "kafka/setup.sh"  # the script's path is relative to deploy/
NODES = range(1, CLUSTER_REPLICATION + 1)
SCRAM_LISTENERS = ("CLIENT", "HOST")
SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required;"  # the brokers' side: no secret
PLAIN_JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required"
ADMIN_CLIENT = "security.protocol=SASL_PLAINTEXT\\nsasl.mechanism=PLAIN\\nsasl.jaas.config=%s\\n"  # printf's format
# The launcher's settings that a compose broker sets per node and listener instead.
ADDRESSES = {"node.id", "listeners", "advertised.listeners", "listener.security.protocol.map", "log.dirs"}
ADDRESSES |= {"inter.broker.listener.name", "controller.quorum.bootstrap.servers"}


def node_name(node: int) -> str:
    """The compose service, and host name, of broker `node` (1, 2, 3)."""
    return f"kafka-{node}"


def host_port(node: int) -> int:
    """Where broker `node` takes clients on the host (127.0.0.1; SCRAM, as inside): 9092, 9094, 9096."""
    return 9090 + 2 * node


def compose_bootstrap() -> str:
    """CONSENT_KAFKA_BOOTSTRAP inside the compose network."""
    return ",".join(f"{node_name(node)}:{CLIENT_PORT}" for node in NODES)


def cluster_settings() -> dict[str, str]:
    """The launcher's settings (its addresses aside), each replication factor 3 and each minimum ISR 2."""
    settings = {"default.replication.factor": str(CLUSTER_REPLICATION), "min.insync.replicas": str(CLUSTER_MIN_INSYNC)}
    for key, value in broker_settings(0, 0, DATA_DIR).items():
        if key.endswith(".replication.factor"):
            settings[key] = str(CLUSTER_REPLICATION)
        elif key.endswith(".min.isr"):
            settings[key] = str(CLUSTER_MIN_INSYNC)
        elif key not in ADDRESSES:
            settings[key] = value
    return settings


def security_settings() -> dict[str, str]:
    """SASL on every listener, SCRAM-SHA-512 for clients, PLAIN for the admin alone; ACLs, nothing without one.

    The PLAIN listeners' JAAS settings carry the admin's password: they come from kafka-broker.env.
    """
    settings = {
        "listener.security.protocol.map": ",".join(
            f"{name}:SASL_PLAINTEXT" for name in (*SCRAM_LISTENERS, *ADMIN_LISTENERS)
        ),
        "inter.broker.listener.name": "BROKER",
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "sasl.mechanism.controller.protocol": "PLAIN",
    }
    for listener in ADMIN_LISTENERS:
        settings[f"listener.name.{listener.lower()}.sasl.enabled.mechanisms"] = "PLAIN"
    for listener in SCRAM_LISTENERS:
        settings[f"listener.name.{listener.lower()}.sasl.enabled.mechanisms"] = "SCRAM-SHA-512"
        settings[f"listener.name.{listener.lower()}.scram-sha-512.sasl.jaas.config"] = SCRAM_JAAS
    return settings | {
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{ADMIN}",
        "allow.everyone.if.no.acl.found": "false",
    }


def broker_properties(node: int) -> dict[str, str]:
    """server.properties of compose broker `node`, but for the admin's password."""
    name, host = node_name(node), host_port(node)
    own = {
        "node.id": str(node),
        "listeners": f"CLIENT://:{CLIENT_PORT},BROKER://:{BROKER_PORT},CONTROLLER://:{CONTROLLER_PORT},HOST://:{host}",
        "advertised.listeners": f"CLIENT://{name}:{CLIENT_PORT},BROKER://{name}:{BROKER_PORT},HOST://127.0.0.1:{host}",
        "controller.quorum.voters": ",".join(f"{n}@{node_name(n)}:{CONTROLLER_PORT}" for n in NODES),
        "log.dirs": DATA_DIR,
    }
    return own | security_settings() | cluster_settings()


def kafka_env(key: str) -> str:
    """The apache/kafka image's variable for a server property: `.` is `_`, `_` is `__`, `-` is `___`."""
    return "KAFKA_" + "".join({".": "_", "_": "__", "-": "___"}.get(char, char) for char in key).upper()


def compose_services() -> dict[str, Any]:
    """The brokers and the setup service, as entries of compose.yaml's `services`."""
    jaas = kafka_env(f"listener.name.{ADMIN_LISTENERS[0].lower()}.plain.sasl.jaas.config")
    probe = (  # the broker's own JAAS setting serves as the admin's client login ($$: not compose's to expand)
        f"printf '{ADMIN_CLIENT}' \"$${jaas}\" > /tmp/admin.properties && /opt/kafka/bin/kafka-broker-api-versions.sh"
        f" --bootstrap-server localhost:{BROKER_PORT} --command-config /tmp/admin.properties > /dev/null"
    )
    services: dict[str, Any] = {}
    for node in NODES:
        environment = {"CLUSTER_ID": CLUSTER_ID} | {kafka_env(k): v for k, v in broker_properties(node).items()}
        services[node_name(node)] = {
            "image": KAFKA_IMAGE,
            "ports": [f"127.0.0.1:{host_port(node)}:{host_port(node)}"],
            "env_file": [BROKER_FILE],
            "environment": environment,
            "volumes": [f"{node_name(node)}-data:{DATA_DIR}"],
            "healthcheck": {"test": ["CMD-SHELL", probe], "interval": "5s", "retries": 30},
        }
    script = f"/setup/{Path(SETUP_SCRIPT).name}"
    services[SETUP] = {
        "image": KAFKA_IMAGE,
        "entrypoint": ["/bin/bash", script],
        "env_file": [KAFKA_FILE],  # every principal's password: it makes their SCRAM users
        "volumes": [f"./{SETUP_SCRIPT}:{script}:ro"],
        "depends_on": {node_name(node): {"condition": "service_healthy"} for node in NODES},
    }
    return services


def setup_script() -> str:
    """deploy/kafka/setup.sh: the SCRAM users, the topics with their settings and the ACLs, made as the admin."""
    login = f'{PLAIN_JAAS} username=\\"{ADMIN}\\" password=\\"${{{scram_password_variable(ADMIN)}:?}}\\";'
    lines = [
        "#!/bin/bash",
        GENERATED,
        f"# deploy/compose.yaml's `{SETUP}` runs it as the cluster's admin (PLAIN, on the brokers' own listener),",
        "# with deploy/kafka.env's passwords; run again, it sets what changed and keeps the rest.",
        "set -euo pipefail",
        "bootstrap=" + ",".join(f"{node_name(node)}:{BROKER_PORT}" for node in NODES),
        'admin="$(mktemp)"',
        "trap 'rm -f \"$admin\"' EXIT",
        f'printf \'{ADMIN_CLIENT}\' "{login}" > "$admin"',
        'run() { /opt/kafka/bin/"$1" --bootstrap-server "$bootstrap" --command-config "$admin" "${@:2}"; }',
        "",
        "# Users: a SCRAM-SHA-512 principal for the admin and for each system.",
    ]
    for name in (ADMIN, *principals()):
        scram = f'"SCRAM-SHA-512=[password=${{{scram_password_variable(name)}:?}}]"'
        lines.append(f"run kafka-configs.sh --alter --entity-type users --entity-name {name} --add-config {scram}")
    lines += ["", "# Topics: made if missing, then given the settings topology says."]
    for spec in topic_specs(CLUSTER_REPLICATION):
        config = spec.config()
        options = " ".join(f"--config {key}={value}" for key, value in config.items())
        shape = f"--partitions {spec.partitions} --replication-factor {spec.replication}"
        lines.append(f"run kafka-topics.sh --create --if-not-exists --topic {spec.name} {shape} {options}")
        settings = ",".join(f"{key}={value}" for key, value in config.items())
        lines.append(
            f"run kafka-configs.sh --alter --entity-type topics --entity-name {spec.name} --add-config {settings}"
        )
    lines += ["", "# ACLs: whatever none of them allows is denied (allow.everyone.if.no.acl.found=false)."]
    option = {"topic": "--topic", "group": "--group", "transactionalId": "--transactional-id"}
    rules = acls()
    for principal in principals():
        for entry in strimzi_acls(principal, rules):
            target = f"{option[entry['resource']['type']]} {entry['resource']['name']} --resource-pattern-type literal"
            operations = " ".join(f"--operation {operation}" for operation in entry["operations"])
            lines.append(f"run kafka-acls.sh --add --allow-principal User:{principal} {operations} {target}")
    return "\n".join([*lines, "", 'echo "kafka-setup: users, topics and ACLs are set"', ""])


def updated_compose(compose: str) -> str:
    """`compose` (deploy/compose.yaml's text) with the Kafka services between its markers written anew."""
    start, end = compose.index(BEGIN) + len(BEGIN), compose.index(END)
    block = "\n".join(to_yaml({name: service}, "  ") for name, service in compose_services().items())
    return f"{compose[:start]}\n{block}{compose[end:]}"
