"""A readable Chinese table of one project's KPIs."""

from __future__ import annotations

from tracker.kpispec.model import Spec
from tracker.measure.kinds import kind_label, rule_text
from tracker.text import display_width, pad


def fmt_target(kpi_target: float | None) -> str:
    if kpi_target is None:
        return "—"
    return f"{kpi_target:g}"


def render_spec_table(spec: Spec) -> str:
    p = spec.project
    lines = [
        f"{p.code}  {p.name}",
        f"类别：{p.category}    资助：{p.funding.amount_wan:g} 万元    区域：{'、'.join(p.area)}",
        f"周期：{p.period.start} 至 {p.period.end}    中期：{p.midterm_date}",
        "",
    ]
    rows = [("条款", "指标 id", "名称", "类型", "目标", "单位")]
    for clause, kpi in spec.iter_kpis():
        rows.append((str(clause.clause), spec.kpi_id(clause, kpi), kpi.label, kind_label(kpi.kind),
                     f"{kpi.comparator.value} {fmt_target(kpi.target)}" if kpi.target is not None else "—",
                     kpi.unit))
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, r in enumerate(rows):
        lines.append("  ".join(pad(c, widths[i]) for i, c in enumerate(r)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    rules = [(spec.kpi_id(clause, kpi), text) for clause, kpi in spec.iter_kpis() if (text := rule_text(kpi))]
    if rules:  # the rules besides the targets: per-record bounds (择一 included), per-member and per-period rules
        lines += ["", "规则："]
        w = max(display_width(kid) for kid, _ in rules)
        lines += [f"  {pad(kid, w)}  {text}" for kid, text in rules]
    return "\n".join(lines)
