"""Request and response bodies of the API; the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, field_validator

from learning.auth import choices
from learning.auth.models import ORGANISATION_TYPES
from learning.auth.passwords import MAX_LENGTH, password_problem
from learning.urls import MAX_ID

Text200 = Annotated[str, Field(min_length=1, max_length=200)]


def _without_control_characters(value: str) -> str:
    if choices.has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value


def _clean(value: str) -> str:
    return _without_control_characters(choices.clean_text(value))


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=10_000)


# --- accounts -------------------------------------------------------------------------------------------


class RegisterIn(Body):
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    name: Text200
    country: str = Field(description="ISO 3166-1 alpha-2 code", min_length=2, max_length=2)
    organisation: str | None = Field(default=None, max_length=200)
    organisation_type: Literal[ORGANISATION_TYPES]  # type: ignore[valid-type]
    job_title: str | None = Field(default=None, max_length=200)
    language: str = Field(default="en", max_length=16)
    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone, e.g. Asia/Bangkok")
    consent_share_progress: bool = False

    @field_validator("name", "organisation", "job_title")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _clean(value) if value is not None else None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if value.upper() not in choices.country_codes():
            raise ValueError("not an ISO 3166-1 alpha-2 country code")
        return value.upper()

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in choices.LANGUAGE_CODES:
            raise ValueError(f"one of {', '.join(choices.LANGUAGE_CODES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if value not in choices.timezone_set():
            raise ValueError("not an IANA time zone name")
        return value

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        problem = password_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class ProfileOut(BaseModel):
    id: int
    email: str
    name: str
    country: str | None
    organisation: str | None
    organisation_type: str | None
    job_title: str | None
    language: str
    timezone: str
    consent_share_progress: bool
    consent_share_progress_at: datetime | None
    roles: list[str]
    created_at: datetime


class TokenIn(Body):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        # no address has one, and a NUL reached PostgreSQL and answered 500 (the API fuzzer, 10,000 calls)
        return _without_control_characters(value)


class RegistrationOut(BaseModel):
    """The same whether or not the address has an account: the e-mail sent to it says which."""

    email: str = Field(description="the address, as normalised, that the e-mail went to")
    message: str


class TokenOut(BaseModel):
    token: str
    expires_at: datetime


# --- courses --------------------------------------------------------------------------------------------


class EnrolmentOut(BaseModel):
    course: str
    status: Literal["active", "left"]
    enrolled_at: datetime
    left_at: datetime | None
    percent: int
    started_at: datetime | None
    completed_at: datetime | None
    version: int


class CourseSummaryOut(BaseModel):
    slug: str
    title: str
    summary: str
    hours: float
    language: str
    version: int
    archived: bool
    enrolment: EnrolmentOut | None


class CourseListOut(BaseModel):
    items: list[CourseSummaryOut]


class LessonRefOut(BaseModel):
    slug: str
    title: str
    minutes: int
    status: Literal["completed", "not_started"]


class QuizRefOut(BaseModel):
    id: int
    title: str
    pass_mark: int
    passed: bool
    best_score: int | None


class ModuleOut(BaseModel):
    slug: str
    title: str
    summary: str
    objectives: list[str]
    percent: int
    completed_at: datetime | None
    lessons: list[LessonRefOut]
    quiz: QuizRefOut | None


class CourseOut(BaseModel):
    slug: str
    title: str
    summary: str
    description_html: str
    hours: float
    language: str
    version: int
    archived: bool
    enrolment: EnrolmentOut | None
    next_lesson: str | None
    modules: list[ModuleOut]


class NeighbourOut(BaseModel):
    slug: str
    title: str


class LessonOut(BaseModel):
    slug: str
    title: str
    minutes: int
    html: str
    module: NeighbourOut
    previous: NeighbourOut | None
    next: NeighbourOut | None
    completed_at: datetime | None


class CompletionOut(BaseModel):
    lesson: str
    completed_at: datetime
    newly_completed: bool
    course_percent: int
    module_completed_at: datetime | None
    course_completed_at: datetime | None


# --- quizzes --------------------------------------------------------------------------------------------


class ChoiceOut(BaseModel):
    id: int
    text: str


class QuestionOut(BaseModel):
    id: int
    type: Literal["single", "multiple", "true_false"]
    text: str
    choices: list[ChoiceOut]


class QuizOut(BaseModel):
    id: int
    title: str
    pass_mark: int
    module: NeighbourOut
    questions: list[QuestionOut]


Answers = dict[str, Annotated[list[int], Field(max_length=50)]]


class AttemptIn(Body):
    answers: Answers = Field(description='{"<question id>": [choice id, ...]}', max_length=500)


class QuestionResultOut(BaseModel):
    question_id: int
    correct: bool
    chosen: list[int]
    correct_choices: list[int]
    explanation: str = Field(description="HTML")
    source: str


class AttemptOut(BaseModel):
    id: int
    score: int
    pass_mark: int
    passed: bool
    submitted_at: datetime
    questions: list[QuestionResultOut]


# --- progress -------------------------------------------------------------------------------------------


class ModuleProgressOut(BaseModel):
    slug: str
    percent: int
    completed_at: datetime | None
    best_score: int | None


class CourseProgressOut(BaseModel):
    slug: str
    status: Literal["active", "left"]
    percent: int
    started_at: datetime | None
    completed_at: datetime | None
    last_activity_at: datetime | None
    next_lesson: str | None
    modules: list[ModuleProgressOut]


class ProgressOut(BaseModel):
    courses: list[CourseProgressOut]


class LessonEventIn(Body):
    id: UUID = Field(description="the client's UUID for this event")
    type: Literal["lesson_completed"]
    course: str = Field(min_length=1, max_length=80)
    lesson: str = Field(min_length=1, max_length=80)
    occurred_at: AwareDatetime


class AttemptEventIn(Body):
    id: UUID = Field(description="the client's UUID for this event")
    type: Literal["quiz_attempt"]
    quiz: int = Field(ge=1, le=MAX_ID)
    answers: Answers = Field(max_length=500)
    occurred_at: AwareDatetime


class SyncIn(Body):
    events: list[Annotated[LessonEventIn | AttemptEventIn, Field(discriminator="type")]] = Field(
        max_length=500
    )


class SyncResultOut(BaseModel):
    id: str
    status: Literal["applied", "duplicate", "rejected"]
    error: str | None = None
    result: dict[str, object] | None = None


class SyncOut(BaseModel):
    results: list[SyncResultOut]


# --- authoring ------------------------------------------------------------------------------------------


class ProblemOut(BaseModel):
    file: str
    line: int
    message: str


class BundleReportOut(BaseModel):
    ok: bool
    course: str | None
    created: bool
    draft_version: int | None
    problems: list[ProblemOut]
