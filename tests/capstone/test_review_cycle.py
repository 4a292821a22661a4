"""The whole cycle: submit, return with comments, resubmit, accept, share; e-mails at a real SMTP server."""

from __future__ import annotations

from sqlalchemy import select

from learning.audit.models import AuditEvent
from learning.capstone.models import CapstoneSubmission
from learning.extensions import db
from tests.capstone.conftest import PAGE, post_plan, post_review
from tests.conftest import csrf_from


def _submission() -> CapstoneSubmission:
    found = db.session.scalar(select(CapstoneSubmission))
    assert found is not None
    db.session.refresh(found)
    return found


def test_submit_return_resubmit_accept_share(
    client, other_client, login, learner, trainer, with_capstone, mailbox
) -> None:
    with_capstone(required=False)
    login(client, learner)
    login(other_client, trainer)

    page = client.get(PAGE).get_data(as_text=True)
    assert "Where you stand" in page and "<p>Baseline.</p>" in page and "Not submitted yet." in page

    assert post_plan(client, submit=False).status_code == 302
    assert _submission().status == "draft"
    # an empty section cannot be submitted
    response = post_plan(client, {"where-you-stand": "Only this.", "what-you-will-do": ""})
    assert response.status_code == 400
    assert _submission().status == "draft"

    assert post_plan(client).status_code == 302
    submission = _submission()
    assert submission.status == "submitted" and submission.submitted_at is not None
    assert "waiting for a trainer" in client.get(PAGE).get_data(as_text=True)
    assert f"/authoring/capstone/{submission.id}" in other_client.get(
        "/authoring/courses/harbour-basics/capstone"
    ).get_data(as_text=True)

    # a return needs a comment
    assert post_review(other_client, submission.id, accept=False).status_code == 400
    assert post_review(other_client, submission.id, accept=False, comment="Add a budget.").status_code == 302
    assert _submission().status == "returned"
    page = client.get(PAGE).get_data(as_text=True)
    assert "Returned with comments" in page and "Add a budget." in page
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == learner.email and "another round" in message["Subject"]
    assert "Add a budget." in message.get_content()

    texts = {"where-you-stand": "Baseline, revised.", "what-you-will-do": "Actions with a budget."}
    assert post_plan(client, texts).status_code == 302
    assert _submission().status == "submitted"
    assert post_review(other_client, submission.id, accept=True, comment="Well done.").status_code == 302
    submission = _submission()
    assert submission.status == "accepted" and submission.reviewer_id == trainer.id
    assert [r.decision for r in submission.reviews] == ["returned", "accepted"]
    assert len(mailbox.messages) == 2 and "accepted" in mailbox.messages[1]["Subject"]
    page = client.get(PAGE).get_data(as_text=True)
    assert "Accepted." in page and "Well done." in page and "Actions with a budget." in page

    # an accepted plan no longer changes, and cannot be reviewed again
    assert post_plan(client).status_code == 400
    response = other_client.post(
        f"/authoring/capstone/{submission.id}",
        data={"csrf_token": csrf_from(other_client.get("/authoring/").get_data(as_text=True)), "accept": "1"},
    )
    assert response.status_code == 400

    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    response = client.post(f"{PAGE}/share", data={"csrf_token": token, "shareable": "y"})
    assert response.status_code == 302
    assert _submission().shareable_at is not None

    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("capstone.%"))).all()
    assert actions.count("capstone.submit") == 2 and actions.count("capstone.review") == 2


def test_share_needs_an_accepted_plan(client, login, learner, with_capstone) -> None:
    with_capstone()
    login(client, learner)
    post_plan(client)
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    client.post(f"{PAGE}/share", data={"csrf_token": token, "shareable": "y"})
    assert _submission().shareable_at is None


def test_a_course_without_capstone_has_no_page(client, login, learner) -> None:
    login(client, learner)
    assert client.get(PAGE).status_code == 404


def test_the_course_page_links_to_the_plan_with_its_state(
    client, other_client, login, learner, trainer, with_capstone
) -> None:
    with_capstone(required=False)
    login(client, learner)
    login(other_client, trainer)
    course_page = "/courses/harbour-basics"

    def shown() -> str:
        return client.get(course_page).get_data(as_text=True)

    assert f'href="{PAGE}"' in shown() and "Start your action plan" in shown() and "Not started" in shown()
    assert post_plan(client, submit=False).status_code == 302
    assert "Open your action plan" in shown() and "Draft saved, not yet submitted" in shown()
    assert post_plan(client).status_code == 302
    assert "Submitted, waiting for a trainer" in shown()
    submission = _submission()
    assert post_review(other_client, submission.id, accept=False, comment="More.").status_code == 302
    assert "Returned with comments" in shown()
    assert post_plan(client).status_code == 302
    assert post_review(other_client, submission.id, accept=True).status_code == 302
    assert "Accepted" in shown()
    # a visitor who does not study the course sees the guidance, not a link to a plan
    assert f'href="{PAGE}"' not in other_client.get(course_page).get_data(as_text=True)


def test_a_comment_with_a_nul_character_is_refused_not_stored(
    client, other_client, login, learner, trainer, with_capstone
) -> None:
    # a 500 on PostgreSQL, which cannot store a NUL, until learning.forms.Form refused it in every text field
    # (found by tests/fuzz at 1,000 cases per form)
    with_capstone(required=False)
    login(client, learner)
    login(other_client, trainer)
    assert post_plan(client).status_code == 302
    submission = _submission()
    response = post_review(other_client, submission.id, accept=False, comment="Add a budget.\x00")
    assert response.status_code == 200  # the form again, with its error
    assert "Remove the NUL character from this field." in response.get_data(as_text=True)
    assert _submission().status == "submitted" and not _submission().reviews
