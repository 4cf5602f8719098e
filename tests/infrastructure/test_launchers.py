"""The launchers fail clearly when a tool is missing, fetch nothing twice, and leave no process behind."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from services.devstack.kafka import LocalKafka, ensure_broker_jars, java_executable, new_cluster_id
from services.devstack.postgres import LocalPostgres
from services.devstack.processes import MissingToolError


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_without_java_the_broker_refuses_to_start_and_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")

    with pytest.raises(MissingToolError, match="apt-get install openjdk-17"):
        java_executable()


def test_jars_fetched_once_are_reused_without_maven(monkeypatch: pytest.MonkeyPatch) -> None:
    libs = ensure_broker_jars()  # fetched by the session's broker already, or now
    monkeypatch.setenv("PATH", "/nonexistent")  # no mvn: a second fetch would fail

    assert ensure_broker_jars() == libs
    assert any(jar.name.startswith("kafka_2.13-4.") for jar in libs.glob("*.jar"))


def test_a_stopped_local_broker_leaves_no_process_and_no_files() -> None:
    broker = LocalKafka().start()
    assert broker.process is not None
    pid, data_dir = broker.process.pid, broker.data_dir

    broker.stop()

    assert not is_running(pid)
    assert not data_dir.exists()


def test_a_throwaway_postgres_serves_queries_then_leaves_no_process_and_no_files() -> None:
    server = LocalPostgres().start()
    assert server.process is not None
    pid, base_dir = server.process.pid, server.base_dir
    with psycopg.connect(server.dsn) as connection:
        assert connection.execute("SELECT 1 + 1").fetchone() == (2,)

    server.stop()

    assert not is_running(pid)
    assert not Path(base_dir).exists()


def test_kraft_cluster_ids_never_look_like_a_command_line_option() -> None:
    ids = [new_cluster_id() for _ in range(2000)]  # about 1 in 64 random ids would start with '-'

    assert not [cluster_id for cluster_id in ids if cluster_id.startswith("-")]
    assert {len(cluster_id) for cluster_id in ids} == {22}
