"""A rate limit per client address that holds across processes: one counter row per address, bucket and
minute, incremented by an atomic upsert (RELIABILITY rule 1), so gunicorn workers share it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from learning.db import UTCDateTime, insert_for, utcnow, write_in_this_request
from learning.extensions import db
from learning.security.log import client_address


class ThrottleCounter(db.Model):  # type: ignore[name-defined]
    __tablename__ = "throttle_counters"

    bucket: Mapped[str] = mapped_column(String(40), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"<ThrottleCounter {self.bucket} {self.address} {self.count}>"


def hit(bucket: str, per_minute: int, key: str | None = None) -> bool:
    """Count one request from this address (or for ``key``, such as a hashed e-mail address) in ``bucket``;
    return whether it is over ``per_minute``."""
    write_in_this_request()
    now = utcnow()
    window = now.replace(second=0, microsecond=0)
    table = ThrottleCounter.__table__
    insert = insert_for(ThrottleCounter).values(
        bucket=bucket, address=(key or client_address())[:64], window_start=window, count=1
    )
    upsert = insert.on_conflict_do_update(
        index_elements=[table.c.bucket, table.c.address, table.c.window_start],
        set_={"count": table.c.count + 1},
    ).returning(table.c.count)
    count = db.session.execute(upsert).scalar_one()
    return int(count) > per_minute


def over(bucket: str, per_minute: int) -> bool:
    """Return whether this address is over ``per_minute`` in ``bucket`` this minute, without counting."""
    window = utcnow().replace(second=0, microsecond=0)
    count = db.session.scalar(
        select(ThrottleCounter.count).where(
            ThrottleCounter.bucket == bucket,
            ThrottleCounter.address == client_address()[:64],
            ThrottleCounter.window_start == window,
        )
    )
    return int(count or 0) > per_minute


def purge(older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete finished windows; returns how many rows went."""
    result = db.session.execute(
        delete(ThrottleCounter).where(ThrottleCounter.window_start < utcnow() - older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)
