"""The certificate as an Open Badges 3.0 credential (a W3C Verifiable Credential), the issuer's published
documents, the revocation list, and the offline check of all of them."""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from learning.certificates import proofs
from learning.certificates.keys import IssuerKey, signing_key

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
STATUS_LIST_BITS = 131_072  # the minimum length the Bitstring Status List spec asks for (herd privacy)
STATUS_LIST_NUMBER = 1


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


def issuer_id() -> str:
    return f"{base_url()}/issuer"


def status_list_id() -> str:
    return f"{base_url()}/issuer/status/{STATUS_LIST_NUMBER}"


def issuer_reference() -> dict[str, Any]:
    return {
        "id": issuer_id(),
        "type": ["Profile"],
        "name": current_app.config["CERTIFICATE_ISSUER_NAME"],
        "url": base_url(),
    }


def issuer_profile(keys: list[IssuerKey]) -> dict[str, Any]:
    """The issuer's Open Badges Profile, published at /issuer, naming the keys it signs with."""
    return {
        "@context": [VC_CONTEXT, OB3_CONTEXT],
        **issuer_reference(),
        "description": "Capacity building on smart port development for officials of Asia and the Pacific, "
        "following the ESCAP Expert Group Meeting on Smart Port Development (27 November 2020).",
        "otherIdentifier": [
            {"type": "IdentifierEntry", "identifier": key.did, "identifierType": "identifier"} for key in keys
        ],
    }


def key_document(key: IssuerKey) -> dict[str, Any]:
    """A key as a Multikey document at /issuer/keys/KID; the same key is the did:key in each proof."""
    return {
        "@context": MULTIKEY_CONTEXT,
        "id": f"{base_url()}/issuer/keys/{key.kid}",
        "type": "Multikey",
        "controller": issuer_id(),
        "publicKeyMultibase": key.multibase,
    }


@dataclass(frozen=True)
class CredentialFacts:
    """What a credential states, read from the certificate row and its course."""

    code: str
    serial: str
    status_index: int
    holder_name: str
    course_slug: str
    version_number: int
    course_title: str
    hours: float
    completed_at: datetime
    issued_at: datetime


