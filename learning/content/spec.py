"""Read a course folder into plain objects, collecting every problem with its file and line."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from learning.content import render
from learning.content.yamlfile import MAX_YAML_BYTES, YamlDocument, YamlError, read_yaml

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SOURCE_KEY = re.compile(r"^(?:S\d{1,3}[a-z]?|EGM)$")
QUESTION_TYPES = ("single", "multiple", "true_false")
READING_WORDS_PER_MINUTE = 150


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class ChoiceSpec:
    text: str
    correct: bool


@dataclass
class QuestionSpec:
    slug: str
    type: str
    text: str
    choices: list[ChoiceSpec]
    explanation: str
    source: str
    line: int = 1


@dataclass
class QuizSpec:
    title: str
    pass_mark: int
    questions: list[QuestionSpec]


@dataclass
class LessonSpec:
    slug: str
    title: str
    body: str
    word_count: int

    @property
    def minutes(self) -> int:
        return max(1, -(-self.word_count // READING_WORDS_PER_MINUTE))


@dataclass
class ModuleSpec:
    slug: str
    title: str
    summary: str
    objectives: list[str]
    lessons: list[LessonSpec]
    case_studies: list[dict[str, str]]
    reflection: str
    references: dict[str, str]
    quiz: QuizSpec | None


@dataclass
class CourseSpec:
    slug: str
    title: str
    summary: str
    description: str
    language: str
    hours: float
    modules: list[ModuleSpec]
    capstone: dict[str, Any] | None
    source_hash: str
    rules: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def lessons(self) -> Iterable[LessonSpec]:
        for module in self.modules:
            yield from module.lessons


class _Reader:
    """Collects problems for one file while reading typed fields from its document."""

    def __init__(self, root: Path, path: Path, problems: list[Problem]) -> None:
        self.name = str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)
        self.path = path
        self.problems = problems
        self.doc: YamlDocument | None = None

    def load(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            self.error(1, "file is missing")
            return None
        try:
            self.doc = read_yaml(self.path)
        except YamlError as exc:
            self.error(exc.line, exc.message)
            return None
        if not isinstance(self.doc.data, dict):
            self.error(1, "expected a mapping of fields")
            return None
        return self.doc.data

    def line(self, *path: str | int) -> int:
        return self.doc.line(*path) if self.doc else 1

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.name, line, message))

    def check_fields(self, data: dict[str, Any], allowed: set[str], path: tuple[str | int, ...] = ()) -> None:
        for key in data:
            if key not in allowed:
                self.error(self.line(*path, key), f"unknown field {key!r}")

    def text(
        self,
        data: dict[str, Any],
        key: str,
        *path: str | int,
        required: bool = True,
        max_length: int | None = None,
    ) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.error(self.line(*path), f"missing field {key!r}")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.error(self.line(*path, key), f"{key!r} must be non-empty text")
            return ""
        if max_length and len(value.strip()) > max_length:
            self.error(self.line(*path, key), f"{key!r} is longer than {max_length} characters")
        return value.strip()

    def slug(self, data: dict[str, Any], key: str, *path: str | int) -> str:
        value = self.text(data, key, *path)
        if value and (not SLUG.match(value) or len(value) > 80):
            self.error(self.line(*path, key), f"{value!r} is not a valid slug (a-z, 0-9 and hyphens)")
        return value

    def text_list(self, data: dict[str, Any], key: str, *path: str | int) -> list[str]:
        value = data.get(key)
        if value is None:
            self.error(self.line(*path), f"missing field {key!r}")
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.error(self.line(*path, key), f"{key!r} must be a list of non-empty texts")
            return []
        return [v.strip() for v in value]

    def integer(self, data: dict[str, Any], key: str, low: int, high: int, default: int | None = None) -> int:
        value = data.get(key, default)
        if value is None:
            self.error(self.line(), f"missing field {key!r}")
            return low
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error(self.line(key), f"{key!r} must be a whole number from {low} to {high}")
            return low
        return value


COURSE_FIELDS = {
    "slug",
    "title",
    "summary",
    "description",
    "language",
    "hours",
    "modules",
    "capstone",
    "min_lesson_words",
    "max_lesson_words",
    "min_quiz_questions",
}
MODULE_FIELDS = {
    "title",
    "summary",
    "objectives",
    "lessons",
    "case_studies",
    "reflection",
    "references",
    "min_quiz_questions",
}
QUIZ_FIELDS = {"title", "pass_mark", "questions"}
QUESTION_FIELDS = {"slug", "type", "text", "choices", "answer", "explanation", "source"}


SOURCE_SUFFIXES = (".yaml", ".md")


def course_files(folder: Path) -> dict[str, str]:
    """The course's source files (YAML and Markdown) by path relative to the course folder.

    They are kept with every version, so that a version can be exported exactly as it was loaded.
    Files that are not UTF-8 are left out here; the readers report them.
    """
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in SOURCE_SUFFIXES):
        if path.stat().st_size > MAX_YAML_BYTES:
            continue
        try:
            files[path.relative_to(folder).as_posix()] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
    return files


def files_hash(files: dict[str, str]) -> str:
    """Return a SHA-256 over the names and contents of a course's source files."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(files[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()


