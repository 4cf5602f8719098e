"""deploy/compose.yaml and deploy/Dockerfile start the stack the README describes.

No Docker engine runs here, so nothing is built: the compose file is validated against the Compose
specification's JSON schema (as check-jsonschema ships it), its brokers' settings are read back as the
apache/kafka image reads them and its setup script as the Kafka tools would take it (both must say what
services/platform/topology.py says), each service is started from the environment compose would give it
and gets its own Kafka password only, and the image's command line runs as the image's own non-root
user against a data folder of its own, answering /health, until it is stopped by its PID.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from dotenv import dotenv_values
from fastapi import FastAPI
from jsonschema.validators import validator_for
from pydantic_settings import BaseSettings

from services.devstack.kafka import KAFKA_IMAGE, broker_settings
from services.devstack.processes import free_port, start_child, stop_child, tail
from services.devstack.secrets import (
    KAFKA_FILE,
    KAFKA_PASSWORD,
    LEDGER_FILE,
    SUBSCRIBER_SYSTEMS,
    TOKENS_FILE,
    scram_password_variable,
)
from services.ledger.bootstrap import ConfigurationError
from services.platform.auth import SCOPES
from services.platform.settings import ServiceSettings
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

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
DOCKERFILE_IN = "deploy/Dockerfile"  # as compose names it, relative to its build context (the repository)
DOCKERFILE = ROOT / DOCKERFILE_IN
SETUP_SCRIPT = ROOT / "deploy" / "kafka" / "setup.sh"
# Addresses differ by design: each broker has its own, and listeners of its own for the admin and the host.
ADDRESSES = {"node.id", "listeners", "advertised.listeners", "controller.quorum.bootstrap.servers", "log.dirs"}
ADDRESSES |= {"listener.security.protocol.map", "inter.broker.listener.name"}


def compose() -> dict[str, Any]:
    """deploy/compose.yaml as compose reads it (anchors resolved)."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def image_services() -> list[str]:
    """The services compose builds from deploy/Dockerfile."""
    services = compose()["services"]
    return [name for name, declared in services.items() if declared.get("build", {}).get("dockerfile") == DOCKERFILE_IN]


def brokers() -> list[str]:
    """The services that run a Kafka broker (the apache/kafka image with its own entry point)."""
    services = compose()["services"]
    return [
        name
        for name, declared in services.items()
        if declared.get("image") == KAFKA_IMAGE and "entrypoint" not in declared
    ]


def server_properties(env: dict[str, str]) -> dict[str, str]:
    """The server.properties the apache/kafka image writes from a container's KAFKA_* variables.

    As its KafkaDockerWrapper does: the prefix dropped, lower case, `_` read as `.`, then `...` as `-` and `..` as `_`.
    """
    excluded = {"KAFKA_VERSION", "KAFKA_HEAP_OPTS", "KAFKA_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_JMX_OPTS"}
    properties = {}
    for name, value in env.items():
        if name.startswith("KAFKA_") and name not in excluded:
            key = name.removeprefix("KAFKA_").lower().replace("_", ".").replace("...", "-").replace("..", "_")
            properties[key] = value
    return properties


@dataclass(frozen=True)
class Image:
    """What deploy/Dockerfile gives a container: environment, user, working and data folders, commands."""

    env: dict[str, str]
    user: str
    workdir: str
    volumes: list[str]
    cmd: list[str]
    healthcheck: list[str]


def image() -> Image:
    """deploy/Dockerfile's final settings (continuation lines joined, comments skipped)."""
    env: dict[str, str] = {}
    found: dict[str, str] = {}
    volumes: list[str] = []
    for line in re.sub(r"\\\n", " ", DOCKERFILE.read_text()).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, rest = line.strip().partition(" ")
        if instruction == "ENV":
            env |= dict(pair.split("=", 1) for pair in shlex.split(rest))
        elif instruction == "VOLUME":
            volumes += json.loads(rest) if rest.startswith("[") else rest.split()
        else:
            found[instruction] = rest.strip()
    probe = re.search(r"\bCMD\s+(\[.*\])\s*$", found["HEALTHCHECK"])
    assert probe is not None, "HEALTHCHECK needs an exec-form CMD"
    return Image(env, found["USER"], found["WORKDIR"], volumes, json.loads(found["CMD"]), json.loads(probe.group(1)))


