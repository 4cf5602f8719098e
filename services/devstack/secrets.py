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
from services.platform.topology import ADMIN, SUBSCRIBERS, principals

ALL_SCOPES_NAME = "developer"  # the name of the token with every scope
SUBSCRIBER_SYSTEMS = SUBSCRIBERS  # each confirms enforcement under its own name
TOKENS = "CONSENT_API_TOKENS"
KAFKA_PASSWORDS = "CONSENT_KAFKA_PASSWORDS"  # JSON {"<principal>": "<SCRAM password>"}, the admin's included
LEDGER_SECRETS: dict[str, Callable[[], str]] = {
    "CONSENT_LEDGER_MASTER_KEY": new_master_key,
    "CONSENT_LEDGER_IDENTITY_SECRET": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "CONSENT_LEDGER_SIGNING_KEY": lambda: SigningKey.generate().seed_base64(),
    "CONSENT_LEDGER_SEALING_KEY": lambda: SealingKey.generate().private_base64(),
}
TOKENS_FILE, LEDGER_FILE = "tokens.env", "ledger.env"  # what deploy/compose.yaml's env_file entries name


def new_token() -> str:
    """A fresh bearer token (32 URL-safe characters)."""
    return base64.urlsafe_b64encode(os.urandom(24)).decode()


def development_tokens(tokens: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """`tokens`, plus a token for each development principal that no token is named after yet."""
    wanted = {ALL_SCOPES_NAME: sorted(SCOPES)} | {system: ["consent:write"] for system in SUBSCRIBER_SYSTEMS}
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


def token_table(tokens_json: str) -> list[tuple[str, str, str]]:
    """(name, scopes, token) of each token in a CONSENT_API_TOKENS value, for printing at start."""
    tokens: dict[str, dict[str, Any]] = orjson.loads(tokens_json or "{}")
    return [(str(grant["name"]), " ".join(grant.get("scopes", [])), token) for token, grant in tokens.items()]


def write_env_files(folder: Path) -> dict[str, str]:
    """Write (or complete) folder/tokens.env and folder/ledger.env, readable by their owner only; return all.

    Variables someone added to either file are kept.
    """
    tokens_path, ledger_path = folder / TOKENS_FILE, folder / LEDGER_FILE
    secrets = completed(_read_env(tokens_path) | _read_env(ledger_path))
    _complete_env(tokens_path, {TOKENS: secrets[TOKENS]})
    _complete_env(ledger_path, {name: secrets[name] for name in LEDGER_SECRETS})
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
