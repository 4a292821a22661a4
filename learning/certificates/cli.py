"""`flask certificates ...`: check a credential offline, make signing keys, render a sample."""

from __future__ import annotations

import json
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from learning.certificates import credential, keys, proofs
from learning.certificates.pdf import CertificateContent, render_certificate

MAX_DOCUMENT = 10 * 1024 * 1024


@click.group("certificates")
def certificates_cli() -> None:
    """Certificates and their signed credentials."""


def read_document(source: str) -> Any:
    """Read JSON from a file, or from an http(s) address."""
    if source.startswith(("https://", "http://")):
        # The scheme is checked above: http(s) only, never file: or a custom one.
        with urllib.request.urlopen(source, timeout=15) as response:  # noqa: S310  # nosec B310
            data = response.read(MAX_DOCUMENT + 1)
    else:
        data = Path(source).read_bytes()
    if len(data) > MAX_DOCUMENT:
        raise click.ClickException(f"{source} is larger than {MAX_DOCUMENT} bytes")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise click.ClickException(f"{source} is not JSON: {exc}") from None


@certificates_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--revocations", metavar="FILE_OR_URL", help="The issuer's revocation list (/issuer/status/1).")
@click.option(
    "--issuer-keys",
    metavar="FILE_OR_URL",
    help="The issuer's published keys (/issuer/keys); by default this installation's own keys.",
)
@with_appcontext
def verify(file: str, revocations: str | None, issuer_keys: str | None) -> None:
    """Check a signed credential: signature, issuer key, dates and, given the list, revocation.

    Exit status 0 when it is valid, 1 when it is revoked or invalid.
    """
    document = read_document(file)
    if issuer_keys:
        published = read_document(issuer_keys)
        trusted = {k.get("publicKeyMultibase") for k in published.get("keys", []) if isinstance(k, dict)}
    else:
        trusted = {key.multibase for key in keys.published_keys()}
    status_list = read_document(revocations) if revocations else None
    report = credential.check_credential(document, {t for t in trusted if t}, status_list)
    for fact in report.facts:
        click.echo(fact)
    for problem in report.problems:
        click.echo(f"problem: {problem}")
    click.echo(f"result: {report.status.upper()}")
    sys.exit(0 if report.status == "valid" else 1)


@certificates_cli.command("generate-key")
@click.option("--kid", default="1", show_default=True, help="The key's id; use a new one for each rotation.")
def generate_key(kid: str) -> None:
    """Print a new signing key for CERTIFICATE_SIGNING_KEY, and its public key."""
    try:
        line = keys.new_key_line(kid)
    except keys.KeyConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    key = keys.parse_signing_key(line)
    click.echo(f"CERTIFICATE_SIGNING_KEY={line}")
    click.echo(f"# public key {key.kid}: {key.multibase} ({proofs.did_key(key.public)})")
    click.echo(f"# when you rotate, add '{key.kid}:{key.multibase}' to CERTIFICATE_RETIRED_KEYS")


@certificates_cli.command("sample")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option("--name", required=True, help="The holder's name, in any script.")
@click.option("--course", default="Port digitization essentials", show_default=True)
@click.option("--hours", default=12.0, show_default=True)
@click.option("--country", default=None, help="ISO country code (picks regional CJK glyph forms).")
@with_appcontext
def sample(out: str, name: str, course: str, hours: float, country: str | None) -> None:
    """Render a sample certificate (serial SAMPLE) to OUT, to look at a name's rendering."""
    from flask import current_app

    now = datetime.now(UTC)
    content = CertificateContent(
        holder_name=name,
        course_title=course,
        hours=hours,
        completed_at=now,
        issued_at=now,
        serial="SAMPLE",
        verify_url=f"{credential.base_url()}/verify/sample",
        issuer_name=current_app.config["CERTIFICATE_ISSUER_NAME"],
        country=country,
    )
    rendered = render_certificate(content)
    Path(out).write_bytes(rendered.data)
    if rendered.missing:
        raise click.ClickException(f"no bundled font has: {' '.join(rendered.missing)}")
    click.echo(f"wrote {out}")
