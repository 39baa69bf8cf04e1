"""``distinct``: the number of distinct values of a field (people, households, towns, locations,
groups …) over the counted records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, null

from tracker.kpispec.model import Kind
from tracker.measure.kinds._records import RecordKind


class Distinct(RecordKind):
    kind = Kind.distinct
    label = "去重计数"

    def aggregate(self, counted: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
        return func.count(func.distinct(case((counted, value), else_=null())))


KIND = Distinct()
