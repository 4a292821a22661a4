"""The facts the reports read from each enrolment (country, type of organisation, certified) follow the
learner's profile and certificates through every service that changes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import exists, select

from learning.auth import services as auth
from learning.auth.models import User
from learning.certificates import services as certificates
from learning.certificates.models import Certificate
from learning.extensions import db
from learning.progress.models import Enrolment
from learning.reports import queries
from learning.reports.filters import Filters
from tests.reports.conftest import DataSet


def _facts(enrolment_id: int) -> tuple[str | None, str | None, bool]:
    db.session.expire_all()
    enrolment = db.session.get(Enrolment, enrolment_id)
    assert enrolment is not None
    return enrolment.country, enrolment.organisation_type, enrolment.certified


def _profile(user: User, **changes: object) -> auth.Profile:
    profile = auth.Profile(
        full_name=user.full_name, country=user.country, organisation=user.organisation,
        organisation_type=user.organisation_type, job_title=user.job_title, language=user.language,
        timezone=user.timezone, consent_share_progress=user.consent_share_progress_at is not None,
    )  # fmt: skip
    return replace(profile, **changes)  # type: ignore[arg-type]


def test_enrolling_and_profile_changes_carry_country_and_type(
    create_user: Callable[..., User], enrol: Callable[[User], Enrolment]
) -> None:
    user = create_user(country="KH", organisation_type="customs")
    enrolment = enrol(user)
    assert _facts(enrolment.id) == ("KH", "customs", False)
    auth.update_profile(user, _profile(user, country="LA", organisation_type="port_authority"))
    db.session.commit()
    assert _facts(enrolment.id) == ("LA", "port_authority", False)
    by_country = {row.key: row.cells[1] for row in queries.completion(Filters(), "country").rows}
    assert by_country.get("LA") == 1 and "KH" not in by_country


def test_issue_revoke_and_reissue_keep_certified(
    completed: Callable[..., Enrolment], create_user: Callable[..., User]
) -> None:
    enrolment = completed(full_name="Before Correction")
    certificate = certificates.issue_for_enrolment(enrolment.id)
    db.session.commit()
    assert certificate is not None and _facts(enrolment.id)[2] is True

    user = db.session.get(User, enrolment.user_id)
    assert user is not None
    auth.update_profile(user, _profile(user, full_name="After Correction"))
    officer = create_user(roles=("secretariat",))
    replacement = certificates.reissue(certificate, officer, "Name corrected")
    db.session.commit()
    assert _facts(enrolment.id)[2] is True  # the superseded one is replaced by a valid one

    certificates.revoke(replacement, officer, "Issued in error")
    db.session.commit()
    assert _facts(enrolment.id)[2] is False


def test_the_data_set_agrees_with_users_and_certificates(dataset: DataSet) -> None:
    valid = exists().where(
        Certificate.user_id == Enrolment.user_id,
        Certificate.course_id == Enrolment.course_id,
        Certificate.status == "valid",
    )
    rows = db.session.execute(
        select(
            Enrolment.country,
            User.country,
            Enrolment.organisation_type,
            User.organisation_type,
            Enrolment.certified,
            valid,
        ).join(User, User.id == Enrolment.user_id)  # fmt: skip
    ).all()
    assert rows and all(
        row[0] == row[1] and row[2] == row[3] and bool(row[4]) == bool(row[5]) for row in rows
    )
    assert any(row[4] for row in rows) and not all(row[4] for row in rows)
