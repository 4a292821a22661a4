"""What the benchmarks share: local-only database URLs, the state file the seed leaves, the bench app."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(__file__).resolve().parent / ".state"
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE = "academy_bench"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def local_url(url: str) -> str:
    """Return ``url`` if it names a PostgreSQL server on this machine; refuse anything else."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"not a PostgreSQL URL: {url}")
    if parts.hostname not in LOCAL_HOSTS:
        raise SystemExit(f"the benchmarks only talk to this machine (127.0.0.1), not {parts.hostname!r}")
    return url


def database_url(server_url: str, name: str) -> str:
    """Return ``server_url`` with its database replaced by ``name``."""
    if not DATABASE_NAME.match(name):
        raise SystemExit(f"{name!r} is not a plain database name (a-z, 0-9, _)")
    parts = urlsplit(local_url(server_url))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def state_path(name: str) -> Path:
    return STATE_DIR / f"{name}.json"


def load_state(name: str) -> dict[str, Any]:
    """Read what bench.seed wrote for database ``name``."""
    path = state_path(name)
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `python -m bench.seed --name {name}` first")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def bench_app(url: str, secret_key: str, **overrides: Any) -> Flask:
    """The application with production settings on the bench database (no environment read)."""
    from learning import create_app

    return create_app({
        "ACADEMY_ENV": "production",
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": url,
        "CONTENT_PATH": str(ROOT / "content"),
        **overrides,
    })  # fmt: skip
