"""What the engine returns. ``ProjectProgress.to_json()`` is the shape of docs/contracts.md section 4."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["met", "on_track", "behind", "missed", "pending"]
STATUS_LABELS: dict[str, str] = {
    "met": "达标", "on_track": "进度正常", "behind": "进度滞后", "missed": "未达标", "pending": "待评定",
}
# What ``actual`` measures, where it is not the target's unit (``KpiProgress.measure``), in Chinese.
MEASURE_LABELS: dict[str, str] = {"compliance_pct": "达到要求的对象·期比例", "covered_pct": "事先审批覆盖比例",
                                  "incident_count": "发生起数", "lacking_count": "缺少资质人数"}
# A project that reports nothing: none at all, or nothing dated in the last elapsed month.
SILENCE_LABELS: dict[str, str] = {"no_records": "尚无任何记录", "quiet_last_month": "上个完整月份没有任何记录"}


def _num(v: float | None) -> float | int | None:
    if v is None:
        return None
    v = round(float(v), 2)
    return int(v) if v.is_integer() else v


@dataclass
class KpiProgress:
    id: str
    clause: int
    key: str
    label: str
    kind: str
    comparator: str
    target: float | None
    unit: str
    text: str
    actual: float | None
    expected: float | None
    forecast: float | None
    status: Status
    violations: int = 0
    evidence: int = 0  # how many records the figure rests on
    excerpt: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. uncovered members, denominators
    measure: str | None = None  # what actual measures: "compliance_pct", "covered_pct", "incident_count" …
    clause_label: str | None = None  # the clause as the release table numbers it (5.1, 9a), where not an integer

    @property
    def actual_unit(self) -> str:
        """The unit of ``actual``: the target's, or % for a compliance share."""
        return "%" if (self.measure or "").endswith("_pct") else self.unit

    @property
    def completion(self) -> float | None:
        """actual / target in percent, for >= KPIs with a positive target, counted in the target's
        unit (not for a compliance share)."""
        if self.unit == "%":
            return None  # a rate or share has no 完成率: the gap is in 个百分点
        return self.attainment

    @property
    def attainment(self) -> float | None:
        """actual / target in percent for >= KPIs with a positive target, rates included (partial
        credit in a weighted scheme); not for a compliance share."""
        if self.target in (None, 0) or self.actual is None or self.comparator != ">=" or self.measure:
            return None
        return round(100.0 * self.actual / self.target, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "clause": self.clause, "kind": self.kind, "comparator": self.comparator,
            "target": _num(self.target), "unit": self.unit, "actual": _num(self.actual),
            "expected": _num(self.expected), "forecast": _num(self.forecast), "status": self.status,
            "violations": self.violations, "label": self.label, "evidence": self.evidence,
            "detail": self.detail, "measure": self.measure,
            **({"clause_label": self.clause_label} if self.clause_label else {}),
        }


@dataclass
class ProjectProgress:
    project: str
    name: str
    as_of: dt.date
    known_on: dt.datetime | None
    period_start: dt.date
    period_end: dt.date
    midterm: dt.date
    kpis: list[KpiProgress]
    silence: str | None = None  # "no_records" | "quiet_last_month" (SILENCE_LABELS)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUS_LABELS, 0)
        for k in self.kpis:
            out[k.status] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "name": self.name,
            "as_of": self.as_of.isoformat(),
            "known_on": self.known_on.isoformat(sep=" ") if self.known_on else None,
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "midterm": self.midterm.isoformat(),
            "kpis": [k.to_json() for k in self.kpis],
            "silence": self.silence,
        }
