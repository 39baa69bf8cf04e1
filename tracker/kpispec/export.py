"""The KPI list in the shape of CONTRACTS.md section 2."""

from __future__ import annotations

from typing import Any

from tracker.kpispec.model import Spec


def kpi_records(specs: list[Spec], project: str | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for spec in specs:
        if project and spec.code != project:
            continue
        for clause, kpi in spec.iter_kpis():
            target: float | int | None = kpi.target
            if isinstance(target, float) and target.is_integer():
                target = int(target)
            out.append({
                "project": spec.code,
                "clause": clause.clause,
                "id": spec.kpi_id(clause, kpi),
                "key": kpi.key,
                "kind": kpi.kind.value,
                "label": kpi.label,
                "comparator": kpi.comparator.value,
                "target": target,
                "unit": kpi.unit,
                "text": clause.text,
                "excerpt": kpi.excerpt,
            })
    return out
