"""Form bodies held to the limits that Werkzeug applies to multipart bodies only, and parts without a name
left out."""

from __future__ import annotations

import io
from typing import IO, Any

from flask import Flask, Request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

URLENCODED = "application/x-www-form-urlencoded"


class LimitedFormDataParser(FormDataParser):
    """Werkzeug reads a urlencoded body whole, up to MAX_CONTENT_LENGTH (16 MB), and splits it into as many
    fields as it holds: 2 MB of "a&" took 74 MB and seconds of CPU to parse here (found by tests/fuzz).
    Such a body is held to MAX_FORM_MEMORY_SIZE and MAX_FORM_PARTS, as a multipart one is: 413 beyond."""

    def parse(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> Any:
        limit = self.max_form_memory_size
        if mimetype == URLENCODED and limit is not None:
            if content_length is not None and content_length > limit:
                raise RequestEntityTooLarge()
            data = stream.read(limit + 1)
            if len(data) > limit:
                raise RequestEntityTooLarge()
            if self.max_form_parts is not None and data.count(b"&") >= self.max_form_parts:
                raise RequestEntityTooLarge()
            stream = io.BytesIO(data)
        stream, form, files = super().parse(stream, mimetype, content_length, options)
        return stream, _named(form), _named(files)


def _named(data: MultiDict[Any, Any]) -> MultiDict[Any, Any]:
    """Leave out a multipart part that has no name: Werkzeug keys it None, and Flask-WTF's CSRF check,
    which compares every key with the token's field name, answered 500 (found by tests/fuzz)."""
    if None not in data:
        return data
    for value in data.getlist(None):
        if hasattr(value, "close"):
            value.close()  # a file: the request closes only the files it keeps
    return type(data)((key, value) for key, value in data.items(multi=True) if key is not None)


class LimitedRequest(Request):
    form_data_parser_class = LimitedFormDataParser


def register(app: Flask) -> None:
    app.request_class = LimitedRequest
