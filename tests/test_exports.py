"""CSV cells never become formulas."""

from __future__ import annotations

import csv
import io

import pytest

from learning.exports import csv_lines, safe_cell


@pytest.mark.parametrize("value", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=x", "\r=x"])
def test_formulas_are_neutralised(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Thailand", "สมชาย", 42, None, 3.5, "a=b"])
def test_other_values_are_kept(value: object) -> None:
    assert safe_cell(value) == value


def test_csv_lines_quote_and_neutralise() -> None:
    text = "".join(csv_lines(["name", "score"], [['=HYPERLINK("x")', 5], ["Nguyễn, Văn", -3]]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["name", "score"], ['\'=HYPERLINK("x")', "5"], ["Nguyễn, Văn", "-3"]]
    generated = "".join(csv_lines(["a"], (row for row in [["+1"]])))
    assert list(csv.reader(io.StringIO(generated))) == [["a"], ["'+1"]]
