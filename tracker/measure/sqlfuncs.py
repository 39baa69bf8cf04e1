"""Small SQL expressions that differ between SQLite and PostgreSQL, compiled per dialect.

Everything else the engine emits is plain SQLAlchemy Core and runs unchanged on both databases.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, cast, extract, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class days_since(FunctionElement[int]):
    """Whole days from a fixed date to a date column (``col - origin``), as an integer."""

    type = Integer()
    inherit_cache = True
    name = "days_since"


@compiles(days_since, "sqlite")
def _days_since_sqlite(element: days_since, compiler: Any, **kw: Any) -> str:
    col, origin = list(element.clauses)
    return (f"CAST(julianday({compiler.process(col, **kw)}) - "
            f"julianday({compiler.process(origin, **kw)}) AS INTEGER)")


@compiles(days_since)
def _days_since_default(element: days_since, compiler: Any, **kw: Any) -> str:
    col, origin = list(element.clauses)
    return f"(CAST({compiler.process(col, **kw)} AS DATE) - CAST({compiler.process(origin, **kw)} AS DATE))"


def days_between(col: Any, origin: dt.date | ColumnElement[Any]) -> ColumnElement[int]:
    o = origin if isinstance(origin, ColumnElement) else literal(origin)
    return days_since(col, o)


def month_index(col: Any) -> ColumnElement[int]:
    """year × 12 + month − 1: consecutive calendar months are consecutive integers."""
    return cast(extract("year", col), Integer) * 12 + cast(extract("month", col), Integer) - 1


def months_between(first: Any, last: Any) -> ColumnElement[int]:
    """Whole calendar months from ``first`` to ``last`` (2024-06-03 → 2024-12-03 is 6; → 12-02 is 5)."""
    from sqlalchemy import case

    return (month_index(last) - month_index(first)
            - case((cast(extract("day", last), Integer) < cast(extract("day", first), Integer), 1), else_=0))


def period_slot(col: Any, per: str, start: dt.date) -> ColumnElement[int]:
    """The slot of a date for a per-period rule, as an integer: calendar month (``month_index``),
    calendar quarter (year × 4 + quarter − 1), service year from ``start`` (whole months // 12),
    whole week from ``start``, day from ``start`` (0 on the start day). ``tracker.measure.kinds.
    per_person.elapsed_slots`` gives the same numbers for the slots that have elapsed."""
    if per == "month":
        return month_index(col)
    if per == "quarter":
        return cast(extract("year", col), Integer) * 4 + (cast(extract("month", col), Integer) - 1) // 3
    if per == "year":
        from sqlalchemy import case

        day = cast(extract("day", col), Integer)
        return (month_index(col) - py_month_index(start) - case((day < start.day, 1), else_=0)) // 12
    if per == "week":
        return days_between(col, start) // 7
    if per == "day":
        return days_between(col, start)
    return literal(0)


def py_month_index(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def month_start(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)
