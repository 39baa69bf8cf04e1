"""The KPI list in the shape of docs/contracts.md section 2."""

from __future__ import annotations

from typing import Any

from tracker.kpispec.model import KPI, Bound, Spec

# Fields of the base row, or not rules (documentation, review state, history).
_NOT_RULES = {"key", "kind", "label", "excerpt", "target", "comparator", "unit", "notes", "draft", "draft_reason",
              "renamed_from", "pacing", "source", "where", "each"}


def _number(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _bound(b: Bound) -> dict[str, Any]:
    return {"field": b.field.value if b.field else None, "min": _number(b.min), "max": _number(b.max)}


def kpi_rules(kpi: KPI) -> dict[str, Any]:
    """Every machine-readable rule of a KPI besides its target (docs/contracts.md section 6): the
    source and filters, per-record bounds (``each``), the cap, per/by of a per-member rule, the
    rate measure, a coverage set, pacing as it applies (the spec's, else the kind's default) and
    any other parameter the spec sets (credential, incident types, ``within`` …)."""
    from tracker.measure.kinds import kind_of

    out: dict[str, Any] = {"source": kpi.source.value}
    where = kpi.where.model_dump(mode="json", exclude_none=True)
    if where:
        out["where"] = where
    if kpi.where.population:
        out["population"] = kpi.where.population
    dumped = kpi.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    for name, value in dumped.items():
        if name not in _NOT_RULES:
            out[name] = value
    if kpi.each:
        plain = [_bound(b) for b in kpi.each if b.any_of is None]
        if plain:
            out["each"] = plain
        either = [[_bound(x) for x in b.any_of] for b in kpi.each if b.any_of is not None]
        if either:  # each group: a record meets at least one of its bounds
            out["any_of"] = either
    if kind_of(kpi.kind).per_member:
        out["per"], out["by"] = kpi.per.value, kpi.by.value
    if kpi.members is not None:
        out["members"], out["min_each"] = list(kpi.members), kpi.min_each
    p = kpi.default_pacing()
    pacing: dict[str, Any] = {"mode": p.mode.value, "due": None if p.due is None else str(p.due)}
    if p.milestones:
        pacing["milestones"] = [{"date": str(m.date), "value": _number(m.value)} for m in p.milestones]
    out["pacing"] = pacing
    return {k: _number(v) for k, v in out.items()}


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
            row.update(kpi_rules(kpi))
            if kpi.draft:
                row["draft"] = kpi.draft
            out.append(row)
    return out
