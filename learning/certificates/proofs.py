"""Data Integrity proofs with the eddsa-jcs-2022 cryptosuite (W3C vc-di-eddsa), Ed25519 did:key and Multikey.

JCS (RFC 8785) canonicalisation makes the signed bytes independent of key order and whitespace, so no RDF
canonicalisation (and no fetching of JSON-LD contexts) is needed to sign or to verify.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ED25519_PUB = b"\xed\x01"  # multicodec prefix of an Ed25519 public key
CRYPTOSUITE = "eddsa-jcs-2022"


class ProofError(Exception):
    """A proof that cannot be checked or does not verify; the message says why."""


def base58_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = BASE58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def base58_decode(text: str) -> bytes:
    number = 0
    for ch in text:
        index = BASE58.find(ch)
        if index < 0:
            raise ProofError(f"{ch!r} is not a base58 character")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def public_multibase(key: Ed25519PublicKey) -> str:
    """The key as Multikey ``publicKeyMultibase`` (base58btc of the multicodec-prefixed key)."""
    return "z" + base58_encode(ED25519_PUB + key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    if not value.startswith("z"):
        raise ProofError("only base58btc ('z') multibase keys are supported")
    raw = base58_decode(value[1:])
    if not raw.startswith(ED25519_PUB) or len(raw) != 34:
        raise ProofError("not an Ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def did_key(key: Ed25519PublicKey) -> str:
    """The did:key DID of a public key; its verification method is DID#fingerprint."""
    return "did:key:" + public_multibase(key)


def verification_method(key: Ed25519PublicKey) -> str:
    fingerprint = public_multibase(key)
    return f"did:key:{fingerprint}#{fingerprint}"


def key_from_verification_method(method: str) -> Ed25519PublicKey:
    """Resolve a did:key verification method offline: the key is in the identifier itself."""
    if not method.startswith("did:key:"):
        raise ProofError(f"verification method {method!r} is not a did:key; give the key to check it")
    did, _, fragment = method.partition("#")
    fingerprint = did.removeprefix("did:key:")
    if fragment and fragment != fingerprint:
        raise ProofError("the did:key fragment does not match its key")
    return public_key_from_multibase(fingerprint)


def _hash_data(document: dict[str, Any], options: dict[str, Any]) -> bytes:
    # vc-di-eddsa 3.3.4-3.3.5: SHA-256 of the canonical proof configuration, then of the canonical document.
    return hashlib.sha256(rfc8785.dumps(options)).digest() + hashlib.sha256(rfc8785.dumps(document)).digest()


def sign(document: dict[str, Any], key: Ed25519PrivateKey, created: datetime) -> dict[str, Any]:
    """Return ``document`` with an eddsa-jcs-2022 DataIntegrityProof for assertion."""
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    options: dict[str, Any] = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verificationMethod": verification_method(key.public_key()),
        "proofPurpose": "assertionMethod",
    }
    if "@context" in unsigned:
        options["@context"] = unsigned["@context"]
    signature = key.sign(_hash_data(unsigned, options))
    return {**unsigned, "proof": {**options, "proofValue": "z" + base58_encode(signature)}}


def verify(document: dict[str, Any], key: Ed25519PublicKey | None = None) -> Ed25519PublicKey:
    """Check the document's eddsa-jcs-2022 proof; return the key that made it, or raise ProofError.

    Without ``key`` the proof's verification method must be a did:key, which needs no lookup.
    """
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise ProofError("the document has no single proof")
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"the proof is not a DataIntegrityProof with the {CRYPTOSUITE} cryptosuite")
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofError("the proof's purpose is not assertionMethod")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofError("the proof has no base58btc proofValue")
    options = copy.deepcopy({k: v for k, v in proof.items() if k != "proofValue"})
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    if "@context" in options and options["@context"] != unsigned.get("@context"):
        raise ProofError("the proof's @context differs from the document's")
    if key is None:
        key = key_from_verification_method(str(proof.get("verificationMethod", "")))
    try:
        key.verify(base58_decode(value[1:]), _hash_data(unsigned, options))
    except InvalidSignature:
        raise ProofError(
            "the signature does not match: the document was changed or not signed by this key"
        ) from None
    return key
