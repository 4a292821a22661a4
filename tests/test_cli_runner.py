"""`academy prepare`: upgrade the database by migrations and load the material, idempotently."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from learning import cli
from tests.conftest import FIXTURE_CONTENT, TEST_SECRET


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ACADEMY_ENV", "development")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'academy.db'}")
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    monkeypatch.setenv("CONTENT_PATH", str(content))
    return tmp_path


def test_prepare_upgrades_and_loads_once(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["prepare"]) == 0
    assert cli.main(["prepare"]) == 0
    output = capsys.readouterr().out
    assert "harbour-basics: created version 1" in output and "harbour-basics: unchanged (version 1)" in output
    engine = create_engine(f"sqlite:///{environment / 'academy.db'}")
    assert {"alembic_version", "users", "enrolments", "lesson_completions"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_prepare_refuses_broken_material(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quiz = environment / "content/harbour-basics/first-steps/quiz.yaml"
    quiz.write_text(quiz.read_text().replace("    source: S18\n", "    source: S404\n"))
    with pytest.raises(SystemExit, match="course material has problems"):
        cli.main(["prepare"])
    assert "source 'S404'" in capsys.readouterr().err
