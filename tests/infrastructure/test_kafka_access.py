"""How a service reaches Kafka: plaintext on the laptop's broker, SASL/SCRAM-SHA-512 with a user, over TLS with a CA."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faststream.kafka.security import parse_security
from faststream.security import SASLScram512

from services.ledger.settings import LedgerSettings
from services.platform.kafka import KafkaAccess


def certificate_authority(folder: Path) -> Path:
    """A self-signed CA certificate (PEM), as the brokers' TLS certificates would be issued by."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "consent test CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / "ca.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_without_a_user_the_client_speaks_plaintext_with_no_authentication() -> None:
    access = KafkaAccess("127.0.0.1:9092")

    assert access.options() == {"bootstrap_servers": "127.0.0.1:9092"}
    assert access.security() is None


def test_a_cluster_is_named_by_every_broker_and_faststream_gets_them_one_by_one() -> None:
    access = KafkaAccess("127.0.0.1:9092, 127.0.0.1:9094,127.0.0.1:9096")

    assert access.servers() == ["127.0.0.1:9092", "127.0.0.1:9094", "127.0.0.1:9096"]
    assert access.options()["bootstrap_servers"] == access.bootstrap_servers  # aiokafka splits it itself


def test_a_user_authenticates_with_scram_sha_512_over_plaintext() -> None:
    access = KafkaAccess("kafka-1:9094", "loyalty", "s3cret")

    options = access.options()
    security = access.security()

    assert options == {
        "bootstrap_servers": "kafka-1:9094",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "loyalty",
        "sasl_plain_password": "s3cret",
    }
    assert isinstance(security, SASLScram512)
    assert parse_security(security) | {"bootstrap_servers": "kafka-1:9094"} == options | {"ssl_context": None}
    assert "s3cret" not in repr(access)  # the password stays out of logs


def test_a_user_with_a_ca_file_authenticates_over_tls(tmp_path: Path) -> None:
    access = KafkaAccess("kafka-1:9095", "ledger", "s3cret", str(certificate_authority(tmp_path)))

    options = access.options()
    security = access.security()

    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("ledger", "s3cret")
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert isinstance(security, SASLScram512)
    parsed = parse_security(security)
    assert (parsed["security_protocol"], parsed["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert isinstance(parsed["ssl_context"], ssl.SSLContext)


def test_the_settings_build_the_access_from_the_consent_kafka_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = certificate_authority(tmp_path)
    for name in ("USERNAME", "PASSWORD", "CA_FILE"):
        monkeypatch.delenv(f"CONSENT_KAFKA_{name}", raising=False)
    plain = LedgerSettings(kafka_bootstrap="127.0.0.1:9092")
    monkeypatch.setenv("CONSENT_KAFKA_USERNAME", "ledger")
    monkeypatch.setenv("CONSENT_KAFKA_PASSWORD", "s3cret")
    monkeypatch.setenv("CONSENT_KAFKA_CA_FILE", str(ca))

    assert plain.kafka() == KafkaAccess("127.0.0.1:9092")
    assert LedgerSettings(kafka_bootstrap="kafka-1:9095").kafka() == KafkaAccess(
        "kafka-1:9095", "ledger", "s3cret", str(ca)
    )
