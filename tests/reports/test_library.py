"""The good practice library: accepted plans their authors shared, by country, readable and downloadable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask.testing import FlaskClient

from learning.auth.models import User
from learning.capstone.models import CapstoneSubmission
from learning.catalog.models import Course, CourseVersion
from learning.extensions import db
from learning.progress.models import Enrolment
from learning.storage import storage
from tests.capstone.conftest import PDF, SECTIONS, capstone_block

WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def make_plan(
    user: User,
    enrol: Callable[[User], Enrolment],
    status: str = "accepted",
    shared: bool = True,
    attachment: bytes | None = None,
) -> CapstoneSubmission:
    """A plan of ``user`` in the fixture course, whose current version gets the capstone block."""
    enrolment = enrol(user)
    version = db.session.get(CourseVersion, enrolment.version_id)
    assert version is not None
    version.capstone = capstone_block(False)
    submission = CapstoneSubmission(
        enrolment_id=enrolment.id,
        sections={SECTIONS[0]: f"Baseline of {user.full_name}:\nline two", SECTIONS[1]: "Single window."},
        status=status,
        submitted_at=WHEN,
        reviewed_at=WHEN if status == "accepted" else None,
        shareable_at=WHEN if shared else None,
    )
    if attachment is not None:
        key = f"capstone/test-{user.id}.pdf"
        storage().save(key, attachment)
        submission.attachment_key = key
        submission.attachment_name = "plan.pdf"
        submission.attachment_type = "application/pdf"
        submission.attachment_size = len(attachment)
    db.session.add(submission)
    db.session.commit()
    return submission


def test_only_accepted_shared_plans_are_listed_by_country(
    staff_client: FlaskClient, create_user: Callable[..., User], enrol, course: Course
) -> None:
    named = create_user(full_name="Nguyễn Thị Lan", country="VN", organisation="Vinamarine",
                        consent_share_progress=True)  # fmt: skip
    unnamed = create_user(full_name="Somchai Hidden", country="TH", organisation="Port Authority of Thailand",
                          organisation_type="port_authority")  # fmt: skip
    make_plan(named, enrol)
    make_plan(unnamed, enrol)
    make_plan(create_user(full_name="Not Shared", organisation="Org Unshared"), enrol, shared=False)
    make_plan(create_user(full_name="Still Submitted", country="TH", organisation="Org Waiting"), enrol,
              status="submitted", shared=False)  # fmt: skip

    page = staff_client.get("/reports/good-practice").get_data(as_text=True)
    assert page.index("Thailand") < page.index("Viet Nam")
    assert "Vinamarine" in page and "Nguyễn Thị Lan" in page
    assert "Port Authority of Thailand" in page and "Somchai Hidden" not in page  # no consent: no name
    for hidden in ("Org Unshared", "Org Waiting", "Not Shared", "Still Submitted"):
        assert hidden not in page

    only_vn = staff_client.get("/reports/good-practice?country=vn").get_data(as_text=True)
    assert "Vinamarine" in only_vn and "Port Authority of Thailand" not in only_vn
    bad = staff_client.get("/reports/good-practice?country=XX")
    assert bad.status_code == 400 and "Choose a country" in bad.get_data(as_text=True)


def test_a_plan_is_readable_and_downloadable(
    staff_client: FlaskClient, create_user: Callable[..., User], enrol
) -> None:
    author = create_user(full_name="Ana <b>Pacific</b>", country="FJ", organisation="MSAF",
                         consent_share_progress=True)  # fmt: skip
    plan = make_plan(author, enrol, attachment=PDF)

    page = staff_client.get(f"/reports/good-practice/{plan.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Where you stand" in html and "What you will do" in html and "Single window." in html
    assert "Ana &lt;b&gt;Pacific&lt;/b&gt;" in html and "<b>Pacific</b>" not in html

    text = staff_client.get(f"/reports/good-practice/{plan.id}.md")
    assert text.status_code == 200 and text.mimetype == "text/markdown"
    assert text.headers["Content-Disposition"].startswith("attachment;")
    body = text.get_data(as_text=True)
    assert "- Country: Fiji" in body and "- Organisation: MSAF" in body
    assert "- Author: Ana <b>Pacific</b>" in body
    assert "## Where you stand\n\nBaseline of Ana <b>Pacific</b>:\nline two\n" in body

    attachment = staff_client.get(f"/reports/good-practice/{plan.id}/attachment")
    assert attachment.status_code == 200 and attachment.data == PDF
    assert attachment.headers["Content-Disposition"].startswith("attachment;")
    assert attachment.headers["X-Content-Type-Options"] == "nosniff"


def test_withdrawn_or_unshared_plans_are_not_found(
    staff_client: FlaskClient, create_user: Callable[..., User], enrol
) -> None:
    shared = make_plan(create_user(), enrol)
    unshared = make_plan(create_user(), enrol, shared=False)
    waiting = make_plan(create_user(), enrol, status="submitted", shared=False)
    assert staff_client.get(f"/reports/good-practice/{shared.id}").status_code == 200
    assert staff_client.get(f"/reports/good-practice/{shared.id}/attachment").status_code == 404  # none
    shared.shareable_at = None  # the author withdraws it
    db.session.commit()
    for plan in (shared, unshared, waiting):
        for suffix in ("", ".md", "/attachment"):
            assert staff_client.get(f"/reports/good-practice/{plan.id}{suffix}").status_code == 404
    assert staff_client.get("/reports/good-practice/999999").status_code == 404
    assert "No plan has been shared yet." in staff_client.get("/reports/good-practice").get_data(as_text=True)
