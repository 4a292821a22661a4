"""Small, validated edits of a draft's files: the course, its modules, lessons and quiz questions."""

from __future__ import annotations

from typing import Any

from learning.authoring.services import AuthoringError, Draft
from learning.content.spec import SLUG


def _slug(value: str, what: str) -> str:
    value = value.strip()
    if not SLUG.match(value) or len(value) > 80:
        raise AuthoringError(f"The {what}'s short name must use lowercase letters, digits and hyphens.")
    return value


def _move(items: list[Any], index: int, direction: int) -> None:
    target = index + direction
    if not 0 <= target < len(items):
        raise AuthoringError("It cannot move further that way.")
    items[index], items[target] = items[target], items[index]


# --- course ---------------------------------------------------------------------------------------------


def update_course(draft: Draft, **fields: Any) -> None:
    data = draft.data("course.yaml")
    for key in ("title", "summary", "description", "language", "hours"):
        if key in fields:
            data[key] = fields[key]
    draft.put("course.yaml", data)


# --- modules --------------------------------------------------------------------------------------------


def add_module(draft: Draft, slug: str, title: str) -> str:
    slug = _slug(slug, "module")
    course = draft.data("course.yaml")
    modules = list(course.get("modules") or [])
    if slug in modules or any(name.startswith(f"{slug}/") for name in draft.files):
        raise AuthoringError("A module with this short name exists already.")
    modules.append(slug)
    course["modules"] = modules
    draft.put("course.yaml", course)
    draft.put(
        f"{slug}/module.yaml",
        {
            "title": title,
            "summary": "",
            "objectives": [],
            "lessons": [],
            "case_studies": [],
            "reflection": "",
            "references": {},
        },
    )
    draft.put(f"{slug}/quiz.yaml", {"title": "Check your understanding", "pass_mark": 70, "questions": []})
    return slug


def update_module(draft: Draft, module: str, **fields: Any) -> None:
    data = draft.data(f"{module}/module.yaml")
    for key in ("title", "summary", "objectives", "case_studies", "reflection", "references"):
        if key in fields:
            data[key] = fields[key]
    draft.put(f"{module}/module.yaml", data)


def move_module(draft: Draft, module: str, direction: int) -> None:
    course = draft.data("course.yaml")
    modules = list(course.get("modules") or [])
    if module not in modules:
        raise AuthoringError("There is no such module in the draft.")
    _move(modules, modules.index(module), direction)
    course["modules"] = modules
    draft.put("course.yaml", course)


def delete_module(draft: Draft, module: str) -> None:
    course = draft.data("course.yaml")
    course["modules"] = [m for m in course.get("modules") or [] if m != module]
    draft.put("course.yaml", course)
    for name in [n for n in draft.files if n.startswith(f"{module}/")]:
        del draft.files[name]


# --- lessons --------------------------------------------------------------------------------------------


def add_lesson(draft: Draft, module: str, slug: str, title: str) -> str:
    slug = _slug(slug, "lesson")
    if any(item.get("slug") == slug for m in draft.module_slugs() for item in draft.lessons(m)):
        raise AuthoringError("A lesson with this short name exists already in the course.")
    data = draft.data(f"{module}/module.yaml")
    data["lessons"] = [*draft.lessons(module), {"slug": slug, "title": title}]
    draft.put(f"{module}/module.yaml", data)
    draft.files[f"{module}/lessons/{slug}.md"] = ""
    return slug


def lesson_body(draft: Draft, lesson: str) -> str:
    return draft.files.get(f"{draft.module_of_lesson(lesson)}/lessons/{lesson}.md", "")


def update_lesson(draft: Draft, lesson: str, title: str, body: str) -> None:
    module = draft.module_of_lesson(lesson)
    data = draft.data(f"{module}/module.yaml")
    data["lessons"] = [
        {**item, "title": title} if item.get("slug") == lesson else item for item in draft.lessons(module)
    ]
    draft.put(f"{module}/module.yaml", data)
    draft.files[f"{module}/lessons/{lesson}.md"] = body.replace("\r\n", "\n").strip() + "\n"


def move_lesson(draft: Draft, lesson: str, direction: int) -> None:
    module = draft.module_of_lesson(lesson)
    lessons = draft.lessons(module)
    index = next(i for i, item in enumerate(lessons) if item.get("slug") == lesson)
    _move(lessons, index, direction)
    data = draft.data(f"{module}/module.yaml")
    data["lessons"] = lessons
    draft.put(f"{module}/module.yaml", data)


def delete_lesson(draft: Draft, lesson: str) -> None:
    module = draft.module_of_lesson(lesson)
    data = draft.data(f"{module}/module.yaml")
    data["lessons"] = [item for item in draft.lessons(module) if item.get("slug") != lesson]
    draft.put(f"{module}/module.yaml", data)
    draft.files.pop(f"{module}/lessons/{lesson}.md", None)


# --- quizzes --------------------------------------------------------------------------------------------


def quiz_data(draft: Draft, module: str) -> dict[str, Any]:
    data = draft.data(f"{module}/quiz.yaml")
    data.setdefault("questions", [])
    return data


def update_quiz(draft: Draft, module: str, title: str, pass_mark: int) -> None:
    data = quiz_data(draft, module)
    data["title"] = title
    data["pass_mark"] = pass_mark
    draft.put(f"{module}/quiz.yaml", data)


def save_question(
    draft: Draft, module: str, question: dict[str, Any], original_slug: str | None = None
) -> None:
    """Add a question, or replace the one called ``original_slug``."""
    question["slug"] = _slug(question["slug"], "question")
    data = quiz_data(draft, module)
    questions = [q for q in data["questions"] if isinstance(q, dict)]
    taken = {q.get("slug") for q in questions} - {original_slug}
    if question["slug"] in taken:
        raise AuthoringError("A question with this short name exists already in this quiz.")
    if original_slug is None:
        questions.append(question)
    else:
        questions = [question if q.get("slug") == original_slug else q for q in questions]
    data["questions"] = questions
    draft.put(f"{module}/quiz.yaml", data)


def find_question(draft: Draft, module: str, slug: str) -> dict[str, Any]:
    for question in quiz_data(draft, module)["questions"]:
        if isinstance(question, dict) and question.get("slug") == slug:
            return question
    raise AuthoringError("There is no such question in the draft.")


def move_question(draft: Draft, module: str, slug: str, direction: int) -> None:
    data = quiz_data(draft, module)
    questions = data["questions"]
    index = next((i for i, q in enumerate(questions) if isinstance(q, dict) and q.get("slug") == slug), None)
    if index is None:
        raise AuthoringError("There is no such question in the draft.")
    _move(questions, index, direction)
    draft.put(f"{module}/quiz.yaml", data)


def delete_question(draft: Draft, module: str, slug: str) -> None:
    data = quiz_data(draft, module)
    data["questions"] = [q for q in data["questions"] if not (isinstance(q, dict) and q.get("slug") == slug)]
    draft.put(f"{module}/quiz.yaml", data)