def written_secrets(folder: Path) -> None:
    """Run the README's command that writes compose's env files, into `folder`."""
    command = [sys.executable, "-m", "services.cli", "secrets", "--dir", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def compose_env(service: str, secrets: Path) -> dict[str, str]:
    """What compose itself gives `service`: its env files (as written into `secrets`), then its `environment`."""
    declared = compose()["services"][service]
    env: dict[str, str] = {}
    for name in declared.get("env_file", []):
        env |= {key: value for key, value in dotenv_values(secrets / name).items() if value is not None}
    return env | {key: str(value) for key, value in declared.get("environment", {}).items()}


def container_env(service: str, secrets: Path) -> dict[str, str]:
    """The environment `service` runs with: the image's, overridden by compose's."""
    return image().env | compose_env(service, secrets)


def command(service: str) -> list[str]:
    """The command line compose runs for `service`: its own `command`, else the image's CMD."""
    declared: list[str] = compose()["services"][service].get("command", image().cmd)
    return declared


def factory(service: str) -> str:
    """The uvicorn factory (module:function) the service's command serves."""
    argv = command(service)
    return argv[argv.index("--factory") + 1]


def settings_read(service: str) -> set[str]:
    """The CONSENT_* variables the settings classes of the service's package (services.<x>.settings) read."""
    package = ".".join(factory(service).split(".")[:2])  # services.<x>
    module = importlib.import_module(f"{package}.settings")
    classes: list[type[BaseSettings]] = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, ServiceSettings) and value.__module__ == module.__name__
    ]
    return {f"CONSENT_{field}".upper() for cls in classes for field in cls.model_fields}


