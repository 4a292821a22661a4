"""The issuer's Ed25519 keys: one signs, retired ones stay published so that older credentials verify.

Production gives the signing key in CERTIFICATE_SIGNING_KEY as ``KID:SEED`` (SEED: 32 random bytes in
base64url, from ``flask certificates generate-key``); development and tests keep one made on first use in the
instance folder. A key id names the key's published address, /issuer/keys/KID.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

from learning.certificates import proofs

KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
INSTANCE_FILE = "certificate-signing-key"


class KeyConfigurationError(RuntimeError):
    """The signing key is missing or malformed."""


@dataclass(frozen=True)
class IssuerKey:
    kid: str
    public: Ed25519PublicKey
    private: Ed25519PrivateKey | None = None

    @property
    def multibase(self) -> str:
        return proofs.public_multibase(self.public)

    @property
    def did(self) -> str:
        return proofs.did_key(self.public)

    def signer(self) -> Ed25519PrivateKey:
        if self.private is None:
            raise KeyConfigurationError(f"key {self.kid} is retired and cannot sign")
        return self.private


def new_key_line(kid: str) -> str:
    """Return a fresh ``KID:SEED`` line for CERTIFICATE_SIGNING_KEY."""
    if not KEY_ID.match(kid):
        raise KeyConfigurationError("a key id is 1 to 32 letters, digits, '-' or '_'")
    return f"{kid}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip('=')}"


@lru_cache(maxsize=8)
def parse_signing_key(line: str) -> IssuerKey:
    """Parse ``KID:SEED``."""
    kid, _, seed = line.strip().partition(":")
    if not KEY_ID.match(kid):
        raise KeyConfigurationError(
            "CERTIFICATE_SIGNING_KEY must look like KID:SEED (see flask certificates generate-key)"
        )
    try:
        raw = base64.urlsafe_b64decode(seed + "=" * (-len(seed) % 4))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise KeyConfigurationError("the seed in CERTIFICATE_SIGNING_KEY must be 32 bytes in base64url")
    private = Ed25519PrivateKey.from_private_bytes(raw)
    return IssuerKey(kid, private.public_key(), private)


@lru_cache(maxsize=8)
def parse_retired_keys(value: str) -> tuple[IssuerKey, ...]:
    """Parse ``KID:PUBLIC_MULTIBASE,KID:PUBLIC_MULTIBASE``."""
    keys = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        kid, _, multibase = item.partition(":")
        if not KEY_ID.match(kid):
            raise KeyConfigurationError(f"bad key id in CERTIFICATE_RETIRED_KEYS: {kid!r}")
        try:
            keys.append(IssuerKey(kid, proofs.public_key_from_multibase(multibase)))
        except (proofs.ProofError, ValueError) as exc:
            raise KeyConfigurationError(
                f"bad public key for {kid} in CERTIFICATE_RETIRED_KEYS: {exc}"
            ) from None
    return tuple(keys)


def _instance_key_line() -> str:
    path = Path(current_app.instance_path) / INSTANCE_FILE
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = new_key_line("1")
    path.write_text(line + "\n")
    path.chmod(0o600)
    return line


def signing_key() -> IssuerKey:
    """The key new credentials are signed with."""
    line = current_app.config["CERTIFICATE_SIGNING_KEY"]
    if not line:
        if current_app.config["ACADEMY_ENV"] == "production":
            raise KeyConfigurationError(
                "CERTIFICATE_SIGNING_KEY must be set in production "
                "(flask certificates generate-key makes one)"
            )
        line = _instance_key_line()
    return parse_signing_key(line)


def published_keys() -> list[IssuerKey]:
    """Every key a verifier may meet: the signing key first, then the retired ones."""
    current = signing_key()
    retired = [
        k for k in parse_retired_keys(current_app.config["CERTIFICATE_RETIRED_KEYS"]) if k.kid != current.kid
    ]
    return [current, *retired]


def find_key(kid: str) -> IssuerKey | None:
    return next((key for key in published_keys() if key.kid == kid), None)


def key_for_public(multibase: str) -> IssuerKey | None:
    """The published key with this public key, if it is one of ours."""
    return next((key for key in published_keys() if key.multibase == multibase), None)
