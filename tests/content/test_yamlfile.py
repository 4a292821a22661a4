"""The strict YAML reader: plain data only, refused quickly and in little memory otherwise."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from learning.content.yamlfile import MAX_YAML_BYTES, MAX_YAML_DEPTH, YamlError, parse_yaml

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 9)}]\n" for n in range(8)
)
HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "anchor alone": "a: &x 1\n",
    "python object": "a: !!python/object/apply:os.system [echo hacked]\n",
    "python name": "a: !!python/name:os.system\n",
    "binary tag": "a: !!binary aGVsbG8=\n",
    "local tag": "a: !thing 1\n",
    "nested lists": "[" * 100_000,
    "nested mappings": "a: " + "{b: " * 50_000,
    "nested block sequences": "- " * 20_000 + "x\n",
    "too large": "a: " + "x" * MAX_YAML_BYTES,
    "duplicate keys": "a: 1\na: 2\n",
    "two documents": "a: 1\n---\nb: 2\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_yaml_is_refused_with_a_line_quickly_in_little_memory(case: str) -> None:
    """Refused with YamlError (a line and a message, never another exception); time printed, never
    asserted; memory under 50 MB."""
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(YamlError) as refused:
        parse_yaml(HOSTILE[case])
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\nyaml {case!r}: refused in {elapsed * 1000:.1f} ms, peak {peak / 1024 / 1024:.2f} MB")
    assert refused.value.line >= 1 and refused.value.message
    assert peak < 50 * 1024 * 1024, peak


@pytest.mark.parametrize(
    ("opening", "closing"),
    [("[", "]"), ("{a: ", "}"), ("- ", "")],
)
def test_nesting_up_to_the_limit_is_read(opening: str, closing: str) -> None:
    """Flow and block nesting alike: MAX_YAML_DEPTH levels are read, one more is refused."""

    def nested(levels: int) -> str:
        if opening == "- ":
            return "".join("  " * n + "-\n" for n in range(levels - 1)) + "  " * (levels - 1) + "- x\n"
        return opening * levels + "x" + closing * levels

    assert parse_yaml(nested(MAX_YAML_DEPTH)).data
    with pytest.raises(YamlError, match="nested more than"):
        parse_yaml(nested(MAX_YAML_DEPTH + 1))
