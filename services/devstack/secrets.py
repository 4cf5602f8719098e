"""Secrets for stacks that are not production: the local stack's var/secrets.json and compose's env files.

Both hold the ledger's master key, identity secret, signing key and sealing key, bearer tokens: one with
every scope (`developer`) and one `consent:write` token per subscriber system, named after it, since
a token confirms enforcement only for the system it is named after; and a SCRAM password for each
Kafka principal of services.platform.topology (and the cluster's admin), used where Kafka authenticates.
Secrets already written are kept (a new master key would leave every stored subject key unreadable);
those added to the project since are made and added.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from dotenv import dotenv_values

from services.ledger.adapters.pii.sealing import SealingKey
from services.ledger.adapters.signing import SigningKey
from services.ledger.bootstrap import new_master_key
from services.platform.auth import SCOPES
from services.platform.topology import ADMIN, LEDGER, PROJECTOR, SUBSCRIBERS, principals

ALL_SCOPES_NAME = "developer"  # the name of the token with every scope
CONSOLE_PERSON = "dpo-officer"  # signs in to the console (dpo, read); every action is recorded under this name
CONSOLE_SERVICE = "console"  # the token the ledger's console asks the projector with
CONSOLE_TOKEN = "CONSENT_CONSOLE_PROJECTOR_TOKEN"  # noqa: S105 - the variable's name, not a secret
SUBSCRIBER_SYSTEMS = SUBSCRIBERS  # each confirms enforcement under its own name
TOKENS = "CONSENT_API_TOKENS"
KAFKA_PASSWORDS = "CONSENT_KAFKA_PASSWORDS"  # JSON {"<principal>": "<SCRAM password>"}, the admin's included
LEDGER_SECRETS: dict[str, Callable[[], str]] = {
    "CONSENT_LEDGER_MASTER_KEY": new_master_key,
    "CONSENT_LEDGER_IDENTITY_SECRET": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "CONSENT_LEDGER_SIGNING_KEY": lambda: SigningKey.generate().seed_base64(),
    "CONSENT_LEDGER_SEALING_KEY": lambda: SealingKey.generate().private_base64(),
}
KAFKA_PASSWORD = "CONSENT_KAFKA_PASSWORD"  # noqa: S105 - the variable holding a service's own SCRAM password
# What deploy/compose.yaml's env_file entries name: each service gets its own file and no other's secrets.
TOKENS_FILE, LEDGER_FILE, PROJECTOR_FILE = "tokens.env", "ledger.env", "projector.env"
BROKER_FILE, KAFKA_FILE = "kafka-broker.env", "kafka.env"  # the brokers' (the admin's password); the setup's (all)
ENV_FILES = (TOKENS_FILE, LEDGER_FILE, PROJECTOR_FILE, BROKER_FILE, KAFKA_FILE)
ADMIN_LISTENERS = ("BROKER", "CONTROLLER")  # where compose's brokers log the admin in with PLAIN (KRaft, inter-broker)


def new_token() -> str:
    """A fresh bearer token (32 URL-safe characters)."""
    return base64.urlsafe_b64encode(os.urandom(24)).decode()


def development_tokens(tokens: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """`tokens`, plus a token for each development principal that no token is named after yet."""
    wanted = {ALL_SCOPES_NAME: sorted(SCOPES)} | {system: ["consent:write"] for system in SUBSCRIBER_SYSTEMS}
    wanted |= {CONSOLE_PERSON: ["dpo", "read"], CONSOLE_SERVICE: ["dpo", "read"]}
    named = {grant.get("name") for grant in tokens.values()}
    added = {new_token(): {"name": name, "scopes": scopes} for name, scopes in wanted.items() if name not in named}
    return {token: dict(grant) for token, grant in tokens.items()} | added


def kafka_passwords(passwords: Mapping[str, str]) -> dict[str, str]:
    """`passwords`, plus a new one for each Kafka principal (and the admin) that has none yet."""
    return {name: passwords.get(name) or new_token() for name in (ADMIN, *principals())} | dict(passwords)


def completed(secrets: Mapping[str, str]) -> dict[str, str]:
    """`secrets` with each ledger secret it lacks made, the development tokens and Kafka passwords completed."""
    done = dict(secrets)
    for name, make in LEDGER_SECRETS.items():
        if name not in done:
            done[name] = make()
    done[TOKENS] = orjson.dumps(development_tokens(orjson.loads(done.get(TOKENS) or "{}"))).decode()
    done[KAFKA_PASSWORDS] = orjson.dumps(kafka_passwords(orjson.loads(done.get(KAFKA_PASSWORDS) or "{}"))).decode()
    return done


def console_token(tokens_json: str) -> str:
    """The token named `console` in a CONSENT_API_TOKENS value: the console's, for the projector."""
    tokens: dict[str, dict[str, Any]] = orjson.loads(tokens_json or "{}")
    return next(token for token, grant in tokens.items() if grant.get("name") == CONSOLE_SERVICE)


