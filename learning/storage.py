"""File storage behind one small interface: certificates' PDFs now, authored images later.

The default keeps files in a folder (STORAGE_PATH, under the instance folder unless set); another backend
(an object store) only has to provide the same four methods.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from flask import current_app

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_.-]*)*$")


class Storage(Protocol):
    def save(self, key: str, data: bytes) -> None: ...
    def load(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files in a folder; writes are atomic (a reader sees the old file or the new one, never half).

    ``durable`` waits for the disk (fsync) before the rename; callers that can tell a damaged file
    (certificates keep each PDF's digest and render it again) may skip that wait.
    """

    def __init__(self, root: str | Path, durable: bool = True) -> None:
        self.root = Path(root)
        self.durable = durable

    def path(self, key: str) -> Path:
        if not KEY.match(key) or ".." in key:
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    def save(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if self.durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def load(self, key: str) -> bytes:
        """Return the file's bytes; raises FileNotFoundError when there is none."""
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def storage(durable: bool = True) -> Storage:
    """The application's storage."""
    return LocalStorage(current_app.config["STORAGE_PATH"], durable)
