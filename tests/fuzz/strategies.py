"""Hypothesis strategies for hostile form values and URL arguments."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, DateField, DecimalField, FloatField, IntegerField, SelectField
from wtforms.fields import Field

MEGABYTE = 1024 * 1024

# Every character that UTF-8 can carry (no lone surrogates, which no client can send), NUL and the C0 and
# C1 controls, right-to-left marks and astral characters included.
CHARACTERS = st.characters(codec="utf-8")
TRICKY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "\u202e",
    "\ufeff",
    "😀",
    "𝕏" * 10,
    "0",
    "-1",
    "1e308",
    "NaN",
    "inf",
    "99999999999999999999999999",
    "2024-02-30",
    "9999-12-31",
    "0000-00-00",
    "true",
    "null",
    "[]",
    "{}",
    "../../../etc/passwd",
    "%00",
    "%2e%2e%2f",
    "javascript:alert(1)",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "x@y",
    "a" * 255,
]


def _big(char: str) -> str:
    # about a megabyte once encoded, so that a form carries a few of them under MAX_FORM_MEMORY_SIZE
    return char * (MEGABYTE // len(char.encode()))


TEXT = st.one_of(
    st.text(CHARACTERS, max_size=40),
    st.sampled_from(TRICKY),
    st.integers().map(str),
    st.floats().map(str),
)
HUGE = st.sampled_from(["A", "é", "\x00", "<", "😀"]).map(_big)


def zipped(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return buffer.getvalue()


FILE_BYTES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 30,
            b"GIF89a" + b"\x00" * 20,
            b"%PDF-1.4\n%%EOF\n",
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            b"email\nlearner@example.org\n=cmd|' /C calc'!A0\n",
            b"email\n\xff\xfe\x00broken",
            zipped(["course.yaml", "../escape.txt"]),
            zipped(["/absolute.txt"]),
            b"PK\x03\x04" + b"\x00" * 26,
        ]
    ),
)
FILENAMES = st.one_of(
    st.text(CHARACTERS, max_size=30),
    st.sampled_from(["a.png", "a.zip", "a.csv", "a.pdf", "../../a.png", "/etc/passwd", "a.png\x00.exe", ""]),
)
FILES = st.builds(
    lambda data, name, kind: FileStorage(io.BytesIO(data), filename=name, content_type=kind),
    FILE_BYTES,
    FILENAMES,
    st.sampled_from(["application/octet-stream", "image/png", "application/zip", "text/csv", "x/\x00"]),
)


def plausible(field: Field) -> st.SearchStrategy[Any]:
    """Values the field expects, so that examples also get past validation into the service below it."""
    if isinstance(field, SelectField):
        values = [str(choice[0]) for choice in field.iter_choices()] if field.choices else []
        return st.sampled_from(values) if values else TEXT
    if isinstance(field, DateField):
        return st.dates().map(lambda day: day.isoformat())
    if isinstance(field, IntegerField | DecimalField | FloatField):
        return st.integers(min_value=-5, max_value=200).map(str)
    if isinstance(field, BooleanField):
        return st.just("y")
    if field.type in ("FileField", "MultipleFileField"):
        return FILES
    if "email" in field.name:
        return st.emails()
    return st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs", "P"]), min_size=1, max_size=30)


def value_for(field: Field | None) -> st.SearchStrategy[Any]:
    """One value: plausible, hostile, huge, a file where text was expected, or several (a duplicate key)."""
    single = st.one_of(
        plausible(field) if field is not None else TEXT,
        TEXT,
        FILES,
    )
    return st.one_of(
        single,
        single,
        single,
        HUGE,
        st.lists(single, min_size=2, max_size=3),
    )