def token_table(tokens_json: str) -> list[tuple[str, str, str]]:
    """(name, scopes, token) of each token in a CONSENT_API_TOKENS value, for printing at start."""
    tokens: dict[str, dict[str, Any]] = orjson.loads(tokens_json or "{}")
    return [(str(grant["name"]), " ".join(grant.get("scopes", [])), token) for token, grant in tokens.items()]


def scram_password_variable(principal: str) -> str:
    """The variable of kafka.env holding `principal`'s SCRAM password (SCRAM_PASSWORD_CONTACT_CENTRE)."""
    return "SCRAM_PASSWORD_" + principal.upper().replace("-", "_")


def broker_env(admin_password: str) -> dict[str, str]:
    """The brokers' env file: the JAAS setting of each PLAIN listener (as the apache/kafka image spells it)."""
    login = f'username="{ADMIN}" password="{admin_password}" user_{ADMIN}="{admin_password}"'
    jaas = f"org.apache.kafka.common.security.plain.PlainLoginModule required {login};"
    return {f"KAFKA_LISTENER_NAME_{listener}_PLAIN_SASL_JAAS_CONFIG": jaas for listener in ADMIN_LISTENERS}


def write_env_files(folder: Path) -> dict[str, str]:
    """Write (or complete) compose's env files in `folder`, readable by their owner only; return every secret.

    tokens.env: the tokens (both services); ledger.env: the ledger's keys and its Kafka password; projector.env:
    the projector's Kafka password; kafka-broker.env: the admin's password, in the brokers' PLAIN logins;
    kafka.env: every principal's SCRAM password, for the setup service that makes the users. The passwords
    are kafka.env's; variables someone added to a file are kept.
    """
    paths = {name: folder / name for name in ENV_FILES}
    held = _read_env(paths[KAFKA_FILE])
    names = (ADMIN, *principals())
    passwords = {name: held[variable] for name in names if (variable := scram_password_variable(name)) in held}
    stored = _read_env(paths[TOKENS_FILE]) | _read_env(paths[LEDGER_FILE])
    stored.pop(KAFKA_PASSWORD, None)  # kafka.env's password is the one that counts
    secrets = completed(stored | {KAFKA_PASSWORDS: orjson.dumps(passwords).decode()})
    kafka: dict[str, str] = orjson.loads(secrets[KAFKA_PASSWORDS])
    _complete_env(paths[TOKENS_FILE], {TOKENS: secrets[TOKENS]})
    ledger = {name: secrets[name] for name in LEDGER_SECRETS} | {KAFKA_PASSWORD: kafka[LEDGER]}
    _complete_env(paths[LEDGER_FILE], ledger | {CONSOLE_TOKEN: console_token(secrets[TOKENS])})
    _complete_env(paths[PROJECTOR_FILE], {KAFKA_PASSWORD: kafka[PROJECTOR]})
    _complete_env(paths[BROKER_FILE], broker_env(kafka[ADMIN]))
    _complete_env(paths[KAFKA_FILE], {scram_password_variable(name): kafka[name] for name in names})
    return secrets


def _read_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return {name: value for name, value in dotenv_values(path).items() if value is not None}


def _complete_env(path: Path, values: Mapping[str, str]) -> None:
    before = _read_env(path)
    after = before | dict(values)
    if after == before and path.exists():
        return
    quoted = [f"{name}='{value}'" for name, value in after.items() if "'" not in value]
    if len(quoted) != len(after):
        raise ValueError(f"{path}: a value holds a single quote; remove it and run again")
    header = "# Development secrets from `consent-ledger secrets`: never commit them, never use them in production."
    path.touch(mode=0o600)
    path.write_text("\n".join([header, *quoted]) + "\n")  # single quotes: compose takes the value literally
