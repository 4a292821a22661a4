"""Signed credentials: the eddsa-jcs-2022 proof against the W3C test vector, Open Badges 3.0 shape, the
revocation list, and `flask certificates verify` offline."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskCliRunner

from learning.certificates import credential, keys, proofs

VECTORS = Path(__file__).parent
# The W3C vc-di-eddsa test vector key (TestVectors/keyPair.json) and its signed credential
# (TestVectors/eddsa-jcs-2022/signedJCS.json), from the specification's repository.
W3C_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
W3C_PRIVATE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
MOMENT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def w3c_signed() -> dict:
    return json.loads((VECTORS / "w3c-eddsa-jcs-2022-signed.json").read_text())


def test_the_w3c_test_vector_verifies_and_our_signature_matches_it() -> None:
    document = w3c_signed()
    public = proofs.public_key_from_multibase(W3C_PUBLIC)
    assert proofs.public_multibase(proofs.verify(document, public)) == W3C_PUBLIC
    # Ed25519 is deterministic: signing the same proof options with the same key gives the same proofValue
    seed = proofs.base58_decode(W3C_PRIVATE[1:])[2:]
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    options = {k: v for k, v in document["proof"].items() if k != "proofValue"}
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(proofs._hash_data(unsigned, options))
    assert "z" + proofs.base58_encode(signature) == document["proof"]["proofValue"]
    document["credentialSubject"]["alumniOf"] = "Another School"
    with pytest.raises(proofs.ProofError, match="does not match"):
        proofs.verify(document, public)


def test_did_key_round_trip_and_refusals() -> None:
    key = Ed25519PrivateKey.generate().public_key()
    method = proofs.verification_method(key)
    assert method.startswith("did:key:z6Mk")
    assert proofs.public_multibase(proofs.key_from_verification_method(method)) == proofs.public_multibase(
        key
    )
    with pytest.raises(proofs.ProofError, match="not a did:key"):
        proofs.key_from_verification_method("https://example.org/keys/1")
    with pytest.raises(proofs.ProofError, match="fragment"):
        proofs.key_from_verification_method(method.split("#")[0] + "#z6Mkother")
    with pytest.raises(proofs.ProofError, match="base58"):
        proofs.public_key_from_multibase("z0OIl")
    with pytest.raises(proofs.ProofError, match="Ed25519"):
        proofs.public_key_from_multibase("z" + proofs.base58_encode(b"\x12\x00" + bytes(32)))
    with pytest.raises(proofs.ProofError, match="multibase"):
        proofs.public_key_from_multibase("u" + W3C_PUBLIC)
    assert proofs.base58_decode(proofs.base58_encode(b"\0\0\x01\x02")) == b"\0\0\x01\x02"


def facts(index: int = 7, name: str = "สมศักดิ์ ใจดีเลิศ") -> credential.CredentialFacts:
    return credential.CredentialFacts(
        code="code-123",
        serial="SPA-AAAA-BBBB-CCCC",
        status_index=index,
        holder_name=name,
        course_slug="harbour-basics",
        version_number=2,
        course_title="Harbour basics",
        hours=1.5,
        completed_at=MOMENT,
        issued_at=MOMENT,
    )


def trusted(app: Flask) -> set[str]:
    return {key.multibase for key in keys.published_keys()}


def test_an_open_badges_credential_is_signed_and_checked_offline(app: Flask) -> None:
    with app.app_context():
        text, kid = credential.signed_credential(facts())
        document = json.loads(text)
        assert kid == "test"
        assert document["@context"] == [credential.VC_CONTEXT, credential.OB3_CONTEXT]
        assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
        assert document["issuer"]["id"] == "http://localhost/issuer"
        subject = document["credentialSubject"]
        assert subject["identifier"][0]["identityHash"] == "สมศักดิ์ ใจดีเลิศ"
        assert subject["achievement"]["achievementType"] == "Certificate"
        assert document["credentialStatus"]["statusListIndex"] == "7"
        assert document["proof"]["verificationMethod"] == proofs.verification_method(
            keys.signing_key().public
        )
        report = credential.check_credential(document, trusted(app), now=MOMENT + timedelta(days=1))
        assert report.status == "valid", report.problems

        changed = copy.deepcopy(document)
        changed["credentialSubject"]["identifier"][0]["identityHash"] = "Someone Else"
        assert credential.check_credential(changed, trusted(app)).status == "invalid"
        assert credential.check_credential(document, {W3C_PUBLIC}).problems == [
            "the signing key is not one the issuer publishes"
        ]
        early = credential.check_credential(document, trusted(app), now=MOMENT - timedelta(days=1))
        assert early.problems == ["the credential is not valid yet (validFrom)"]
        assert credential.check_credential([1], trusted(app)).status == "invalid"
        w3c = credential.check_credential(w3c_signed(), {W3C_PUBLIC})
        assert "not an Open Badges 3.0 credential" in w3c.problems[0]


def test_the_revocation_list_is_a_signed_bitstring(app: Flask) -> None:
    assert credential.bit_is_set(credential.encode_bitstring({0, 9}), 0)
    encoded = credential.encode_bitstring({9})
    assert not credential.bit_is_set(encoded, 8) and credential.bit_is_set(encoded, 9)
    big = credential.encode_bitstring({200_000})
    assert credential.bit_is_set(big, 200_000)
    with pytest.raises(proofs.ProofError, match="outside"):
        credential.bit_is_set(encoded, credential.STATUS_LIST_BITS)
    with pytest.raises(proofs.ProofError, match="multibase"):
        credential.bit_is_set("z123", 1)
    with pytest.raises(proofs.ProofError, match="decoded"):
        credential.bit_is_set("uAAAA", 1)
    with app.app_context():
        document = json.loads(credential.signed_credential(facts(index=9))[0])
        revoked = credential.status_list_credential({9}, MOMENT)
        standing = credential.status_list_credential({3}, MOMENT)
        assert credential.check_credential(document, trusted(app), revoked).status == "revoked"
        assert credential.check_credential(document, trusted(app), standing).status == "valid"
        forged = copy.deepcopy(standing)
        forged["credentialSubject"]["encodedList"] = revoked["credentialSubject"]["encodedList"]
        assert (
            "revocation list signature"
            in credential.check_credential(document, trusted(app), forged).problems[0]
        )
        other = copy.deepcopy(revoked)
        other["id"] = "http://elsewhere/status/1"
        assert credential.check_credential(document, trusted(app), other).problems == [
            "the revocation list given is not the one this credential names"
        ]


def write(path: Path, document: dict) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_flask_certificates_verify(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    with app.app_context():
        document = json.loads(credential.signed_credential(facts(index=11))[0])
        revoked = credential.status_list_credential({11}, MOMENT + timedelta(hours=1))
        standing = credential.status_list_credential(set(), MOMENT + timedelta(hours=1))
        published = {"keys": [credential.key_document(k) for k in keys.published_keys()]}
    good = write(tmp_path / "good.json", document)
    result = runner.invoke(args=["certificates", "verify", good])
    assert (
        result.exit_code == 0
        and "result: VALID" in result.output
        and "revocation: not checked" in result.output
    )
    result = runner.invoke(
        args=["certificates", "verify", good, "--revocations", write(tmp_path / "s.json", standing)]
    )
    assert result.exit_code == 0 and "revocation list: signed" in result.output
    result = runner.invoke(
        args=["certificates", "verify", good, "--revocations", write(tmp_path / "r.json", revoked)]
    )
    assert result.exit_code == 1 and "result: REVOKED" in result.output
    keys_file = write(tmp_path / "keys.json", published)
    result = runner.invoke(args=["certificates", "verify", good, "--issuer-keys", keys_file])
    assert result.exit_code == 0, result.output
    other_keys = write(tmp_path / "other.json", {"keys": [{"publicKeyMultibase": W3C_PUBLIC}]})
    result = runner.invoke(args=["certificates", "verify", good, "--issuer-keys", other_keys])
    assert result.exit_code == 1 and "not one the issuer publishes" in result.output
    document["name"] = "Changed"
    result = runner.invoke(args=["certificates", "verify", write(tmp_path / "bad.json", document)])
    assert result.exit_code == 1 and "result: INVALID" in result.output
    (tmp_path / "junk.json").write_text("{not json")
    result = runner.invoke(args=["certificates", "verify", str(tmp_path / "junk.json")])
    assert result.exit_code == 1 and "is not JSON" in result.output


def test_generate_key_and_key_configuration(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["certificates", "generate-key", "--kid", "2027"])
    assert result.exit_code == 0 and result.output.startswith("CERTIFICATE_SIGNING_KEY=2027:")
    line = result.output.splitlines()[0].split("=", 1)[1]
    assert keys.parse_signing_key(line).kid == "2027"
    assert runner.invoke(args=["certificates", "generate-key", "--kid", "bad id"]).exit_code == 1
    for bad in ("no-seed", "x:short", "bad id:" + line.split(":")[1]):
        with pytest.raises(keys.KeyConfigurationError):
            keys.parse_signing_key(bad)
    with pytest.raises(keys.KeyConfigurationError, match="bad public key"):
        keys.parse_retired_keys("old:zNotAKey")
    with pytest.raises(keys.KeyConfigurationError, match="bad key id"):
        keys.parse_retired_keys("bad id:" + W3C_PUBLIC)
    retired = f"old:{W3C_PUBLIC}"
    with app.app_context():
        app.config["CERTIFICATE_RETIRED_KEYS"] = retired
        try:
            assert [k.kid for k in keys.published_keys()] == ["test", "old"]
            assert keys.key_for_public(W3C_PUBLIC).kid == "old"
            with pytest.raises(keys.KeyConfigurationError, match="retired"):
                keys.find_key("old").signer()
        finally:
            app.config["CERTIFICATE_RETIRED_KEYS"] = ""


def test_production_needs_a_configured_key_and_development_keeps_one(app: Flask, tmp_path: Path) -> None:
    saved, instance = dict(app.config), app.instance_path
    try:
        app.config.update(CERTIFICATE_SIGNING_KEY="", ACADEMY_ENV="production")
        with app.app_context(), pytest.raises(keys.KeyConfigurationError, match="production"):
            keys.signing_key()
        app.config["ACADEMY_ENV"] = "development"
        app.instance_path = str(tmp_path / "instance")
        with app.app_context():
            first = keys.signing_key()
            assert keys.signing_key() == first and first.kid == "1"
        assert (tmp_path / "instance" / keys.INSTANCE_FILE).stat().st_mode & 0o077 == 0
    finally:
        app.config.clear()
        app.config.update(saved)
        app.instance_path = instance
