"""`flask backup ...`: back up the database and the stored files, and restore them."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from learning.backup.services import BackupError, create_backup, restore_backup


@click.group("backup")
def backup_cli() -> None:
    """Back up the database and the stored files, or restore a backup into an empty installation."""


@backup_cli.command("create")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def create(folder: Path) -> None:
    """Write a backup into FOLDER (new or empty): the database, the stored files and, in development,
    the instance keys."""
    try:
        manifest = create_backup(folder)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    kind = manifest.data["database"]["kind"]
    click.echo(f"backup of the {kind} database and {len(manifest.files)} files in {folder}")


@backup_cli.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore(folder: Path) -> None:
    """Restore the backup in FOLDER into this installation's empty database and storage."""
    try:
        manifest = restore_backup(folder)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored the {manifest.data['database']['kind']} database and {len(manifest.files)} files")
