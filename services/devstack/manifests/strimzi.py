"""deploy/kubernetes/: the Kafka cluster, its topics and users for the Strimzi operator, and the two services.

Strimzi 1.0 (API kafka.strimzi.io/v1) running Kafka 4.1.2, the broker compose runs: three combined
controller+broker nodes in KRaft mode, one internal TLS listener with SCRAM-SHA-512, simple (ACL)
authorization with the admin as super user. Each principal of topology is a KafkaUser whose Secret
(named after it, key `password`) the operator writes; the ledger's and the projector's pods read
their own and the cluster CA's certificate. PostgreSQL and the services' secrets are the operator's to
provide, in the Secrets named here (docs/deploy.md).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from itertools import groupby
from pathlib import Path
from typing import Any

from services.devstack.manifests.text import yaml_file
from services.devstack.secrets import CONSOLE_TOKEN, LEDGER_SECRETS, TOKENS
from services.platform.topology import (
    ADMIN,
    CLUSTER_MIN_INSYNC,
    CLUSTER_REPLICATION,
    LEDGER,
    PROJECTOR,
    Acl,
    acls,
    principals,
    topic_specs,
)

ROOT = Path(__file__).resolve().parents[3]
CLUSTER = "consent"  # the Kafka resource: Strimzi names its bootstrap Service and CA Secret after it
STRIMZI = "kafka.strimzi.io/v1"
KAFKA_VERSION, METADATA_VERSION = "4.1.2", "4.1-IV1"
TLS_PORT = 9093
BOOTSTRAP = f"{CLUSTER}-kafka-bootstrap:{TLS_PORT}"
CA_SECRET, CA_DIR = f"{CLUSTER}-cluster-ca-cert", "/etc/consent/kafka-ca"
STORES_SECRET, TOKENS_SECRET, LEDGER_KEYS_SECRET = "consent-stores", "consent-api-tokens", "consent-ledger-keys"
HTTP_PORT, IMAGE_USER = 8080, 10001  # deploy/Dockerfile's UVICORN_PORT and USER
PROJECTOR_COMMAND = ["uvicorn", "--factory", "services.projector.http:create_app"]  # as compose's projector
REPLICAS = 2
RESOURCE_TYPES = {"topic": "topic", "group": "group", "transactional_id": "transactionalId"}


def _custom(kind: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A Strimzi resource of the cluster."""
    metadata = {"name": name, "labels": {"strimzi.io/cluster": CLUSTER}}
    return {"apiVersion": STRIMZI, "kind": kind, "metadata": metadata, "spec": dict(spec)}


def kafka_cluster() -> list[dict[str, Any]]:
    """The node pool (three controller+broker nodes) and the Kafka resource: SCRAM over TLS, ACLs, replication 3."""
    volume = {"id": 0, "type": "persistent-claim", "size": "100Gi", "deleteClaim": False, "kraftMetadata": "shared"}
    pool = {"replicas": CLUSTER_REPLICATION, "roles": ["controller", "broker"]}
    listener = {"name": "tls", "port": TLS_PORT, "type": "internal", "tls": True}
    config: dict[str, Any] = {
        "offsets.topic.replication.factor": CLUSTER_REPLICATION,
        "transaction.state.log.replication.factor": CLUSTER_REPLICATION,
        "transaction.state.log.min.isr": CLUSTER_MIN_INSYNC,
        "default.replication.factor": CLUSTER_REPLICATION,
        "min.insync.replicas": CLUSTER_MIN_INSYNC,
        "auto.create.topics.enable": False,  # topics are made from topology, never by a client's typo
        "allow.everyone.if.no.acl.found": False,
    }
    kafka = {
        "version": KAFKA_VERSION,
        "metadataVersion": METADATA_VERSION,
        "listeners": [listener | {"authentication": {"type": "scram-sha-512"}}],
        "authorization": {"type": "simple", "superUsers": [ADMIN]},
        "config": config,
    }
    operators: dict[str, Any] = {"topicOperator": {}, "userOperator": {}}
    cluster = {"apiVersion": STRIMZI, "kind": "Kafka", "metadata": {"name": CLUSTER}}
    return [
        _custom("KafkaNodePool", "combined", pool | {"storage": {"type": "jbod", "volumes": [volume]}}),
        cluster | {"spec": {"kafka": kafka, "entityOperator": operators}},
    ]


def kafka_topics() -> list[dict[str, Any]]:
    """One KafkaTopic per topic of topology, replicated as on a cluster."""
    topics = []
    for spec in topic_specs(CLUSTER_REPLICATION):
        fields = {"topicName": spec.name, "partitions": spec.partitions, "replicas": spec.replication}
        topics.append(_custom("KafkaTopic", spec.name, fields | {"config": spec.config()}))
    return topics


def strimzi_acls(principal: str, rules: Iterable[Acl]) -> list[dict[str, Any]]:
    """`principal`'s ACLs as Strimzi writes them: one entry per resource, with its operations."""
    own = sorted(rule for rule in rules if rule.principal == principal)
    entries = []
    for (resource, name), granted in groupby(own, key=lambda rule: (rule.resource, rule.name)):
        target = {"type": RESOURCE_TYPES[resource], "name": name, "patternType": "literal"}
        entries.append({"resource": target, "operations": [rule.operation.capitalize() for rule in granted]})
    return entries