def build_credential(facts: CredentialFacts) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential."""
    hours = f"{facts.hours:g}"
    issuer = issuer_reference()
    return {
        "@context": [VC_CONTEXT, OB3_CONTEXT],
        "id": f"{base_url()}/verify/{facts.code}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": facts.course_title,
        "description": f"Certificate {facts.serial}: {facts.course_title}, {hours} hours of study.",
        "issuer": issuer,
        "validFrom": timestamp(facts.issued_at),
        "awardedDate": timestamp(facts.issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": facts.holder_name,
                    "identityType": "name",
                    "hashed": False,
                }
            ],
            "activityEndDate": timestamp(facts.completed_at),
            "achievement": {
                "id": f"{base_url()}/courses/{facts.course_slug}#version-{facts.version_number}",
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": facts.course_title,
                "description": f"Version {facts.version_number} of the Smart Port Academy course "
                f"{facts.course_title!r}, {hours} hours of study.",
                "criteria": {
                    "narrative": "Completed every lesson and passed every module quiz of the course "
                    f"({hours} hours of study)."
                },
                "creator": issuer,
            },
        },
        "credentialStatus": {
            "id": f"{status_list_id()}#{facts.status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(facts.status_index),
            "statusListCredential": status_list_id(),
        },
    }


def signed_credential(facts: CredentialFacts, key: IssuerKey | None = None) -> tuple[str, str]:
    """Return the signed credential as JSON text, and the id of the key that signed it."""
    key = key or signing_key()
    document = proofs.sign(build_credential(facts), key.signer(), facts.issued_at)
    return json.dumps(document, ensure_ascii=False, indent=2), key.kid


# --- revocation list -------------------------------------------------------------------------------------


def encode_bitstring(indexes: set[int]) -> str:
    """GZIP the bitstring (index 0 is the first byte's highest bit) and base64url it, multibase 'u'."""
    size = STATUS_LIST_BITS
    while indexes and max(indexes) >= size:
        size += STATUS_LIST_BITS
    bits = bytearray(size // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def bit_is_set(encoded: str, index: int) -> bool:
    if not encoded.startswith("u"):
        raise proofs.ProofError("the status list is not base64url multibase ('u')")
    body = encoded[1:]
    try:
        bits = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (OSError, ValueError) as exc:
        raise proofs.ProofError(f"the status list cannot be decoded: {exc}") from None
    if index < 0 or index // 8 >= len(bits):
        raise proofs.ProofError("the status index lies outside the status list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(revoked: set[int], now: datetime) -> dict[str, Any]:
    """The signed BitstringStatusListCredential published at /issuer/status/1."""
    key = signing_key()
    document = {
        "@context": [VC_CONTEXT],
        "id": status_list_id(),
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id(),
        "validFrom": timestamp(now),
        "credentialSubject": {
            "id": f"{status_list_id()}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_bitstring(revoked),
        },
    }
    return proofs.sign(document, key.signer(), now)


# --- checking a credential offline -----------------------------------------------------------------------


@dataclass
class Report:
    """The outcome of checking a credential: ``status`` is valid, revoked or invalid."""

    status: str = "valid"
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.status = "invalid"
        self.problems.append(problem)


def _issuer_id_of(document: dict[str, Any]) -> str | None:
    issuer = document.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer if isinstance(issuer, str) else None


def check_credential(
    document: Any,
    trusted_keys: set[str],
    status_list: Any | None = None,
    now: datetime | None = None,
) -> Report:
    """Check signature, issuer key, validity period and (when a status list is given) revocation.

    ``trusted_keys`` are the issuer's published public keys (multibase); nothing is fetched.
    """
    report = Report()
    now = now or datetime.now(UTC)
    if not isinstance(document, dict):
        report.fail("the file is not a JSON object")
        return report
    types = document.get("type") or []
    if "VerifiableCredential" not in types or "OpenBadgeCredential" not in types:
        report.fail("not an Open Badges 3.0 credential (type must include OpenBadgeCredential)")
    if document.get("@context", [None])[0] != VC_CONTEXT or OB3_CONTEXT not in document.get("@context", []):
        report.fail("the @context is not that of an Open Badges 3.0 credential")
    try:
        key = proofs.verify(document)
    except proofs.ProofError as exc:
        report.fail(f"signature: {exc}")
        return report
    multibase = proofs.public_multibase(key)
    report.facts.append(f"signature: valid, by {proofs.did_key(key)}")
    if multibase not in trusted_keys:
        report.fail("the signing key is not one the issuer publishes")
    subject = document.get("credentialSubject") or {}
    names = [i.get("identityHash") for i in subject.get("identifier", []) if i.get("identityType") == "name"]
    report.facts.append(f"holder: {', '.join(str(n) for n in names)}")
    report.facts.append(f"achievement: {subject.get('achievement', {}).get('name')}")
    report.facts.append(f"issuer: {_issuer_id_of(document)}")
    valid_from = document.get("validFrom")
    if not isinstance(valid_from, str) or valid_from > timestamp(now):
        report.fail("the credential is not valid yet (validFrom)")
    valid_until = document.get("validUntil")
    if isinstance(valid_until, str) and valid_until <= timestamp(now):
        report.fail("the credential has expired (validUntil)")
    if status_list is None:
        report.facts.append("revocation: not checked (give --revocations)")
        return report
    _check_status(document, status_list, trusted_keys, report)
    return report


def _check_status(document: dict[str, Any], status_list: Any, trusted_keys: set[str], report: Report) -> None:
    entry = document.get("credentialStatus")
    if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
        report.fail("the credential has no BitstringStatusListEntry")
        return
    if not isinstance(status_list, dict) or status_list.get("id") != entry.get("statusListCredential"):
        report.fail("the revocation list given is not the one this credential names")
        return
    try:
        key = proofs.verify(status_list)
    except proofs.ProofError as exc:
        report.fail(f"revocation list signature: {exc}")
        return
    if proofs.public_multibase(key) not in trusted_keys or _issuer_id_of(status_list) != _issuer_id_of(
        document
    ):
        report.fail("the revocation list was not signed by the issuer")
        return
    subject = status_list.get("credentialSubject") or {}
    if subject.get("statusPurpose") != entry.get("statusPurpose"):
        report.fail("the revocation list has another status purpose")
        return
    try:
        revoked = bit_is_set(str(subject.get("encodedList", "")), int(entry.get("statusListIndex", -1)))
    except (proofs.ProofError, ValueError) as exc:
        report.fail(f"revocation list: {exc}")
        return
    report.facts.append(f"revocation list: signed, dated {status_list.get('validFrom')}")
    if revoked and report.status == "valid":
        report.status = "revoked"
        report.problems.append("the issuer has revoked this credential")
