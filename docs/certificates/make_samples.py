"""Render a sample certificate for every name in names.json and keep a PNG of each in this folder.

    .venv/bin/python docs/certificates/make_samples.py

Needs pdftoppm (Debian: apt-get install poppler-utils). Each PNG shows the whole page; NAME-name.png
enlarges the name, to check the shaping (stacked Thai marks, Devanagari conjuncts, Khmer subscripts,
Myanmar reordering).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from learning import create_app
from learning.certificates.pdf import CertificateContent, render_certificate

HERE = Path(__file__).resolve().parent


def main() -> None:
    app = create_app(
        {"ACADEMY_ENV": "testing", "SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    names = json.loads((HERE / "names.json").read_text())
    moment = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    with app.app_context(), tempfile.TemporaryDirectory() as tmp:
        for entry in names:
            content = CertificateContent(
                holder_name=entry["name"],
                course_title="Port digitization essentials",
                hours=12,
                completed_at=moment,
                issued_at=moment,
                serial="SPA-SAMP-LE00-0000",
                verify_url="https://academy.example.org/verify/sample-code-printed-on-every-certificate",
                issuer_name=app.config["CERTIFICATE_ISSUER_NAME"],
                country=entry["country"],
            )
            rendered = render_certificate(content)
            if rendered.missing:
                raise SystemExit(f"{entry['script']}: no font for {rendered.missing}")
            pdf = Path(tmp) / f"{entry['script']}.pdf"
            pdf.write_bytes(rendered.data)
            page = HERE / entry["script"]
            subprocess.run(["pdftoppm", "-r", "72", "-png", "-singlefile", str(pdf), str(page)], check=True)
            crop = HERE / f"{entry['script']}-name"
            subprocess.run(
                [
                    "pdftoppm",
                    "-r",
                    "200",
                    "-png",
                    "-singlefile",
                    "-x",
                    "420",
                    "-y",
                    "560",
                    "-W",
                    "1500",
                    "-H",
                    "210",
                ]
                + [str(pdf), str(crop)],
                check=True,
            )
            print(f"{entry['script']}: {page.name}.png, {crop.name}.png")


if __name__ == "__main__":
    main()
