"""Forms for authoring: one per use case, validated on the server, working without JavaScript."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from learning.auth import choices
from learning.content.spec import SLUG
from learning.forms import Form

SLUG_HELP = _l("lowercase letters, digits and hyphens; it never changes once learners use it")
CHOICES = 6


def _strip(value: Any) -> Any:
    return choices.clean_text(value) if isinstance(value, str) else value


def _no_control(form: Form, field: Field) -> None:
    if field.data and choices.has_control_characters(
        field.data.replace("\n", "").replace("\r", "").replace("\t", "")
    ):
        raise ValidationError(_l("Remove the control characters from this field."))


def _slug_field(label: str) -> StringField:
    return StringField(
        label,
        validators=[DataRequired(), Length(max=80), Regexp(SLUG.pattern, message=SLUG_HELP)],
        filters=[_strip],
        description=SLUG_HELP,
    )


def _title_field(id: str | None = None) -> StringField:  # noqa: A002 - WTForms' own keyword
    return StringField(
        _l("Title"), validators=[DataRequired(), Length(max=200), _no_control], filters=[_strip], id=id
    )


class NewCourseForm(Form):
    slug = _slug_field(_l("Short name (in the address)"))
    title = _title_field()
    summary = TextAreaField(
        _l("Summary for the catalogue"),
        validators=[DataRequired(), Length(max=300), _no_control],
        filters=[_strip],
    )
    language = SelectField(_l("Language of the material"), default="en")
    hours = DecimalField(
        _l("Study hours"), places=1, validators=[DataRequired(), NumberRange(min=0.5, max=500)]
    )
    submit = SubmitField(_l("Create the course"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = choices.options(choices.languages())


class CourseForm(NewCourseForm):
    slug = None
    description = TextAreaField(_l("Description (Markdown)"), validators=[DataRequired(), Length(max=20_000)])
    submit = SubmitField(_l("Save"))


class NewModuleForm(Form):
    slug = _slug_field(_l("Short name of the module"))
    title = _title_field()
    submit = SubmitField(_l("Add the module"))


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


REFERENCE_LINE = re.compile(r"^(S\d{1,3}[a-z]?|EGM)\s*:\s*(.+)$")
CASE_LINE = re.compile(r"^([a-z0-9]+(?:-[a-z0-9]+)*)\s*:\s*(.+)$")


class ModuleForm(Form):
    title = _title_field()
    summary = TextAreaField(
        _l("Summary"), validators=[Optional(), Length(max=300), _no_control], filters=[_strip]
    )
    objectives = TextAreaField(
        _l("Learning objectives: 3 to 5, one per line, each something a learner can do"),
        validators=[DataRequired(), Length(max=3000)],
    )
    case_studies = TextAreaField(
        _l("Case studies, one per line: lesson-short-name: title of the case"),
        validators=[Optional(), Length(max=3000)],
    )
    reflection = TextAreaField(_l("Reflection prompt (Markdown)"), validators=[Optional(), Length(max=5000)])
    references = TextAreaField(
        _l("References, one per line: KEY: citation (keys such as S18 or EGM)"),
        validators=[Optional(), Length(max=20_000)],
    )
    submit = SubmitField(_l("Save the module"))

    def validate_references(self, field: Field) -> None:
        bad = [line for line in _lines(field.data) if not REFERENCE_LINE.match(line)]
        if bad:
            raise ValidationError(
                _l("Write each reference as KEY: citation; this line is not: %(line)s", line=bad[0])
            )

    def validate_case_studies(self, field: Field) -> None:
        bad = [line for line in _lines(field.data) if not CASE_LINE.match(line)]
        if bad:
            raise ValidationError(
                _l("Write each case as lesson-short-name: title; this line is not: %(line)s", line=bad[0])
            )

    def values(self) -> dict[str, Any]:
        return {
            "title": self.title.data,
            "summary": self.summary.data or "",
            "objectives": _lines(self.objectives.data),
            "case_studies": [
                {"title": m.group(2).strip(), "lesson": m.group(1)}
                for m in (CASE_LINE.match(line) for line in _lines(self.case_studies.data))
                if m
            ],
            "reflection": (self.reflection.data or "").replace("\r\n", "\n").strip(),
            "references": {
                m.group(1): m.group(2).strip()
                for m in (REFERENCE_LINE.match(line) for line in _lines(self.references.data))
                if m
            },
        }


class NewLessonForm(Form):
    slug = _slug_field(_l("Short name of the lesson"))
    # the module page holds this form and the module's own, which has a title too: ids must differ
    title = _title_field(id="new-lesson-title")
    submit = SubmitField(_l("Add the lesson"))


class LessonForm(Form):
    title = _title_field()
    body = TextAreaField(_l("Lesson (Markdown)"), validators=[Optional(), Length(max=200_000)])
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Save the lesson"))


class QuizForm(Form):
    title = _title_field()
    pass_mark = IntegerField(
        _l("Pass mark (percent)"), validators=[DataRequired(), NumberRange(min=1, max=100)]
    )
    submit = SubmitField(_l("Save the quiz settings"))


class QuestionForm(Form):
    slug = _slug_field(_l("Short name of the question"))
    type = SelectField(
        _l("Type"),
        choices=choices.options(
            [
                ("single", _l("Single choice")),
                ("multiple", _l("Multiple choice")),
                ("true_false", _l("True or false")),
            ]
        ),
    )
    text = TextAreaField(
        _l("Question"), validators=[DataRequired(), Length(max=2000), _no_control], filters=[_strip]
    )
    answer = SelectField(
        _l("Answer (true or false questions)"),
        choices=choices.options([("true", _l("True")), ("false", _l("False"))]),
    )
    explanation = TextAreaField(
        _l("Explanation shown after the attempt (Markdown)"), validators=[DataRequired(), Length(max=5000)]
    )
    source = SelectField(_l("Source it rests on"), validators=[DataRequired()])
    submit = SubmitField(_l("Save the question"))

    def __init__(self, *args: Any, sources: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source.choices = choices.options([(key, key) for key in sources or []])

    def choice_fields(self) -> list[tuple[Field, Field]]:
        return [(getattr(self, f"choice_{n}"), getattr(self, f"correct_{n}")) for n in range(1, CHOICES + 1)]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if self.type.data in ("single", "multiple"):
            filled = [(text.data, correct.data) for text, correct in self.choice_fields() if text.data]
            n_correct = sum(1 for _, correct in filled if correct)
            if len(filled) < 2:
                self.choice_1.errors.append(_l("Give at least two choices."))
                ok = False
            elif self.type.data == "single" and n_correct != 1:
                self.choice_1.errors.append(_l("Mark exactly one choice as correct."))
                ok = False
            elif n_correct < 1:
                self.choice_1.errors.append(_l("Mark at least one choice as correct."))
                ok = False
        return ok

    def values(self) -> dict[str, Any]:
        question: dict[str, Any] = {"slug": self.slug.data, "type": self.type.data, "text": self.text.data}
        if self.type.data == "true_false":
            question["answer"] = self.answer.data == "true"
        else:
            question["choices"] = [
                {"text": choices.clean_text(text.data), **({"correct": True} if correct.data else {})}
                for text, correct in self.choice_fields()
                if text.data and text.data.strip()
            ]
        question["explanation"] = (self.explanation.data or "").replace("\r\n", "\n").strip()
        question["source"] = self.source.data
        return question


for _n in range(1, CHOICES + 1):
    setattr(
        QuestionForm,
        f"choice_{_n}",
        StringField(_l("Choice %(n)s", n=_n), validators=[Optional(), Length(max=500), _no_control]),
    )
    setattr(QuestionForm, f"correct_{_n}", BooleanField(_l("correct")))


class PublishForm(Form):
    change_note = TextAreaField(
        _l("What changed (shown in the version history)"),
        validators=[DataRequired(), Length(max=2000)],
        filters=[_strip],
    )
    submit = SubmitField(_l("Publish this version"))


class ActionForm(Form):
    """A button: move, delete, start or discard a draft, archive."""

    direction = HiddenField()
    submit = SubmitField(_l("Go"))


class ImportForm(Form):
    bundle = FileField(_l("Course bundle (.zip)"), validators=[FileRequired()])
    submit = SubmitField(_l("Check and import"))


class MemberForm(Form):
    email = StringField(
        _l("E-mail of the trainer"), validators=[DataRequired(), Length(max=254)], filters=[_strip]
    )
    role = SelectField(
        _l("Role"),
        choices=choices.options(
            [("owner", _l("Owner")), ("co_author", _l("Co-author")), ("remove", _l("Remove"))]
        ),
    )
    submit = SubmitField(_l("Save"))


class ImageForm(Form):
    image = FileField(_l("Image (PNG, JPEG, GIF or WebP, at most 2 MB)"), validators=[FileRequired()])
    alt = StringField(_l("Text alternative (what the image shows)"), validators=[Optional(), Length(max=200)])
    lesson = HiddenField()
    submit = SubmitField(_l("Upload the image"))
