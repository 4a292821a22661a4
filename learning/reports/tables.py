"""A report table: columns and rows of plain values, the one shape pages, the API and exports all read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

KINDS = ("text", "int", "percent", "days", "date")
EMPTY = "–"  # what the screen shows for a figure that cannot be computed (an export leaves the cell empty)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "percent", "days")


@dataclass
class Row:
    cells: tuple[Any, ...]
    key: str | None = None
    # the filters that narrow the report to this row, for drill-down links (None: no drill-down)
    drill: dict[str, str] | None = None


@dataclass
class Table:
    name: str  # a file-name stem, e.g. "completion-by-country"
    title: str
    columns: tuple[Column, ...]
    rows: Iterable[Row]
    notes: list[str] = field(default_factory=list)


def share(part: int, whole: int) -> float | None:
    """``part`` as a percentage of ``whole``, rounded half up to one decimal; None when ``whole`` is 0."""
    if not whole:
        return None
    value = (Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return float(value)


def one_decimal(value: float) -> float:
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def cell_text(value: Any) -> str:
    """How the screen (and the CSV) writes a cell."""
    if value is None:
        return EMPTY
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def export_text(value: Any) -> str:
    """A cell of a CSV file: as on the screen, but empty where the screen shows a dash."""
    return "" if value is None else cell_text(value)
