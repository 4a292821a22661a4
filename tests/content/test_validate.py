"""`flask content validate`: every problem reported with its file and line; the real material is clean."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

from learning.content.spec import read_content
from tests.conftest import FIXTURE_CONTENT

REAL_CONTENT = Path(__file__).resolve().parents[2] / "content"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A writable copy of the fixture course."""
    target = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, target)
    return target


def problems_of(root: Path) -> list[str]:
    return [str(p) for p in read_content(root)[1]]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, path)
    path.write_text(text.replace(old, new, 1))


def test_the_real_curriculum_validates(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["content", "validate", str(REAL_CONTENT)])
    assert result.exit_code == 0, result.output
    courses, problems = read_content(REAL_CONTENT)
    assert not problems
    assert len(courses) == 2
    modules = [m for c in courses for m in c.modules]
    assert len(modules) >= 10
    assert all(3 <= len(m.lessons) <= 6 for m in modules)
    assert all(m.quiz is not None and len(m.quiz.questions) >= 8 for m in modules)
    assert sum(c.hours for c in courses) >= 8
    assert any(c.capstone for c in courses)


def test_fixture_is_clean(content: Path, runner: FlaskCliRunner) -> None:
    assert problems_of(content) == []
    result = runner.invoke(args=["content", "validate", str(content)])
    assert result.exit_code == 0 and "OK: 1 courses, 2 modules, 4 lessons, 6 questions." in result.output


CASES = [
    # (file, old, new, expected problem)
    (
        "first-steps/quiz.yaml",
        "    explanation: The right date is right.\n",
        "",
        "first-steps/quiz.yaml:4: missing field 'explanation'",
    ),
    (
        "first-steps/quiz.yaml",
        "    source: S18\n",
        "    source: S99\n",
        "first-steps/quiz.yaml:13: source 'S99' is not in the module's references",
    ),
    ("first-steps/quiz.yaml", "    source: S18\n", "", "first-steps/quiz.yaml:4: missing field 'source'"),
    (
        "first-steps/module.yaml",
        "objectives:\n",
        "goals:\n",
        "first-steps/module.yaml:3: unknown field 'goals'",
    ),
    (
        "first-steps/module.yaml",
        "  - Apply the first rule.\n",
        "",
        "first-steps/module.yaml:3: a module needs 3 to 5 objectives, not 2",
    ),
    (
        "first-steps/lessons/first-b.md",
        "The first lesson B tells a case study about a port that went digital [S1].",
        "Too short.",
        "first-steps/lessons/first-b.md:1: lesson has 2 words; it must have 5 to 1500",
    ),
    (
        "first-steps/lessons/first-a.md",
        "[S18]",
        "[S42]",
        "first-steps/lessons/first-a.md:1: citation [S42] is not in the module's references",
    ),
    (
        "first-steps/lessons/first-a.md",
        "(lesson:first-b)",
        "(lesson:nowhere)",
        "first-steps/lessons/first-a.md:5: link to lesson 'nowhere', which does not exist",
    ),
    (
        "second-steps/quiz.yaml",
        "text: Which date is right for the second module?",
        "text: Which date is right for the first module?",
        "second-steps/quiz.yaml:4: duplicate question",
    ),
    (
        "first-steps/quiz.yaml",
        "  - slug: first-tf\n",
        "  - slug: first-single\n",
        "first-steps/quiz.yaml:25: duplicate question slug 'first-single'",
    ),
    (
        "first-steps/quiz.yaml",
        "      - text: Wrong date\n",
        "      - text: Wrong date\n        correct: true\n",
        "first-steps/quiz.yaml:4: a single-choice question needs exactly one correct choice, not 2",
    ),
    (
        "first-steps/quiz.yaml",
        "    type: true_false\n",
        "    type: essay\n",
        "first-steps/quiz.yaml:26: 'type' must be one of single, multiple, true_false",
    ),
    (
        "course.yaml",
        "min_quiz_questions: 3",
        "min_quiz_questions: 4",
        "first-steps/quiz.yaml:3: the quiz has 3 questions; this module requires at least 4",
    ),
    (
        "first-steps/module.yaml",
        "lessons:\n",
        "min_quiz_questions: 5\nlessons:\n",
        "first-steps/quiz.yaml:3: the quiz has 3 questions; this module requires at least 5",
    ),
    (
        "first-steps/lessons/first-a.md",
        "electronically [S18].",
        "electronically.",
        "first-steps/quiz.yaml:4: question 'first-single' rests on S18, which no lesson of the module cites",
    ),
    (
        "first-steps/module.yaml",
        "    lesson: first-b\n",
        "    lesson: first-z\n",
        "first-steps/module.yaml:14: case study names unknown lesson 'first-z'",
    ),
    (
        "first-steps/module.yaml",
        "  - slug: first-b\n",
        "  - slug: First B\n",
        "first-steps/module.yaml:10: 'First B' is not a valid slug",
    ),
    (
        "course.yaml",
        "  - second-steps\n",
        "",
        "course.yaml:1: folder 'second-steps' is not listed in 'modules'",
    ),
    (
        "course.yaml",
        "slug: harbour-basics",
        "slug: harbour-other",
        "course.yaml:1: slug 'harbour-other' must equal the folder name 'harbour-basics'",
    ),
    (
        "first-steps/lessons/first-a.md",
        "## Why it matters",
        "# Why it matters",
        "first-steps/lessons/first-a.md:3: use ## and ### headings",
    ),
    (
        "first-steps/module.yaml",
        "title: The first steps\n",
        "title: The first steps\ntitle: Again\n",
        "first-steps/module.yaml:2: duplicate key 'title'",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), CASES)
