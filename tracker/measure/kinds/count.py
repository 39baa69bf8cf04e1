"""``count``: the number of records (activities, deliverables, roster entries, assessments) inside
the KPI's filters and bounds, at most ``cap_per_person`` per person."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from tracker.kpispec.model import Kind
from tracker.measure.compile import sum_if
from tracker.measure.kinds._records import RecordKind


class Count(RecordKind):
    kind = Kind.count
    label = "计数"
    needs_field = False
    chart = "burnup"

    def aggregate(self, counted: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
        return sum_if(counted)


KIND = Count()
