"""The KPI list in the shape of docs/contracts.md section 2."""

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
            row: dict[str, Any] = {
                "project": spec.code,
                "clause": clause.number,
                "id": spec.kpi_id(clause, kpi),
                "key": kpi.key,
                "kind": kpi.kind.value,
                "label": kpi.label,
                "comparator": kpi.comparator.value,
                "target": target,
                "unit": kpi.unit,
                "text": clause.text,
                "excerpt": kpi.excerpt,
            }
            if not isinstance(clause.clause, int):  # 5.1: the contract's integer is its top level
                row["clause_label"] = clause.label
            if kpi.draft:
                row["draft"] = kpi.draft
            out.append(row)
    return out
