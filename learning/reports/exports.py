"""Report tables as CSV (streamed, through learning.exports) and XLSX (XlsxWriter in constant-memory mode),
with exactly the cells the page shows and no cell that a spreadsheet would run as a formula."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter
from flask import Response

from learning.exports import csv_lines, csv_response, safe_cell
from learning.reports.tables import Column, Row, Table, export_text

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_cells(table: Table) -> Iterable[list[str]]:
    for row in table.rows:
        yield [export_text(value) for value in row.cells]


def table_csv_response(table: Table) -> Response:
    return csv_response(f"{table.name}.csv", [c.label for c in table.columns], csv_cells(table))


def table_csv_text(table: Table) -> str:
    return "".join(csv_lines([c.label for c in table.columns], csv_cells(table)))


class XlsxBook:
    """An XLSX workbook written row by row (constant memory: rows cannot be revisited)."""

    def __init__(self, target: str | IO[bytes]) -> None:
        options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                   "strings_to_numbers": False}  # fmt: skip
        if not isinstance(target, str):
            options["in_memory"] = True
        # every text cell goes through safe_cell (see _write)
        self.book = xlsxwriter.Workbook(target, options)  # nosemgrep: spreadsheet-writer-outside-exports
        self.bold = self.book.add_format({"bold": True})
        self.day = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.percent = self.book.add_format({"num_format": "0.0"})

    def sheet(
        self,
        name: str,
        columns: Sequence[Column],
        rows: Iterable[Row],
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Write one table as a sheet; call ``progress`` with the count every 1,000 rows. Return the count."""
        sheet = self.book.add_worksheet(_sheet_name(name))
        for col, column in enumerate(columns):
            sheet.write_string(0, col, column.label, self.bold)
            sheet.set_column(col, col, 34 if column.kind == "text" else 14)
        count = 0
        for count, row in enumerate(rows, start=1):
            for col, (column, value) in enumerate(zip(columns, row.cells, strict=True)):
                self._write(sheet, count, col, column, value)
            if progress is not None and count % 1000 == 0:
                progress(count)
        sheet.freeze_panes(1, 0)
        return count

    def _write(self, sheet: Any, row: int, col: int, column: Column, value: Any) -> None:
        if value is None:
            sheet.write_blank(row, col, None)
        elif isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, int | float):
            # one decimal, as on the screen, for figures that have one (rates, days); counts stay whole
            sheet.write_number(row, col, value, self.percent if isinstance(value, float) else None)
        elif isinstance(value, datetime | date):
            day = value.date() if isinstance(value, datetime) else value
            sheet.write_datetime(row, col, datetime(day.year, day.month, day.day), self.day)
        else:
            sheet.write_string(row, col, str(safe_cell(str(value))))

    def close(self) -> None:
        self.book.close()


def _sheet_name(name: str) -> str:
    # Excel refuses []:*?/\ in sheet names and more than 31 characters
    cleaned = "".join("-" if ch in "[]:*?/\\" else ch for ch in name)
    return cleaned[:31] or "Report"


def table_xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """A workbook with one sheet per table, in memory (for small exports and e-mail attachments)."""
    buffer = io.BytesIO()
    book = XlsxBook(buffer)
    for table in tables:
        book.sheet(table.title, table.columns, table.rows)
    book.close()
    return buffer.getvalue()


def xlsx_response(file_name: str, data: bytes) -> Response:
    response = Response(data, mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
