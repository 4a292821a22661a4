"""Static checks, in every CI leg: ruff, mypy, bandit (medium and above) and the project's semgrep rules.

Each tool runs on the code as it is; a finding fails the test with the tool's report. An accepted
finding is justified where it is (`# nosec BXXX` with the reason on the line above, `# nosemgrep: RULE`),
so that the reason is read with the code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RULES = ROOT / ".semgrep"
SEMGREP = [str(BIN / "semgrep"), "scan", "--metrics=off", "--disable-version-check"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEMGREP_SEND_METRICS": "off", "NO_COLOR": "1"}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600, check=False)


def report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_ruff_finds_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, report(result)


def test_mypy_finds_nothing() -> None:
    result = run(str(BIN / "mypy"))  # learning/ and worker/, as configured in pyproject.toml
    assert result.returncode == 0, report(result)


def test_bandit_finds_nothing_of_medium_severity_or_above() -> None:
    result = run(
        str(BIN / "bandit"), "--quiet", "--recursive", "--severity-level", "medium", "learning", "worker"
    )
    assert result.returncode == 0, report(result)


def test_bandit_as_configured_here_does_report_a_finding(tmp_path: Path) -> None:
    """The check above can fail: the same command reports unsafe YAML loading."""
    (tmp_path / "bad.py").write_text("import yaml\n\n\ndef read(data):\n    return yaml.load(data)\n")
    result = run(str(BIN / "bandit"), "--quiet", "--recursive", "--severity-level", "medium", str(tmp_path))
    assert result.returncode == 1 and "B506" in result.stdout, report(result)


def test_each_semgrep_rule_fires_on_its_test_cases() -> None:
    """`semgrep --test`: every `ruleid:` line of .semgrep/*.py and *.html is found, no `ok:` line is."""
    for rules, cases in (("python.yml", "python.py"), ("templates.yml", "templates.html")):
        result = run(*SEMGREP, "--test", "--config", str(RULES / rules), str(RULES / cases))
        assert result.returncode == 0 and "All tests passed" in result.stdout, report(result)


@pytest.mark.parametrize("rules", ["python.yml", "templates.yml"])
def test_every_semgrep_rule_has_test_cases(rules: str) -> None:
    import yaml

    ids = {rule["id"] for rule in yaml.safe_load((RULES / rules).read_text())["rules"]}
    cases = (RULES / rules.replace(".yml", ".py" if rules == "python.yml" else ".html")).read_text()
    assert all(f"ruleid: {rule_id}" in cases for rule_id in ids), ids


def test_semgrep_rules_find_nothing_in_the_application() -> None:
    result = run(
        *SEMGREP, "--error", "--quiet",
        "--config", str(RULES / "python.yml"), "--config", str(RULES / "templates.yml"),
        "learning", "worker",
    )  # fmt: skip
    assert result.returncode == 0, report(result)
