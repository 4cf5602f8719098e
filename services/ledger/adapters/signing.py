"""The ledger's Ed25519 signing key (from configuration): it signs checkpoints and evidence manifests."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from schemas.envelope import utc_text
from schemas.evidence import LOG_ID, b64, checkpoint_message, key_id


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key and the id of its public half."""

    private: Ed25519PrivateKey

    @classmethod
    def from_base64(cls, text: str) -> SigningKey:
        """The key from its 32-byte seed in base64 (CONSENT_LEDGER_SIGNING_KEY); ValueError naming the setting."""
        try:
            seed = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            seed = b""
        if len(seed) != 32:
            raise ValueError("CONSENT_LEDGER_SIGNING_KEY must be 32 random bytes in base64 (an Ed25519 seed)")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key (development stacks and tests)."""
        return cls(Ed25519PrivateKey.generate())

    def seed_base64(self) -> str:
        """The key in the form CONSENT_LEDGER_SIGNING_KEY takes."""
        raw = self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return base64.b64encode(raw).decode()

    @property
    def public(self) -> Ed25519PublicKey:
        """The public half, which regulators verify with."""
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        """SHA-256 of the raw public key."""
        return key_id(self.public)

    def public_pem(self) -> str:
        """The public key as PEM (SubjectPublicKeyInfo), to hand to a regulator."""
        return self.public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()

    def sign(self, message: bytes) -> str:
        """The Ed25519 signature of `message`, base64."""
        return b64(self.private.sign(message))

    def checkpoint(self, tree_size: int, root: bytes, last_position: int, now: datetime) -> dict[str, Any]:
        """A signed tree head over the first `tree_size` events of the ledger (Certificate Transparency style)."""
        head: dict[str, Any] = {
            "log": LOG_ID,
            "tree_size": tree_size,
            "root": root.hex(),
            "last_position": last_position,
            "timestamp": utc_text(now),
            "key_id": self.key_id,
        }
        return {**head, "signature": self.sign(checkpoint_message(head))}
