"""deploy/compose.yaml runs the broker the local launcher runs (it cannot be started here: no Docker engine)."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.devstack.kafka import KAFKA_IMAGE, broker_settings

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yaml"
# Addresses differ by design: containers talk over the compose network and the host over 9092.
ADDRESSES = {"listeners", "advertised.listeners", "controller.quorum.bootstrap.servers", "log.dirs"}
ADDRESSES |= {"listener.security.protocol.map"}


def test_the_compose_broker_has_every_setting_of_the_local_launcher() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    kafka = compose["services"]["kafka"]
    local = {key: value for key, value in broker_settings(9092, 9093, "/data").items() if key not in ADDRESSES}

    compose_env = {key: str(value) for key, value in kafka["environment"].items()}
    in_compose = {key: compose_env.get("KAFKA_" + key.upper().replace(".", "_")) for key in local}

    assert kafka["image"] == KAFKA_IMAGE
    assert in_compose == local


def test_the_services_in_compose_reach_kafka_and_postgres_by_service_name() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]

    for name in ("ledger", "projector"):
        environment = services[name]["environment"]
        assert environment["CONSENT_KAFKA_BOOTSTRAP"] == "kafka:19092"
        assert environment[f"CONSENT_{name.upper()}_STORE"].startswith("postgresql://consent:consent@postgres:5432/")