def write_files(files: dict[str, str], folder: Path) -> None:
    """Write a course's source files into ``folder`` (refusing paths that would leave it)."""
    root = folder.resolve()
    for name, text in files.items():
        target = (folder / name).resolve()
        if not target.is_relative_to(root) or name.startswith("/"):
            raise ValueError(f"unsafe path in course files: {name!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def read_course_files(slug: str, files: dict[str, str]) -> tuple[CourseSpec | None, list[Problem]]:
    """Read a course held as a mapping of files, with the same checks as a folder on disk."""
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / slug
        folder.mkdir()
        write_files(files, folder)
        course = read_course(folder, problems)
        if course is not None:
            _check_course(folder, course, problems)
    return course, sorted(set(problems))


def read_course(folder: Path, problems: list[Problem]) -> CourseSpec | None:
    """Read one course folder; append problems and return None when it cannot be read."""
    reader = _Reader(folder, folder / "course.yaml", problems)
    data = reader.load()
    if data is None:
        return None
    reader.check_fields(data, COURSE_FIELDS)
    slug = reader.slug(data, "slug")
    if slug and slug != folder.name:
        reader.error(reader.line("slug"), f"slug {slug!r} must equal the folder name {folder.name!r}")
    hours = data.get("hours")
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 500:
        reader.error(reader.line("hours"), "'hours' must be a number of study hours from 0 to 500")
        hours = 1
    rules = {
        "min_lesson_words": reader.integer(data, "min_lesson_words", 1, 100_000, 600),
        "max_lesson_words": reader.integer(data, "max_lesson_words", 1, 100_000, 1500),
        "min_quiz_questions": reader.integer(data, "min_quiz_questions", 1, 1000, 8),
    }
    module_slugs = data.get("modules")
    modules: list[ModuleSpec] = []
    if not isinstance(module_slugs, list) or not module_slugs:
        reader.error(reader.line("modules"), "'modules' must list at least one module folder")
        module_slugs = []
    seen: set[str] = set()
    for index, module_slug in enumerate(module_slugs):
        if not isinstance(module_slug, str) or not SLUG.match(module_slug):
            reader.error(reader.line("modules", index), f"{module_slug!r} is not a valid module slug")
            continue
        if module_slug in seen:
            reader.error(reader.line("modules", index), f"module {module_slug!r} is listed twice")
            continue
        seen.add(module_slug)
        module = _read_module(folder, folder / module_slug, problems, rules)
        if module is not None:
            modules.append(module)
    for child in sorted(folder.iterdir()):
        if child.is_dir() and child.name not in seen:
            reader.error(1, f"folder {child.name!r} is not listed in 'modules'")
    capstone = _read_capstone(reader, data.get("capstone"))
    title = reader.text(data, "title", max_length=200)
    summary = reader.text(data, "summary", max_length=300)
    description = reader.text(data, "description")
    language = reader.text(data, "language", max_length=16)
    files = course_files(folder)
    return CourseSpec(
        slug=slug,
        title=title,
        summary=summary,
        description=description,
        language=language,
        hours=float(hours),
        modules=modules,
        capstone=capstone,
        files=files,
        source_hash=files_hash(files),
        rules=rules,
    )


def _read_capstone(reader: _Reader, data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        reader.error(reader.line("capstone"), "'capstone' must be a mapping")
        return None
    reader.check_fields(data, {"slug", "title", "required", "guidance", "sections"}, ("capstone",))
    sections = []
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        reader.error(reader.line("capstone"), "capstone 'sections' must list at least one section")
        raw_sections = []
    for index, section in enumerate(raw_sections):
        path = ("capstone", "sections", index)
        if not isinstance(section, dict):
            reader.error(reader.line(*path), "a section must be a mapping")
            continue
        reader.check_fields(section, {"slug", "title", "guidance"}, path)
        sections.append(
            {
                "slug": reader.slug(section, "slug", *path),
                "title": reader.text(section, "title", *path, max_length=200),
                "guidance_html": render.render_markdown(reader.text(section, "guidance", *path)),
            }
        )
    if not isinstance(data.get("required", False), bool):
        reader.error(reader.line("capstone", "required"), "'required' must be true or false")
    return {
        "slug": reader.slug(data, "slug", "capstone"),
        "title": reader.text(data, "title", "capstone", max_length=200),
        "required": data.get("required") is True,
        "guidance_html": render.render_markdown(reader.text(data, "guidance", "capstone")),
        "sections": sections,
    }


def _read_module(
    course: Path, folder: Path, problems: list[Problem], rules: dict[str, int]
) -> ModuleSpec | None:
    reader = _Reader(course, folder / "module.yaml", problems)
    if not folder.is_dir():
        reader.error(1, f"module folder {folder.name!r} is missing")
        return None
    data = reader.load()
    if data is None:
        return None
    reader.check_fields(data, MODULE_FIELDS)
    objectives = reader.text_list(data, "objectives")
    if data.get("objectives") is not None and not 3 <= len(objectives) <= 5:
        reader.error(reader.line("objectives"), f"a module needs 3 to 5 objectives, not {len(objectives)}")
    references = _read_references(reader, data.get("references"))
    lessons = _read_lessons(course, folder, reader, data.get("lessons"), references, rules, problems)
    lesson_slugs = {lesson.slug for lesson in lessons}
    case_studies = []
    raw_cases = data.get("case_studies")
    if not isinstance(raw_cases, list) or not raw_cases:
        reader.error(reader.line("case_studies"), "a module needs at least one case study")
        raw_cases = []
    for index, case in enumerate(raw_cases):
        path = ("case_studies", index)
        if not isinstance(case, dict):
            reader.error(reader.line(*path), "a case study must be a mapping with 'title' and 'lesson'")
            continue
        reader.check_fields(case, {"title", "lesson"}, path)
        lesson = reader.slug(case, "lesson", *path)
        if lesson and lesson not in lesson_slugs:
            reader.error(reader.line(*path, "lesson"), f"case study names unknown lesson {lesson!r}")
        case_studies.append({"title": reader.text(case, "title", *path, max_length=200), "lesson": lesson})
    reflection = reader.text(data, "reflection")
    _check_citations(reader, reflection, references, reader.line("reflection"))
    module_rules = {**rules}
    if "min_quiz_questions" in data:
        module_rules["min_quiz_questions"] = reader.integer(data, "min_quiz_questions", 1, 1000)
    quiz = _read_quiz(course, folder, references, module_rules, problems)
    if quiz is not None:
        cited = {key for lesson in lessons for _, key in render.citations(lesson.body)}
        quiz_file = _Reader(course, folder / "quiz.yaml", [])
        for question in quiz.questions:
            if question.source and question.source in references and question.source not in cited:
                problems.append(
                    Problem(
                        quiz_file.name,
                        question.line,
                        f"question {question.slug!r} rests on "
                        f"{question.source}, which no lesson of the module cites; the answer "
                        "must follow from the lessons",
                    )
                )
    return ModuleSpec(
        slug=folder.name,
        title=reader.text(data, "title", max_length=200),
        summary=reader.text(data, "summary", max_length=300),
        objectives=objectives,
        lessons=lessons,
        case_studies=case_studies,
        reflection=reflection,
        references=references,
        quiz=quiz,
    )


def _read_references(reader: _Reader, data: Any) -> dict[str, str]:
    if not isinstance(data, dict) or not data:
        reader.error(reader.line("references"), "'references' must map source keys to citations")
        return {}
    references = {}
    for key, value in data.items():
        if not SOURCE_KEY.match(key):
            reader.error(reader.line("references", key), f"{key!r} is not a source key (S1, S13b, EGM)")
        elif not isinstance(value, str) or not value.strip():
            reader.error(reader.line("references", key), f"reference {key!r} needs a citation text")
        else:
            references[key] = value.strip()
    return references


def _check_citations(reader: _Reader, text: str, references: dict[str, str], offset: int) -> None:
    for line, key in render.citations(text):
        if key not in references:
            reader.error(offset + line - 1, f"citation [{key}] is not in the module's references")


def _read_lessons(
    course: Path,
    folder: Path,
    reader: _Reader,
    data: Any,
    references: dict[str, str],
    rules: dict[str, int],
    problems: list[Problem],
) -> list[LessonSpec]:
    if not isinstance(data, list) or not data:
        reader.error(reader.line("lessons"), "'lessons' must list at least one lesson")
        return []
    lessons: list[LessonSpec] = []
    listed: set[str] = set()
    for index, item in enumerate(data):
        path = ("lessons", index)
        if not isinstance(item, dict):
            reader.error(reader.line(*path), "a lesson must be a mapping with 'slug' and 'title'")
            continue
        reader.check_fields(item, {"slug", "title"}, path)
        slug = reader.slug(item, "slug", *path)
        title = reader.text(item, "title", *path, max_length=200)
        if not SLUG.match(slug):
            continue
        if slug in listed:
            reader.error(reader.line(*path, "slug"), f"lesson {slug!r} is listed twice")
            continue
        listed.add(slug)
        lesson_file = _Reader(course, folder / "lessons" / f"{slug}.md", problems)
        if not lesson_file.path.is_file():
            reader.error(reader.line(*path, "slug"), f"lesson file lessons/{slug}.md is missing")
            continue
        if lesson_file.path.stat().st_size > MAX_YAML_BYTES:
            lesson_file.error(1, f"file is larger than {MAX_YAML_BYTES // 1024} KiB")
            continue
        try:
            body = lesson_file.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            lesson_file.error(1, "file is not UTF-8 text")
            continue
        words = render.count_words(body)
        if not rules["min_lesson_words"] <= words <= rules["max_lesson_words"]:
            lesson_file.error(
                1,
                f"lesson has {words} words; it must have {rules['min_lesson_words']} "
                f"to {rules['max_lesson_words']}",
            )
        for number, line in enumerate(body.splitlines(), start=1):
            if line.startswith("# "):
                lesson_file.error(number, "use ## and ### headings in lessons (the title is the # heading)")
        _check_citations(lesson_file, body, references, 1)
        lessons.append(LessonSpec(slug=slug, title=title, body=body, word_count=words))
    lessons_dir = folder / "lessons"
    if lessons_dir.is_dir():
        for file in sorted(lessons_dir.iterdir()):
            if file.suffix == ".md" and file.stem not in listed:
                reader.error(reader.line("lessons"), f"lessons/{file.name} is not listed in 'lessons'")
    return lessons


def _read_quiz(
    course: Path, folder: Path, references: dict[str, str], rules: dict[str, int], problems: list[Problem]
) -> QuizSpec | None:
    reader = _Reader(course, folder / "quiz.yaml", problems)
    data = reader.load()
    if data is None:
        return None
    reader.check_fields(data, QUIZ_FIELDS)
    pass_mark = reader.integer(data, "pass_mark", 1, 100)
    raw = data.get("questions")
    if not isinstance(raw, list):
        reader.error(reader.line("questions"), "'questions' must be a list")
        raw = []
    if len(raw) < rules["min_quiz_questions"]:
        reader.error(
            reader.line("questions"),
            f"the quiz has {len(raw)} questions; this module requires at least {rules['min_quiz_questions']}",
        )
    questions = [q for i, item in enumerate(raw) if (q := _read_question(reader, item, i, references))]
    types = {q.type for q in questions}
    if raw and not set(QUESTION_TYPES) <= types:
        missing = ", ".join(t for t in QUESTION_TYPES if t not in types)
        reader.error(reader.line("questions"), f"the quiz must mix all question types; missing: {missing}")
    seen: dict[str, int] = {}
    for index, question in enumerate(questions):
        if question.slug in seen:
            reader.error(
                reader.line("questions", index, "slug"), f"duplicate question slug {question.slug!r}"
            )
        seen[question.slug] = index
    title = data.get("title") or "Module quiz"
    if not isinstance(title, str):
        reader.error(reader.line("title"), "'title' must be text")
        title = "Module quiz"
    return QuizSpec(title=title.strip(), pass_mark=pass_mark, questions=questions)


def _read_question(reader: _Reader, item: Any, index: int, references: dict[str, str]) -> QuestionSpec | None:
    path = ("questions", index)
    if not isinstance(item, dict):
        reader.error(reader.line(*path), "a question must be a mapping")
        return None
    reader.check_fields(item, QUESTION_FIELDS, path)
    slug = reader.slug(item, "slug", *path)
    qtype = item.get("type")
    text = reader.text(item, "text", *path)
    explanation = reader.text(item, "explanation", *path)
    source = reader.text(item, "source", *path)
    if source and source not in references:
        reader.error(reader.line(*path, "source"), f"source {source!r} is not in the module's references")
    choices: list[ChoiceSpec] = []
    if qtype == "true_false":
        answer = item.get("answer")
        if not isinstance(answer, bool):
            reader.error(reader.line(*path), "a true_false question needs 'answer: true' or 'answer: false'")
        if "choices" in item:
            reader.error(reader.line(*path, "choices"), "a true_false question has no 'choices'")
        choices = [ChoiceSpec("True", answer is True), ChoiceSpec("False", answer is False)]
    elif qtype in ("single", "multiple"):
        if "answer" in item:
            reader.error(reader.line(*path, "answer"), "'answer' is only for true_false questions")
        raw = item.get("choices")
        if not isinstance(raw, list) or len(raw) < 2:
            reader.error(reader.line(*path), "a question needs at least two 'choices'")
            raw = []
        for c_index, choice in enumerate(raw):
            c_path = (*path, "choices", c_index)
            if not isinstance(choice, dict):
                reader.error(reader.line(*c_path), "a choice must be a mapping with 'text'")
                continue
            reader.check_fields(choice, {"text", "correct"}, c_path)
            correct = choice.get("correct", False)
            if not isinstance(correct, bool):
                reader.error(reader.line(*c_path, "correct"), "'correct' must be true or false")
            choices.append(ChoiceSpec(reader.text(choice, "text", *c_path), correct is True))
        texts = [c.text for c in choices]
        if len(set(texts)) != len(texts):
            reader.error(reader.line(*path, "choices"), "two choices have the same text")
        n_correct = sum(c.correct for c in choices)
        if raw and qtype == "single" and n_correct != 1:
            reader.error(
                reader.line(*path),
                f"a single-choice question needs exactly one correct choice, not {n_correct}",
            )
        if raw and qtype == "multiple" and n_correct < 1:
            reader.error(reader.line(*path), "a multiple-choice question needs at least one correct choice")
    else:
        reader.error(reader.line(*path, "type"), f"'type' must be one of {', '.join(QUESTION_TYPES)}")
        return None
    return QuestionSpec(
        slug=slug,
        type=qtype,
        text=text,
        choices=choices,
        explanation=explanation,
        source=source,
        line=reader.line(*path),
    )


def read_content(root: Path) -> tuple[list[CourseSpec], list[Problem]]:
    """Read every course below ``root`` and check what crosses files; return courses and problems."""
    problems: list[Problem] = []
    courses: list[CourseSpec] = []
    if not root.is_dir():
        return [], [Problem(str(root), 1, "content folder does not exist")]
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        course = read_course(folder, problems)
        if course is not None:
            _check_course(folder, course, problems)
            courses.append(course)
    if not courses and not problems:
        problems.append(Problem(str(root), 1, "no course folders (with a course.yaml) found"))
    return courses, sorted(set(problems))


def _check_course(folder: Path, course: CourseSpec, problems: list[Problem]) -> None:
    """Checks across the files of one course: unique lesson slugs, questions, lesson links."""
    base = folder.name
    lesson_files: dict[str, str] = {}
    for module in course.modules:
        for lesson in module.lessons:
            name = f"{base}/{module.slug}/lessons/{lesson.slug}.md"
            if lesson.slug in lesson_files:
                problems.append(
                    Problem(
                        name, 1, f"lesson slug {lesson.slug!r} is also used by {lesson_files[lesson.slug]}"
                    )
                )
            lesson_files.setdefault(lesson.slug, name)
    for module in course.modules:
        for lesson in module.lessons:
            name = f"{base}/{module.slug}/lessons/{lesson.slug}.md"
            for line, slug in render.lesson_links(lesson.body):
                if slug not in lesson_files:
                    problems.append(Problem(name, line, f"link to lesson {slug!r}, which does not exist"))
    seen_slugs: dict[str, str] = {}
    seen_texts: dict[str, str] = {}
    for module in course.modules:
        if module.quiz is None:
            continue
        name = f"{base}/{module.slug}/quiz.yaml"
        for question in module.quiz.questions:
            normalised = " ".join(question.text.lower().split())
            if question.slug in seen_slugs and seen_slugs[question.slug] != name:
                problems.append(
                    Problem(
                        name,
                        question.line,
                        f"question slug {question.slug!r} is also used in {seen_slugs[question.slug]}",
                    )
                )
            if normalised in seen_texts:
                problems.append(
                    Problem(
                        name,
                        question.line,
                        f"duplicate question {question.text[:60]!r} (also in {seen_texts[normalised]})",
                    )
                )
            seen_slugs.setdefault(question.slug, name)
            seen_texts.setdefault(normalised, name)
