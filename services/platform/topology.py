"""The one definition of who talks to Kafka: the project's topics with their settings, its principals and their ACLs.

The services create the topics they miss from here, the local cluster (services.devstack.cluster)
creates every topic, user and ACL from here, and deploy/kafka's manifests are written from here
(`python -m services.devstack.manifests`; a test keeps them equal). On an authenticated cluster each
system is a SCRAM principal of its own name; only the ledger writes consent.events.v1, each sender
writes only its own inbound topic, subscribers read the events only in their own consumer group.
See docs/decisions/0018-authenticated-senders.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.topics import ACKS, COMMANDS, DEADLETTER, EVENTS, sender_topic

LEDGER, PROJECTOR, ADMIN = "ledger", "projector", "admin"
SUBSCRIBERS = ("loyalty", "delivery", "marketing")  # read the events, confirm enforcement under their own name
CHANNELS = ("tablet", "web", "contact-centre")  # send commands, read nothing
LEDGER_GROUP, PROJECTOR_GROUP = "consent-ledger", "consent-projector"
RELAY_TRANSACTIONAL_ID = "consent-ledger-relay"
PARTITIONS = 12
CLUSTER_REPLICATION, CLUSTER_MIN_INSYNC = 3, 2
COMMANDS_RETENTION_DAYS = 7  # commands and dead letters may carry (sealed) personal data: days, not forever

Role = Literal["channel", "cascade", "subscriber"]


def subscriber_group(system: str) -> str:
    """The consumer group a subscriber system reads consent.events.v1 in (the only one its ACLs allow)."""
    return f"consent-{system}"


def inbound_senders(commands_family: str = COMMANDS, acks_family: str = ACKS) -> dict[str, tuple[str, Role]]:
    """topic -> (sender, role) of every topic the ledger takes records from."""
    senders: dict[str, tuple[str, Role]] = {sender_topic(commands_family, c): (c, "channel") for c in CHANNELS}
    senders[sender_topic(commands_family, PROJECTOR)] = (PROJECTOR, "cascade")
    senders |= {sender_topic(acks_family, s): (s, "subscriber") for s in SUBSCRIBERS}
    return senders


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: name, partitions, replication factor (3 on a cluster, 1 on one broker), retention."""

    name: str
    partitions: int = PARTITIONS
    replication: int = 1
    retention_ms: int = -1  # -1: kept forever (the event log); commands carrying personal data: days

    def config(self) -> dict[str, str]:
        """The topic's settings: nothing compacted; min.insync.replicas 2 once replicated 3 times."""
        config = {"retention.ms": str(self.retention_ms), "retention.bytes": "-1", "cleanup.policy": "delete"}
        if self.replication >= CLUSTER_REPLICATION:
            config["min.insync.replicas"] = str(CLUSTER_MIN_INSYNC)
        return config


def topic_specs(replication: int, *, retention_days: int = COMMANDS_RETENTION_DAYS) -> list[TopicSpec]:
    """Every topic of the project: the event log (kept forever), the inbound topics and the dead letters (days)."""
    days = retention_days * 24 * 3600 * 1000
    inbound = [TopicSpec(name, replication=replication, retention_ms=days) for name in inbound_senders()]
    return [
        TopicSpec(EVENTS, replication=replication),
        *inbound,
        TopicSpec(DEADLETTER, replication=replication, retention_ms=days),
    ]


Resource = Literal["topic", "group", "transactional_id"]
Operation = Literal["read", "write", "describe"]


@dataclass(frozen=True, order=True)
class Acl:
    """One allowed operation of a principal on a resource named exactly (no prefixes, no wildcards)."""

    principal: str
    resource: Resource
    name: str
    operation: Operation


def acls() -> list[Acl]:
    """Every ACL of the cluster; anything not listed is denied (the admin is the cluster's super user)."""
    rules = [
        *(Acl(LEDGER, "topic", topic, "read") for topic in inbound_senders()),
        Acl(LEDGER, "group", LEDGER_GROUP, "read"),
        Acl(LEDGER, "topic", EVENTS, "write"),
        Acl(LEDGER, "topic", EVENTS, "read"),  # the relay reads the tail to resume after it
        Acl(LEDGER, "transactional_id", RELAY_TRANSACTIONAL_ID, "write"),
        Acl(LEDGER, "transactional_id", RELAY_TRANSACTIONAL_ID, "describe"),
        Acl(LEDGER, "topic", DEADLETTER, "write"),
        Acl(PROJECTOR, "topic", EVENTS, "read"),
        Acl(PROJECTOR, "group", PROJECTOR_GROUP, "read"),
        Acl(PROJECTOR, "topic", sender_topic(COMMANDS, PROJECTOR), "write"),
        Acl(PROJECTOR, "topic", DEADLETTER, "write"),
    ]
    for system in SUBSCRIBERS:
        rules += [
            Acl(system, "topic", EVENTS, "read"),
            Acl(system, "group", subscriber_group(system), "read"),
            Acl(system, "topic", sender_topic(ACKS, system), "write"),
        ]
    rules += [Acl(channel, "topic", sender_topic(COMMANDS, channel), "write") for channel in CHANNELS]
    return sorted(rules)


def principals() -> list[str]:
    """Every system with a principal of its own (the admin aside)."""
    return [LEDGER, PROJECTOR, *SUBSCRIBERS, *CHANNELS]
