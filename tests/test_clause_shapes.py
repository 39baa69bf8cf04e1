"""The spec side of the newer clause shapes: what a spec may say and the precise messages when it
says it wrong. Their figures are worked by hand in tests/test_measure_kinds.py."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tracker.kpispec.model import KPI


def _kpi(**kw: Any) -> KPI:
    return KPI.model_validate({"key": "k", "label": "指标", "unit": "%", "target": 90, **kw})


def test_timeliness_needs_a_reference_date_column_and_a_bound() -> None:
    k = _kpi(kind="timeliness", reference="requested_on", within={"hours": 24})
    assert k.within is not None and (k.within.max_days, k.within.text) == (1, "24小时")
    assert _kpi(kind="timeliness", reference="requested_on", within={"hours": 12}).within.max_days == 0  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="必须给出 reference"):
        _kpi(kind="timeliness", within={"days": 3})
    with pytest.raises(ValidationError, match="没有日期列 served_on；可作参照的日期列：requested_on（需求登记日期）"):
        _kpi(kind="timeliness", reference="served_on", within={"days": 3})
    with pytest.raises(ValidationError, match="days 或 hours 其中之一"):
        _kpi(kind="timeliness", reference="requested_on", within={"days": 3, "hours": 24})
