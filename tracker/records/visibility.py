"""Which record rows a query sees: the current ones, or those known on a past moment.

A record row is current when ``retired_at IS NULL`` and its import batch (if any) is published; as
known on ``K`` (a moment; a naive one is Hangzhou wall-clock time, as everywhere) when
``entered_at <= K AND (retired_at IS NULL OR retired_at > K)`` and its batch was published by ``K``.

A large import stages its rows in short transactions under a batch whose ``published_at`` is empty
(``tracker.records.staging``) and publishes the whole batch in one short transaction: until then,
and for ever if the import is killed, its rows are seen by no figure, listing, report or export.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select

from tracker import clock


def _columns(table: Any) -> Any:
    if hasattr(table, "__table__"):  # a SQLModel class
        return table.__table__.c
    return table.c  # a Table or an alias


_BATCHES: Any = None  # the alias of the batch table and the subquery of the current view, built once
_CURRENT: Any = None


def unpublished(known_on: dt.datetime | None = None) -> Any:
    """The ids of import batches not published (as known on ``known_on``): a subquery. The alias is
    made once per process (an alias builds a proxy of each of the table's columns, which every
    figure's statement paid for several times over); SQL constructs are immutable, so one is shared."""
    global _BATCHES, _CURRENT
    if _BATCHES is None:
        from tracker.db.models import ImportBatch

        _BATCHES = ImportBatch.__table__.alias("unpublished_batch")
    b = _BATCHES
    if known_on is None:
        if _CURRENT is None:
            _CURRENT = select(b.c.id).where(b.c.published_at.is_(None)).correlate(None)
        return _CURRENT
    return select(b.c.id).where(or_(b.c.published_at.is_(None), b.c.published_at > known_on)).correlate(None)


def published(c: Any, known_on: dt.datetime | None = None) -> ColumnElement[bool]:
    """The rows of columns ``c`` whose batch is published (or that came from no batch)."""
    return or_(c.batch_id.is_(None), c.batch_id.not_in(unpublished(known_on)))


def visible(table: Any, known_on: dt.datetime | None = None) -> ColumnElement[bool]:
    """The SQL condition selecting the rows of ``table`` that are current (``known_on`` None) or that
    were current as known on ``known_on``. ``table`` is a record model, a Table or an alias of one."""
    c = _columns(table)
    if known_on is None:
        return and_(c.retired_at.is_(None), published(c))
    k = clock.utc(known_on)
    return and_(c.entered_at <= k, or_(c.retired_at.is_(None), c.retired_at > k), published(c, k))
