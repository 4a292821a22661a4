"""Only the learner and the course's authors see a plan; only the course's authors review it."""

from __future__ import annotations

from sqlalchemy import select

from learning.capstone.models import CapstoneSubmission
from learning.extensions import db
from tests.capstone.conftest import PAGE, PDF, post_plan
from tests.conftest import csrf_from


def test_others_cannot_see_or_review_a_plan(
    client, other_client, login, learner, trainer, create_user, enrol, with_capstone
) -> None:
    with_capstone()
    login(client, learner)
    post_plan(client, attachment=(PDF, "plan.pdf"))
    submission = db.session.scalar(select(CapstoneSubmission))
    assert submission is not None
    review = f"/authoring/capstone/{submission.id}"

    another_learner = create_user()
    enrol(another_learner)
    login(other_client, another_learner)
    assert other_client.get(f"{PAGE}/attachment").status_code == 404  # they have no plan of their own
    assert other_client.get(review).status_code == 403
    assert other_client.get(f"{review}/attachment").status_code == 403
    other_client.get("/logout")

    stranger = create_user(roles=("trainer",))
    login(other_client, stranger)
    assert other_client.get(review).status_code == 403
    assert other_client.get(f"{review}/attachment").status_code == 403
    token = csrf_from(other_client.get("/authoring/").get_data(as_text=True))
    assert other_client.post(review, data={"csrf_token": token, "accept": "1"}).status_code == 403
    assert other_client.get("/authoring/courses/harbour-basics/capstone").status_code == 403
    db.session.refresh(submission)
    assert submission.status == "submitted"

    owner = other_client.application.test_client()
    owner.environ_base["wsgi.url_scheme"] = "https"
    login(owner, trainer)
    response = owner.get(f"{review}/attachment")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_the_review_form_needs_its_csrf_token(
    client, login, learner, trainer, other_client, with_capstone
) -> None:
    with_capstone()
    login(client, learner)
    post_plan(client)
    submission = db.session.scalar(select(CapstoneSubmission))
    assert submission is not None
    login(other_client, trainer)
    assert other_client.post(f"/authoring/capstone/{submission.id}", data={"accept": "1"}).status_code == 400
    db.session.refresh(submission)
    assert submission.status == "submitted"
