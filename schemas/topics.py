"""The Kafka topics of the public contract, and the topic each sender writes to.

Every sender has an inbound topic of its own: a channel (or the projector's card cascade) sends commands
on consent.commands.<sender>.v1, a subscriber system confirms enforcement on consent.acks.<system>.v1.
The ledger takes the sender from the topic a record came on, never from the record, and on an
authenticated cluster only that sender's principal may write there (ACLs).
"""

from __future__ import annotations

import re

__all__ = ["ACKS", "COMMANDS", "DEADLETTER", "EVENTS", "acks_topic", "commands_topic", "sender_topic"]

EVENTS = "consent.events.v1"
COMMANDS = "consent.commands.v1"  # the family: each sender writes consent.commands.<sender>.v1
ACKS = "consent.acks.v1"  # the family: each subscriber system writes consent.acks.<system>.v1
DEADLETTER = "consent.deadletter.v1"

_VERSION = re.compile(r"v\d+")


def sender_topic(family: str, sender: str) -> str:
    """The topic of `sender` in a topic family: the sender's name before the version (consent.acks.loyalty.v1).

    A family without a version suffix (a test's own topic) gets the sender's name appended.
    """
    stem, dot, version = family.rpartition(".")
    if dot and _VERSION.fullmatch(version):
        return f"{stem}.{sender}.{version}"
    return f"{family}.{sender}"


def commands_topic(sender: str) -> str:
    """Where `sender` (a channel, or the projector's cascade) sends commands: consent.commands.<sender>.v1."""
    return sender_topic(COMMANDS, sender)


def acks_topic(system: str) -> str:
    """Where subscriber `system` confirms enforcement: consent.acks.<system>.v1."""
    return sender_topic(ACKS, system)
