"""Session-wide real infrastructure: one Kafka broker and one PostgreSQL server for the whole run.

Kafka: CONSENT_TEST_KAFKA_BOOTSTRAP if set, else a container when a Docker engine answers, else the
local launcher (deploy/kafka). PostgreSQL: CONSENT_TEST_POSTGRES_DSN if set, else a throwaway cluster.
Every test gets topics and databases of its own, with unique names.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from psycopg.conninfo import conninfo_to_dict

from services.devstack.kafka import provide_kafka
from services.devstack.postgres import provide_postgres
from services.platform.topology import inbound_senders

NewTopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a real Kafka broker for the whole session."""
    with provide_kafka(os.environ.get("CONSENT_TEST_KAFKA_BOOTSTRAP")) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """DSN of a real PostgreSQL server (its maintenance database) for the whole session."""
    with provide_postgres(os.environ.get("CONSENT_TEST_POSTGRES_DSN")) as dsn:
        yield dsn


@pytest.fixture
async def new_topic(kafka_bootstrap: str) -> AsyncIterator[NewTopicFactory]:
    """Create topics with unique names (or the name given) for this test; they are deleted afterwards."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    created: list[str] = []

    async def create(prefix: str = "test", partitions: int = 1, *, name: str | None = None) -> str:
        name = name or f"{prefix}.{uuid.uuid4().hex[:12]}"
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        created.append(name)
        return name

    yield create
    if created:
        await admin.delete_topics(created)
    await admin.close()


async def inbound_families(new_topic: NewTopicFactory, partitions: int = 1) -> tuple[str, str]:
    """A commands and an acks topic family of unique names, with every sender's topic in them created for this test.

    The families are what CONSENT_COMMANDS_TOPIC and CONSENT_ACKS_TOPIC name; each sender writes its own
    topic in them (services.platform.topology.inbound_senders), e.g. consent.commands.<run>.tablet.
    """
    run = uuid.uuid4().hex[:12]
    commands, acks = f"consent.commands.{run}", f"consent.acks.{run}"
    for topic in inbound_senders(commands, acks):
        await new_topic(name=topic, partitions=partitions)
    return commands, acks


@pytest.fixture
def postgres_database(postgres_dsn: str) -> Iterator[dict[str, str]]:
    """A fresh database of its own on the session's server: host, port, user, password, dbname."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(postgres_dsn)
    yield {
        "host": str(params.get("host", "127.0.0.1")),
        "port": str(params.get("port", "5432")),
        "user": str(params.get("user", "postgres")),
        "password": str(params.get("password", "")),
        "dbname": name,
    }
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of each kind the services support, as a store URL: a SQLite file, or a database
    of its own on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    db = request.getfixturevalue("postgres_database")
    return f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}"