def test_each_problem_is_reported_with_file_and_line(
    content: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(content / "harbour-basics" / file, old, new)
    problems = problems_of(content)
    assert any(p.startswith("harbour-basics/" + expected) for p in problems), problems


def test_validate_exits_non_zero_and_lists_every_problem(content: Path, runner: FlaskCliRunner) -> None:
    edit(content / "harbour-basics/first-steps/quiz.yaml", "    source: S18\n", "    source: S99\n")
    edit(content / "harbour-basics/second-steps/lessons/second-a.md", "[S18]", "[S77]")
    result = runner.invoke(args=["content", "validate", str(content)])
    assert result.exit_code == 1
    assert "quiz.yaml:13: source 'S99'" in result.output and "second-a.md:1: citation [S77]" in result.output
    sync = runner.invoke(args=["content", "sync", str(content)])
    assert sync.exit_code == 1 and "nothing was loaded" in sync.output


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("a: &x [1]\nb: *x\n", "YAML anchors are not allowed"),
        ("a: !!python/object:os.system ls\n", "YAML tags are not allowed"),
        ("a: !custom 1\n", "YAML tags are not allowed"),
        ("a: [1, 2\n", "invalid YAML"),
        ("- just\n- a list\n", "expected a mapping of fields"),
    ],
)
def test_unsafe_or_broken_yaml_is_refused(content: Path, yaml_text: str, message: str) -> None:
    (content / "harbour-basics" / "course.yaml").write_text(yaml_text)
    problems = problems_of(content)
    assert any(message in p for p in problems), problems


def test_alias_bomb_is_refused_before_expansion(content: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20)
    )
    (content / "harbour-basics" / "course.yaml").write_text(bomb)
    assert any("anchors are not allowed" in p for p in problems_of(content))


def test_oversized_and_non_utf8_files(content: Path) -> None:
    (content / "harbour-basics/first-steps/lessons/first-a.md").write_bytes(b"\xff\xfe bad bytes")
    (content / "harbour-basics/second-steps/lessons/second-a.md").write_text("word " * 300_000)
    problems = problems_of(content)
    assert any("first-a.md:1: file is not UTF-8 text" in p for p in problems), problems
    assert any("second-a.md:1: file is larger than 1024 KiB" in p for p in problems), problems
    (content / "harbour-basics" / "course.yaml").write_text("a: " + "x" * (1024 * 1024 + 10))
    assert any("course.yaml:1: file is larger than" in p for p in problems_of(content))


def test_missing_files_and_folders(content: Path, tmp_path: Path) -> None:
    (content / "harbour-basics/first-steps/lessons/first-a.md").unlink()
    (content / "harbour-basics/second-steps/quiz.yaml").unlink()
    (content / "harbour-basics/first-steps/lessons/stray.md").write_text("Not listed anywhere at all.")
    problems = problems_of(content)
    assert any("lesson file lessons/first-a.md is missing" in p for p in problems)
    assert any("second-steps/quiz.yaml:1: file is missing" in p for p in problems)
    assert any("lessons/stray.md is not listed" in p for p in problems)
    assert problems_of(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}:1: content folder does not exist"]
    (tmp_path / "empty").mkdir()
    assert "no course folders" in problems_of(tmp_path / "empty")[0]


def test_the_coverage_table_names_every_paragraph_and_real_modules() -> None:
    readme = (REAL_CONTENT / "README.md").read_text()
    table = readme[readme.index("### Where each paragraph of the conclusions is taught") :]
    modules = {m.slug for c in read_content(REAL_CONTENT)[0] for m in c.modules}
    for paragraph in range(1, 11):
        row = next(line for line in table.splitlines() if line.startswith(f"| {paragraph} |"))
        named = set(re.findall(r"`([a-z0-9-]+)`", row))
        assert named and named <= modules, (paragraph, named - modules)
