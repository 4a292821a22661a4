"""Side effects that must wait for the commit: queued tasks and e-mails never leave a rolled-back
transaction (RELIABILITY rule 4)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kombu.exceptions import OperationalError as BrokerUnavailable
from sqlalchemy import event
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

_KEY = "after_commit"
_UNDO = "after_rollback"


def after_commit(callback: Callable[[], Any]) -> None:
    """Run ``callback`` once the current transaction of ``db.session`` commits; drop it on rollback,
    including the rollback of a savepoint (``begin_nested``) it was registered in."""
    from learning.extensions import db

    session = db.session()
    if session.get_transaction() is None:
        session.begin()  # so that a rollback before the next commit drops the callback
    # the innermost transaction: a savepoint rolled back takes the callbacks registered inside it along
    innermost = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_KEY, []).append((innermost, callback))


def after_rollback(callback: Callable[[], Any]) -> None:
    """Run ``callback`` if the current transaction of ``db.session`` ends without committing: to undo
    what was done outside the database (a file written for a row that is never stored)."""
    from learning.extensions import db

    session = db.session()
    if session.get_transaction() is None:
        session.begin()
    session.info.setdefault(_UNDO, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        # SQLAlchemy sends after_commit when a savepoint is released too: the transaction around it may
        # still roll back, so nothing leaves yet
        return
    session.info.pop(_UNDO, None)
    callbacks = session.info.pop(_KEY, [])
    for _transaction, callback in callbacks:
        try:
            callback()
        except BrokerUnavailable:
            # The transaction is committed: failing the request now would tell the client its write was
            # lost when it was not. The periodic sweeps find the work (certificates, reminders) again.
            logger.exception("could not queue a task after the commit: the broker is unavailable")


@event.listens_for(Session, "after_transaction_end")
def _undo_uncommitted(session: Session, transaction: Any) -> None:
    # after a commit, _run_after_commit has emptied the list; a rollback or a close leaves it here
    if transaction.parent is None:
        for callback in session.info.pop(_UNDO, []):
            callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost transaction: everything goes
        session.info.pop(_KEY, None)
        return
    if _KEY in session.info:  # a savepoint: what was registered inside it (or deeper) goes
        session.info[_KEY] = [
            (transaction, callback)
            for transaction, callback in session.info[_KEY]
            if not _within(transaction, previous_transaction)
        ]


def _within(transaction: Any, ancestor: Any) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
