"""Course bundles: a zip of one course folder in the content format, out and in.

Reading a bundle never extracts it: entries are checked (count, sizes, compression ratio, names, links)
while they are read into memory, and then validated by the same reader as `flask content validate`.
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from dataclasses import dataclass

from sqlalchemy import select

from learning.auth.models import User
from learning.authoring.services import AuthoringError, Draft, can_edit, draft_of, save
from learning.catalog.models import Course, CourseMember, CourseVersion
from learning.content.spec import SLUG, SOURCE_SUFFIXES, Problem, read_course_files
from learning.content.sync import next_number
from learning.db import utcnow
from learning.extensions import db

MAX_ENTRIES = 2000
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 32 * 1024 * 1024
MAX_RATIO = 100
FIXED_TIME = (2020, 11, 27, 0, 0, 0)  # every entry gets the same time, so the same files give the same bytes


def export_bundle(course: Course, version: CourseVersion) -> bytes:
    """Zip a version's files under a folder named after the course, deterministically."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(version.files):
            info = zipfile.ZipInfo(f"{course.slug}/{name}", date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, version.files[name].encode("utf-8"))
    return buffer.getvalue()


@dataclass
class BundleReport:
    slug: str | None
    files: dict[str, str]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems and self.slug is not None


def read_bundle(data: bytes, name: str = "bundle.zip") -> BundleReport:
    """Read and validate a bundle without writing anything anywhere."""
    problems: list[Problem] = []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        return BundleReport(None, {}, [Problem(name, 1, "not a zip file")])
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            return BundleReport(None, {}, [Problem(name, 1, f"more than {MAX_ENTRIES} entries")])
        if sum(entry.file_size for entry in entries) > MAX_TOTAL_BYTES:
            return BundleReport(None, {}, [Problem(name, 1, "the files would be larger than 32 MB")])
        slugs = set()
        files: dict[str, str] = {}
        for entry in entries:
            problem = _entry_problem(entry)
            if problem:
                problems.append(Problem(entry.filename, 1, problem))
                continue
            if entry.is_dir():
                continue
            top, _, rest = entry.filename.partition("/")
            slugs.add(top)
            if not rest.endswith(SOURCE_SUFFIXES):
                problems.append(Problem(entry.filename, 1, "only .yaml and .md files belong in a bundle"))
                continue
            text = _read_entry(archive, entry, problems)
            if text is not None:
                files[rest] = text
    if len(slugs) != 1:
        problems.append(Problem(name, 1, "a bundle holds exactly one course folder"))
        return BundleReport(None, files, problems)
    slug = slugs.pop()
    if not SLUG.match(slug):
        problems.append(Problem(name, 1, f"the course folder {slug!r} is not a valid short name"))
        return BundleReport(None, files, problems)
    if problems:
        return BundleReport(slug, files, problems)
    _spec, found = read_course_files(slug, files)
    return BundleReport(slug, files, found)


def _entry_problem(entry: zipfile.ZipInfo) -> str | None:
    name = entry.filename
    mode = entry.external_attr >> 16
    if name.startswith(("/", "\\")) or "\\" in name or ":" in name.split("/")[0]:
        return "absolute or drive paths are refused"
    if any(part in ("..", "") for part in name.rstrip("/").split("/")):
        return "paths with '..' or empty parts are refused"
    if stat.S_ISLNK(mode):
        return "links are refused"
    if entry.flag_bits & 0x1:
        return "encrypted entries are refused"
    if entry.file_size > MAX_FILE_BYTES:
        return "larger than 1 MB"
    if entry.compress_size and entry.file_size / entry.compress_size > MAX_RATIO:
        return "compressed too much to be a course file (a zip bomb?)"
    return None


def _read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, problems: list[Problem]) -> str | None:
    # Read at most the declared size plus one byte: a lying header cannot make us inflate more (zipfile
    # stops at the declared size and then finds the CRC wrong, which is a damaged entry, not a 500).
    try:
        with archive.open(entry) as handle:
            raw = handle.read(entry.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError):
        problems.append(Problem(entry.filename, 1, "the entry is damaged or uses an unknown compression"))
        return None
    if len(raw) > entry.file_size:
        problems.append(Problem(entry.filename, 1, "the entry is larger than its header says"))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(Problem(entry.filename, 1, "file is not UTF-8 text"))
        return None


def import_bundle(report: BundleReport, user: User) -> tuple[Course, CourseVersion, bool]:
    """Load a valid bundle as a new course, or as the new draft of an existing one the user may edit.

    Returns the course, its draft and whether the course is new. Flushes.
    """
    if not report.ok or report.slug is None:
        raise AuthoringError("The bundle has problems; nothing was imported.")
    course = db.session.scalar(select(Course).where(Course.slug == report.slug))
    created = course is None
    if course is None:
        course = Course(slug=report.slug)
        db.session.add(course)
        db.session.flush()
        db.session.add(CourseMember(course_id=course.id, user_id=user.id, role="owner", added_at=utcnow()))
    elif not can_edit(user, course):
        raise PermissionError(report.slug)
    version = draft_of(course)
    if version is None:
        version = CourseVersion(
            course_id=course.id,
            number=next_number(course),
            origin="bundle",
            created_by_id=user.id,
            change_note="",
        )
        db.session.add(version)
    version.origin = "bundle"
    save(
        Draft(course, version, dict(report.files)),
        user,
        "bundle.import",
        files=len(report.files),
        new=created,
    )
    return course, version, created