def kafka_users() -> list[dict[str, Any]]:
    """The admin (a super user, no ACLs), then one KafkaUser per principal with SCRAM-SHA-512 and its ACLs."""
    scram = {"authentication": {"type": "scram-sha-512"}}
    rules = acls()
    users = [_custom("KafkaUser", ADMIN, scram)]
    for name in principals():
        authorization = {"type": "simple", "acls": strimzi_acls(name, rules)}
        users.append(_custom("KafkaUser", name, scram | {"authorization": authorization}))
    return users


def _from_secret(name: str, key: str) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": name, "key": key}}}


def service_env(service: str) -> dict[str, str | dict[str, Any]]:
    """The environment of the ledger's or the projector's pods: its own KafkaUser's password, the cluster's CA."""
    env: dict[str, str | dict[str, Any]] = {
        "CONSENT_KAFKA_BOOTSTRAP": BOOTSTRAP,
        "CONSENT_KAFKA_USERNAME": service,
        "CONSENT_KAFKA_PASSWORD": _from_secret(service, "password"),  # written by Strimzi's user operator
        "CONSENT_KAFKA_CA_FILE": f"{CA_DIR}/ca.crt",
        "CONSENT_TOPIC_REPLICATION": str(CLUSTER_REPLICATION),
        f"CONSENT_{service.upper()}_STORE": _from_secret(STORES_SECRET, service),
        TOKENS: _from_secret(TOKENS_SECRET, TOKENS),
    }
    if service == LEDGER:
        env |= {name: _from_secret(LEDGER_KEYS_SECRET, name) for name in LEDGER_SECRETS}
        env |= {  # the console asks the projector for checks and the requests board with a token of its own
            "CONSENT_CONSOLE_PROJECTOR_URL": f"http://consent-{PROJECTOR}:8080",
            CONSOLE_TOKEN: _from_secret(TOKENS_SECRET, CONSOLE_TOKEN),
        }
    return env


def _container(service: str) -> dict[str, Any]:
    env = [
        {"name": key} | ({"value": value} if isinstance(value, str) else value)
        for key, value in service_env(service).items()
    ]
    container: dict[str, Any] = {"name": service, "image": f"consent-ledger:{version()}"}
    if service == PROJECTOR:
        container["command"] = PROJECTOR_COMMAND  # the image's own command serves the ledger
    mounts = [{"name": "data", "mountPath": "/data"}, {"name": "kafka-ca", "mountPath": CA_DIR, "readOnly": True}]
    return container | {
        "ports": [{"name": "http", "containerPort": HTTP_PORT}],
        "env": env,
        "volumeMounts": mounts,
        # /health answers 503 while the store is away: out of the Service then, but not restarted for it.
        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 5},
        "livenessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 20},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }


def workloads() -> list[dict[str, Any]]:
    """A Deployment (two replicas) and a Service for the ledger and for the projector."""
    documents: list[dict[str, Any]] = []
    for service in (LEDGER, PROJECTOR):
        name = f"consent-{service}"
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "consent-ledger"}
        selector = {"app.kubernetes.io/name": name}
        user = {"runAsNonRoot": True, "runAsUser": IMAGE_USER, "runAsGroup": IMAGE_USER, "fsGroup": IMAGE_USER}
        ca = {"secretName": CA_SECRET, "items": [{"key": "ca.crt", "path": "ca.crt"}]}
        pod = {
            "securityContext": user | {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [_container(service)],
            "volumes": [{"name": "data", "emptyDir": {}}, {"name": "kafka-ca", "secret": ca}],
        }
        template = {"metadata": {"labels": labels}, "spec": pod}
        metadata = {"name": name, "labels": labels}
        spec = {"replicas": REPLICAS, "selector": {"matchLabels": selector}, "template": template}
        documents.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec})
        ports = [{"name": "http", "port": HTTP_PORT, "targetPort": "http"}]
        service_spec = {"selector": selector, "ports": ports}
        documents.append({"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": service_spec})
    return documents


def version() -> str:
    """The project's version (pyproject.toml): the tag of the consent-ledger image the pods run."""
    project: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["version"]


def kubernetes_files() -> dict[str, str]:
    """deploy/kubernetes/<name>: its text."""
    return {
        "kafka.yaml": yaml_file(
            "The Kafka cluster for Strimzi: KRaft, three nodes, SCRAM over TLS, ACLs.", kafka_cluster()
        ),
        "topics.yaml": yaml_file("One KafkaTopic per topic of services/platform/topology.py.", kafka_topics()),
        "users.yaml": yaml_file(
            "One KafkaUser per principal with its ACLs; the admin is the super user.", kafka_users()
        ),
        "services.yaml": yaml_file(
            f"The ledger and the projector. PostgreSQL is external: Secret {STORES_SECRET} holds its URLs.",
            workloads(),
        ),
    }
