"""Gunicorn's access log without secrets: the tokens in the paths of reset, confirmation, invitation and
unsubscribe links (learning.security.log.SECRET_ARGUMENTS) are written as [redacted], in the request line,
the path and the Referer alike (the page a link opened sends its own address as the next request's Referer).

Used by `academy serve` and the README's production command: ``--logger-class
learning.security.access_log.AccessLogger``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from gunicorn.glogging import Logger

from learning.security.log import REDACTED, secret_values


class AccessLogger(Logger):
    url_map: Any = None  # the application's rules; by default those of learning.wsgi's application

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        url_map = self.url_map if self.url_map is not None else _url_map()
        secrets = secret_values(url_map, environ.get("PATH_INFO") or "/")
        referer = environ.get("HTTP_REFERER")
        if referer:
            secrets += secret_values(url_map, urlsplit(referer).path or "/")
        for secret in secrets:
            for key, value in atoms.items():
                if isinstance(value, str) and secret in value:
                    atoms[key] = value.replace(secret, REDACTED)
        return atoms


def _url_map() -> Any:
    # the worker has loaded the application already; the master never writes an access line
    from learning.wsgi import app

    return app.url_map
