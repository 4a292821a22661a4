"""Making a backup folder and restoring one into an empty installation.

A backup is a folder: ``manifest.json`` (what is in it, with a SHA-256 for every file), the database
(``database.sqlite3`` made with SQLite's online backup API, which copies a consistent snapshot even while
the database is written to in WAL mode, or ``database.pgdump`` from ``pg_dump --format=custom``), the stored
files under ``storage/`` (certificates' PDFs, plan attachments, lesson images) and, in development, the
certificate signing key of the instance folder under ``keys/`` (without it, new credentials would be signed
by a key nobody published). The database is copied before the files, so every file a row of the snapshot
names was there to copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url

from learning.db import utcnow
from learning.extensions import db

FORMAT = "smart-port-academy/backup/1"
SIGNING_KEY_FILE = "certificate-signing-key"  # the instance folder's, used when no key is configured


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class Manifest:
    data: dict[str, Any]

    @property
    def files(self) -> dict[str, str]:
        return dict(self.data["files"])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _url() -> URL:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _kind() -> str:
    backend = _url().get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups know SQLite and PostgreSQL, not {backend}")
    return backend


def _sqlite_path() -> Path:
    database = _url().database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _pg_command(program: str, *args: str) -> tuple[list[str], dict[str, str]]:
    """The libpq command line for this database; the password goes in the child's environment, never in
    its arguments (which every user of the machine can read)."""
    url = _url()
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = dict(os.environ)  # the child's environment (PATH, locale), not a setting: see learning/config.py
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    binary = shutil.which(program)
    if binary is None:
        raise BackupError(f"{program} is not installed (Debian: apt-get install postgresql-client-15)")
    return [binary, *args, f"--dbname={conninfo}"], env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")


def _revision(copy: sqlite3.Connection | None = None) -> str | None:
    """The migration the database is at (None for a schema made by create_all). SQLite's is read from
    the copy: the application's connections begin with BEGIN IMMEDIATE and would wait for any writer."""
    query = "SELECT version_num FROM alembic_version"
    if copy is not None:
        if copy.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone() is None:
            return None
        row = copy.execute(query).fetchone()
        return str(row[0]) if row else None
    if "alembic_version" not in inspect(db.engine).get_table_names():
        return None
    with db.engine.connect() as connection:
        return connection.execute(text(query)).scalar()


def _copy_tree(source: Path, target: Path, files: dict[str, str], prefix: str) -> None:
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name.startswith(".tmp-"):  # a write in progress (LocalStorage)
            continue
        relative = f"{prefix}/{path.relative_to(source).as_posix()}"
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        files[relative] = sha256(destination)


def create_backup(target: Path) -> Manifest:
    """Write a backup of the database and the stored files into the new or empty folder ``target``."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: give a new folder for each backup")
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o700)  # it holds everyone's data, and in development the signing key
    kind = _kind()
    files: dict[str, str] = {}
    if kind == "sqlite":
        name = "database.sqlite3"
        source = sqlite3.connect(_sqlite_path())
        copy = sqlite3.connect(target / name)
        try:
            with copy:
                source.backup(copy)  # a consistent snapshot, even of a WAL database being written
            revision = _revision(copy)
        finally:
            copy.close()
            source.close()
    else:
        name = "database.pgdump"
        command, env = _pg_command("pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                                   f"--file={target / name}")  # fmt: skip
        _run(command, env)
        revision = _revision()
    database_sha = sha256(target / name)
    _copy_tree(Path(current_app.config["STORAGE_PATH"]), target, files, "storage")
    key_file = Path(current_app.instance_path) / SIGNING_KEY_FILE
    if not current_app.config["CERTIFICATE_SIGNING_KEY"] and key_file.is_file():
        # development signs with this file; production's key lives in its secret store, not here
        (target / "keys").mkdir(mode=0o700, exist_ok=True)
        shutil.copy2(key_file, target / "keys" / SIGNING_KEY_FILE)
        files[f"keys/{SIGNING_KEY_FILE}"] = sha256(target / "keys" / SIGNING_KEY_FILE)
    manifest = {
        "format": FORMAT,
        "created_at": utcnow().isoformat(),
        "database": {"kind": kind, "file": name, "sha256": database_sha, "revision": revision},
        "files": files,
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return Manifest(manifest)


def read_manifest(source: Path) -> Manifest:
    """Read a backup's manifest and check every file against its digest."""
    try:
        data = json.loads((source / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} holds no readable manifest.json: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f"{source}/manifest.json is not a backup of this application ({FORMAT})")
    database = data["database"]
    expected = {database["file"]: database["sha256"], **data["files"]}
    for relative, digest in expected.items():
        path = (source / relative).resolve()
        if source.resolve() not in path.parents:
            raise BackupError(f"the manifest names a file outside the backup: {relative}")
        if not path.is_file() or sha256(path) != digest:
            raise BackupError(f"{relative} is missing or damaged (its SHA-256 differs from the manifest)")
    return Manifest(data)


def _database_is_empty() -> bool:
    return not inspect(db.engine).get_table_names()


def restore_backup(source: Path) -> Manifest:
    """Restore a backup into this installation, whose database must be empty (no tables) and whose
    storage holds no other version of the backup's files."""
    manifest = read_manifest(source)
    kind = _kind()
    database = manifest.data["database"]
    if database["kind"] != kind:
        raise BackupError(f"this is a {database['kind']} backup; this installation uses {kind}")
    if not _database_is_empty():
        raise BackupError("the database is not empty: restore into a new, empty database")
    storage_root = Path(current_app.config["STORAGE_PATH"])
    instance = Path(current_app.instance_path)
    targets = {
        relative: (storage_root / relative.removeprefix("storage/"))
        if relative.startswith("storage/")
        else instance / relative.removeprefix("keys/")
        for relative in manifest.files
    }
    for relative, target in targets.items():
        if target.exists() and sha256(target) != manifest.files[relative]:
            raise BackupError(f"{target} exists with other contents: restore into empty storage")
    db.engine.dispose()
    if kind == "sqlite":
        restored = sqlite3.connect(source / database["file"])
        target_db = sqlite3.connect(_sqlite_path())
        try:
            with target_db:
                restored.backup(target_db)
            check = target_db.execute("PRAGMA integrity_check").fetchone()
        finally:
            target_db.close()
            restored.close()
    else:
        command, env = _pg_command("pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                                   "--single-transaction", str(source / database["file"]))  # fmt: skip
        _run(command, env)
        check = ("ok",)
    if check is None or check[0] != "ok":
        raise BackupError(f"the restored database fails SQLite's integrity check: {check}")
    for relative, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, target)
        if relative.startswith("keys/"):
            target.chmod(0o600)
    return manifest