def start(service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """Build the service's app exactly as uvicorn would, from `env` alone (nothing else of this process's)."""
    for name in [name for name in os.environ if name.startswith(("CONSENT_", "UVICORN_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    module, function = factory(service).split(":")
    app: FastAPI = getattr(importlib.import_module(module), function)()
    return app


def stores_in(folder: Path, env: dict[str, str]) -> dict[str, str]:
    """`env` with every PostgreSQL store (the compose network's) moved to SQLite files in `folder`."""
    return {
        name: f"sqlite:///{folder / name.lower()}.sqlite3" if value.startswith("postgresql://") else value
        for name, value in env.items()
    }


def test_the_compose_file_is_valid_by_the_compose_specification() -> None:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text())
    validator = validator_for(schema)(schema)
    document = compose()
    broken = copy.deepcopy(document)
    broken["services"]["ledger"]["healthcheck"]["intervall"] = "10s"

    assert [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(document)] == []
    assert not validator.is_valid(broken)  # the schema does catch a misspelt key


def test_each_compose_broker_has_the_local_launchers_settings_replicated_as_a_three_node_cluster() -> None:
    local = {key: value for key, value in broker_settings(9092, 9093, "/data").items() if key not in ADDRESSES}
    replicated = {
        key: str(CLUSTER_REPLICATION) if key.endswith("replication.factor") else str(CLUSTER_MIN_INSYNC)
        for key in local
        if key.endswith(("replication.factor", ".min.isr"))
    }
    services = compose()["services"]

    assert len(brokers()) == CLUSTER_REPLICATION
    node_ids = []
    for name in brokers():
        properties = server_properties({key: str(value) for key, value in services[name]["environment"].items()})
        in_compose = {key: properties.get(key) for key in local}
        assert services[name]["image"] == KAFKA_IMAGE
        assert in_compose == local | replicated, name
        assert (properties["default.replication.factor"], properties["min.insync.replicas"]) == ("3", "2")
        assert properties["auto.create.topics.enable"] == "false"
        voters = {voter.split("@")[1].split(":")[0] for voter in properties["controller.quorum.voters"].split(",")}
        assert voters == set(brokers())
        assert f"{name}-data:{properties['log.dirs']}" in services[name]["volumes"]
        node_ids.append(properties["node.id"])
    assert sorted(node_ids) == ["1", "2", "3"]
    assert len({str(services[name]["environment"]["CLUSTER_ID"]) for name in brokers()}) == 1


def test_every_listener_of_the_compose_brokers_authenticates_and_what_no_acl_allows_is_denied(tmp_path: Path) -> None:
    written_secrets(tmp_path)
    admin_password = dotenv_values(tmp_path / KAFKA_FILE)[scram_password_variable(ADMIN)]

    for name in brokers():
        properties = server_properties(compose_env(name, tmp_path))
        protocols = dict(pair.split(":") for pair in properties["listener.security.protocol.map"].split(","))
        mechanisms = {
            listener: properties[f"listener.name.{listener.lower()}.sasl.enabled.mechanisms"] for listener in protocols
        }
        admin_only = {properties["inter.broker.listener.name"], properties["controller.listener.names"]}
        assert set(protocols.values()) == {"SASL_PLAINTEXT"}, name
        assert {listener for listener, mechanism in mechanisms.items() if mechanism != "SCRAM-SHA-512"} == admin_only
        for listener in admin_only:  # PLAIN, which KRaft's controllers take, for the admin alone
            assert mechanisms[listener] == "PLAIN"
            jaas = properties[f"listener.name.{listener.lower()}.plain.sasl.jaas.config"]
            assert re.findall(r'user_(\w+)="([^"]*)"', jaas) == [(ADMIN, admin_password)]
            assert f'username="{ADMIN}" password="{admin_password}"' in jaas
        assert (
            properties["sasl.mechanism.inter.broker.protocol"]
            == properties["sasl.mechanism.controller.protocol"]
            == "PLAIN"
        )
        assert properties["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        assert properties["super.users"] == f"User:{ADMIN}"
        assert properties["allow.everyone.if.no.acl.found"] == "false"


def test_the_services_in_compose_reach_kafka_as_their_own_principal_once_it_is_set_up() -> None:
    services = compose()["services"]
    client_listeners = {
        address.removeprefix("CLIENT://")
        for name in brokers()
        for address in server_properties({k: str(v) for k, v in services[name]["environment"].items()})[
            "advertised.listeners"
        ].split(",")
        if address.startswith("CLIENT://")
    }

    assert image_services() == [LEDGER, PROJECTOR]
    for name in image_services():
        environment = services[name]["environment"]
        assert set(environment["CONSENT_KAFKA_BOOTSTRAP"].split(",")) == client_listeners
        assert environment["CONSENT_KAFKA_USERNAME"] == name  # each system is the principal of its own name
        assert environment["CONSENT_TOPIC_REPLICATION"] == str(CLUSTER_REPLICATION)
        assert environment[f"CONSENT_{name.upper()}_STORE"].startswith("postgresql://consent:consent@postgres:5432/")
        assert services[name]["depends_on"]["kafka-setup"] == {"condition": "service_completed_successfully"}


def setup_commands() -> list[list[str]]:
    """The Kafka tool commands of deploy/kafka/setup.sh, as argument lists (its `run` prefix dropped)."""
    lines = [line for line in SETUP_SCRIPT.read_text().splitlines() if line.startswith("run ")]
    return [shlex.split(line)[1:] for line in lines]


def options(argv: list[str]) -> list[tuple[str, str]]:
    """(option, value) of a tool's arguments, flags (options without a value) as (flag, "")."""
    flags = {"--alter", "--create", "--if-not-exists", "--add"}
    pairs, rest = [], list(argv)
    while rest:
        option = rest.pop(0)
        pairs.append((option, "" if option in flags else rest.pop(0)))
    return pairs


def test_the_setup_service_makes_every_user_topic_and_acl_of_topology_and_nothing_else(tmp_path: Path) -> None:
    setup = compose()["services"]["kafka-setup"]
    users: dict[str, str] = {}
    created: dict[str, tuple[int, int, dict[str, str]]] = {}
    altered: dict[str, dict[str, str]] = {}
    allowed: list[Acl] = []
    for tool, *argv in setup_commands():
        given = options(argv)
        value = dict(given)
        if tool == "kafka-configs.sh" and value["--entity-type"] == "users":
            users[value["--entity-name"]] = re.fullmatch(
                r"SCRAM-SHA-512=\[password=\$\{(\w+):\?\}\]", value["--add-config"]
            )[1]  # type: ignore[index]
        elif tool == "kafka-configs.sh":
            altered[value["--entity-name"]] = dict(pair.split("=", 1) for pair in value["--add-config"].split(","))
        elif tool == "kafka-topics.sh":
            config = dict(v.split("=", 1) for option, v in given if option == "--config")
            created[value["--topic"]] = (int(value["--partitions"]), int(value["--replication-factor"]), config)
        else:
            assert tool == "kafka-acls.sh"
            assert value["--resource-pattern-type"] == "literal"
            resource = next(option for option in ("--topic", "--group", "--transactional-id") if option in value)
            principal = value["--allow-principal"].removeprefix("User:")
            for option, operation in given:
                if option == "--operation":
                    kind = resource.removeprefix("--").replace("-", "_")
                    allowed.append(Acl(principal, kind, value[resource], operation.lower()))  # type: ignore[arg-type]
    written_secrets(tmp_path)
    passwords = dotenv_values(tmp_path / KAFKA_FILE)

    assert set(users) == {ADMIN, *principals()}
    assert all(variable in passwords for variable in users.values())  # kafka.env gives each the password it needs
    specs = topic_specs(CLUSTER_REPLICATION)
    assert created == {spec.name: (spec.partitions, spec.replication, spec.config()) for spec in specs}
    assert altered == {spec.name: spec.config() for spec in specs}  # the settings of a topic made before
    assert sorted(allowed) == acls()
    assert setup["volumes"] == [f"./kafka/setup.sh:{setup['entrypoint'][-1]}:ro"]
    assert setup["env_file"] == [KAFKA_FILE]
    assert set(setup["depends_on"]) == set(brokers())


def test_the_secrets_command_writes_the_env_files_compose_reads_and_keeps_them_on_a_second_run(
    tmp_path: Path,
) -> None:
    written_secrets(tmp_path)
    first = {path.name: path.read_text() for path in tmp_path.iterdir()}
    written_secrets(tmp_path)

    env_files = {name for declared in compose()["services"].values() for name in declared.get("env_file", [])}
    assert set(first) == env_files
    assert {path.name: path.read_text() for path in tmp_path.iterdir()} == first  # a second run rotates nothing
    assert {oct(path.stat().st_mode & 0o777) for path in tmp_path.iterdir()} == {"0o600"}
    paths = [f"deploy/{name}" for name in sorted(env_files)]
    ignored = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True, check=False)
    assert ignored.stdout.split() == paths, "the env files hold secrets: .gitignore must keep them out of git"


def test_each_service_gets_its_own_kafka_password_and_no_other(tmp_path: Path) -> None:
    written_secrets(tmp_path)
    held = dotenv_values(tmp_path / KAFKA_FILE)
    passwords = {name: str(held[scram_password_variable(name)]) for name in (ADMIN, *principals())}
    services = compose()["services"]

    def received(service: str) -> set[str]:
        values = compose_env(service, tmp_path).values() if "env_file" in services[service] else []
        return {name for name, password in passwords.items() if any(password in value for value in values)}

    assert len(set(passwords.values())) == len(passwords)
    assert {service: received(service) for service in services} == {
        **{broker: {ADMIN} for broker in brokers()},  # in the JAAS settings of their PLAIN listeners
        "kafka-setup": set(passwords),  # it makes every SCRAM user
        "postgres": set(),
        LEDGER: {LEDGER},
        PROJECTOR: {PROJECTOR},
    }
    for service in image_services():
        env = compose_env(service, tmp_path)
        assert env[KAFKA_PASSWORD] == passwords[env["CONSENT_KAFKA_USERNAME"]]
    written_secrets(tmp_path)
    assert dotenv_values(tmp_path / KAFKA_FILE) == held  # a second run keeps the passwords


@pytest.mark.parametrize("service", image_services())
def test_each_service_starts_on_what_compose_gives_it_and_every_variable_is_one_it_reads(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written_secrets(tmp_path)
    env = stores_in(tmp_path, container_env(service, tmp_path))
    read_by_any = set().union(*(settings_read(name) for name in image_services()))

    app = start(service, env, monkeypatch)  # raises, naming the setting, when one it cannot start without is missing
    try:
        assert app.state.tokens.principal(next(iter(orjson.loads(env["CONSENT_API_TOKENS"])))) is not None
    finally:
        for resource in (getattr(app.state, "ledger", None), getattr(app.state, "store", None)):
            if resource is not None:
                resource.close()

    assert sorted(set(compose_env(service, tmp_path)) - settings_read(service)) == []  # no typo, nothing stray
    assert sorted({name for name in image().env if name.startswith("CONSENT_")} - read_by_any) == []
    tokens = orjson.loads(env["CONSENT_API_TOKENS"])
    assert {scope for grant in tokens.values() for scope in grant["scopes"]} == SCOPES.keys()
    assert set(SUBSCRIBER_SYSTEMS) <= {grant["name"] for grant in tokens.values()}


def test_without_its_env_files_the_ledger_refuses_to_start_and_names_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / LEDGER_FILE).write_text("")
    (tmp_path / TOKENS_FILE).write_text("")
    env = stores_in(tmp_path, container_env("ledger", tmp_path))

    with pytest.raises(ConfigurationError, match="CONSENT_LEDGER_MASTER_KEY"):
        start("ledger", env, monkeypatch)


# --- the image's command line, run as the image's user ---------------------------------------------


def uid_gid(user: str) -> tuple[int, int]:
    """The numeric USER of the image (a name would need the image's /etc/passwd)."""
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), "USER uid:gid, numeric, so runAsNonRoot can check it"
    assert gid.isdigit(), "USER uid:gid, numeric, so runAsNonRoot can check it"
    return int(uid), int(gid)


@pytest.fixture
def data_folder() -> Iterator[Path]:
    """An empty data folder owned by the image's user (outside pytest's own folder, which only root may enter)."""
    owner = uid_gid(image().user)
    folder = Path(tempfile.mkdtemp(prefix="consent-data-"))
    try:
        if os.geteuid() == 0:
            os.chown(folder, *owner)
        yield folder
    finally:
        shutil.rmtree(folder)


@pytest.fixture(scope="module", autouse=True)
def checkout_searchable_by_everyone() -> Iterator[None]:
    """As in the image, where the code is readable by everyone: the folders above a checkout that only root
    may enter (a fresh `mktemp -d`) get search permission for others while these tests run, nothing more.

    Reading through the capability alone is not enough: access(2), which Alembic asks whether its
    migrations folder exists, ignores capabilities for a user other than root.
    """
    changed = []
    if os.geteuid() == 0:
        for folder in (ROOT, *ROOT.parents):
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
                changed.append((folder, mode))
    try:
        yield
    finally:
        for folder, mode in changed:
            folder.chmod(stat.S_IMODE(mode))


def as_image_user(argv: list[str]) -> list[str]:
    """`argv` run as the image's uid and gid with no other group (when root; else as this unprivileged user).

    In the image the code is readable by everyone; a checkout may sit in a folder only root may enter
    (a fresh `mktemp -d`), so the user keeps the right to read and search files, and no other: what it
    may write is still only what it owns.
    """
    if os.geteuid() != 0:
        return argv
    uid, gid = uid_gid(image().user)
    read_anything = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *read_anything, "--", *argv]


def probe(argv: list[str], env: dict[str, str]) -> int:
    """Run a health check's command line (the image's user, its env); its exit code."""
    return subprocess.run(as_image_user(argv), env=env, capture_output=True, timeout=30, check=False).returncode


def health_check(service: str) -> list[str]:
    """The command line of compose's health check for `service`."""
    test: list[str] = compose()["services"][service]["healthcheck"]["test"]
    return test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]


