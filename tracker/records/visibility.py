"""Which record rows a query sees: the current ones, or those known on a past moment.

A record row is current when ``retired_at IS NULL``; as known on ``K`` (a moment; a naive one is Hangzhou wall-clock time, as everywhere)
when ``entered_at <= K AND (retired_at IS NULL OR retired_at > K)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from tracker import clock


def _columns(table: Any) -> Any:
    if hasattr(table, "__table__"):  # a SQLModel class
        return table.__table__.c
    return table.c  # a Table or an alias


def visible(table: Any, known_on: dt.datetime | None = None) -> ColumnElement[bool]:
    """The SQL condition selecting the rows of ``table`` that are current (``known_on`` None) or that
    were current as known on ``known_on``. ``table`` is a record model, a Table or an alias of one."""
    c = _columns(table)
    if known_on is None:
        return c.retired_at.is_(None)
    k = clock.utc(known_on)
    return and_(c.entered_at <= k, or_(c.retired_at.is_(None), c.retired_at > k))