@contextmanager
def serving(
    argv: list[str], env: dict[str, str], cwd: Path, log: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start the command line as the image's user; yield it and its /health once that answers; stop it by its PID."""
    process = start_child(as_image_user(argv), log_path=log, env=env, cwd=cwd)
    url = f"http://127.0.0.1:{env['UVICORN_PORT']}/health"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"exited with {process.returncode}:\n{tail(log)}"
            assert time.monotonic() < deadline, f"{url} did not answer within 60 s:\n{tail(log)}"
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield process, url
    finally:
        stop_child(process)


def local_env(env: dict[str, str], data: str, folder: Path) -> dict[str, str]:
    """The container's env on this machine: its data folder here, a free loopback port, the venv's programs."""
    here = {name: value.replace(data, str(folder)) for name, value in env.items()}
    path = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
    # No broker: /health answers without one (kafka "down"), and no shared topic is touched.
    unreachable = f"127.0.0.1:{free_port()}"
    return (
        here
        | {"UVICORN_HOST": "127.0.0.1", "UVICORN_PORT": str(free_port()), "PATH": path}
        | {"CONSENT_KAFKA_BOOTSTRAP": unreachable}
    )


def uid_of(pid: int) -> int:
    """The real uid a process runs as."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


def test_the_images_command_serves_health_as_its_own_non_root_user_writing_only_its_data_folder(
    data_folder: Path, tmp_path: Path
) -> None:
    built = image()
    assert built.volumes == [built.workdir]  # the data folder is the working folder and a volume
    written_secrets(tmp_path)
    secrets = {
        key: str(value) for name in (TOKENS_FILE, LEDGER_FILE) for key, value in dotenv_values(tmp_path / name).items()
    }
    env = local_env(built.env | secrets, built.workdir, data_folder)  # docker run --env-file, once for each

    with serving(built.cmd, env, data_folder, tmp_path / "image.log") as (process, url):
        assert httpx.get(url, timeout=10).json()["service"] == "ledger"
        assert uid_of(process.pid) != 0
        assert probe(built.healthcheck, env) == 0
        stores = {path.name: path.stat().st_uid for path in data_folder.iterdir() if path.suffix == ".sqlite3"}
        assert stores == {"ledger.sqlite3": uid_of(process.pid)}

    assert probe(built.healthcheck, env) != 0  # stopped: the image's check says so
    assert "curl" not in " ".join(built.healthcheck)


@pytest.mark.parametrize("service", image_services())
def test_each_compose_service_runs_as_the_image_user_and_passes_its_health_check(
    service: str, data_folder: Path, tmp_path: Path, postgres_database: dict[str, str]
) -> None:
    built = image()
    declared = compose()["services"][service]
    assert f"{service}-data:{built.workdir}" in declared["volumes"]
    written_secrets(tmp_path)
    db = postgres_database
    store = f"postgresql://{db['user']}:{db['password']}@{db['host']}:{db['port']}/{db['dbname']}"
    env = {
        name: store if value.startswith("postgresql://") else value
        for name, value in local_env(container_env(service, tmp_path), built.workdir, data_folder).items()
    }

    with serving(command(service), env, data_folder, tmp_path / f"{service}.log") as (process, url):
        answer = httpx.get(url, timeout=10).json()
        assert (answer["service"], answer["store"]) == (service, "postgresql")
        assert uid_of(process.pid) != 0
        assert probe(health_check(service), env) == 0

    assert probe(health_check(service), env) != 0
    assert health_check(service) == built.healthcheck  # compose checks what the image's HEALTHCHECK checks
