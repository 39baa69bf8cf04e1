"""The shapes progress leaves tracker in: JSON (docs/contracts.md §4), CSV and plain-text tables, for
one project, the portfolio and a list of violations. The command line prints them; a web front end
serves the same JSON and CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from tracker.measure.types import SILENCE_LABELS, STATUS_LABELS, ProjectProgress
from tracker.text import display_width, pad

PROGRESS_CSV_COLUMNS = ["project", "as_of", "id", "clause", "label", "kind", "comparator", "target", "unit",
                        "actual", "expected", "forecast", "status", "status_label", "violations", "evidence",
                        "measure"]
PORTFOLIO_CSV_COLUMNS = ["project", "name", "as_of", *STATUS_LABELS, "kpis", "silence"]


def progress_json(p: ProjectProgress, violations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One project's progress as JSON-ready data; with ``violations``, also ``violation_records``."""
    out = p.to_json()
    if violations is not None:
        out["violation_records"] = [{**r, "date": str(r["date"]) if r["date"] else None} for r in violations]
    return out


def progress_csv(p: ProjectProgress) -> str:
    """One row per KPI (columns ``PROGRESS_CSV_COLUMNS``)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(PROGRESS_CSV_COLUMNS)
    for k in p.kpis:
        j = k.to_json()
        w.writerow([p.project, p.as_of.isoformat(), k.id, k.clause, k.label, k.kind, k.comparator,
                    j["target"], k.unit, j["actual"], j["expected"], j["forecast"], k.status,
                    STATUS_LABELS[k.status], k.violations, k.evidence, k.measure or ""])
    return buf.getvalue()


def portfolio_json(ps: list[ProjectProgress]) -> list[dict[str, Any]]:
    """Per project: code, name, as-of date, the count of KPIs in each status, the number of KPIs and
    ``silence`` (``no_records``, ``quiet_last_month`` or null: the flag of a project reporting nothing)."""
    return [{"project": p.project, "name": p.name, "as_of": p.as_of.isoformat(), **p.counts(), "kpis": len(p.kpis),
             "silence": p.silence} for p in ps]


def portfolio_csv(ps: list[ProjectProgress]) -> str:
    """The rows of ``portfolio_json`` as CSV (columns ``PORTFOLIO_CSV_COLUMNS``)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(PORTFOLIO_CSV_COLUMNS)
    for row in portfolio_json(ps):
        w.writerow(["" if row[c] is None else row[c] for c in PORTFOLIO_CSV_COLUMNS])
    return buf.getvalue()


# ------------------------------------------------------------------ plain-text tables


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(display_width(h), *(display_width(r[i]) for r in rows)) if rows else display_width(h)
              for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(pad(c, w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def fmt(v: float | None) -> str:
    """A figure for a terminal table: one decimal at most, no separators, ``—`` for none."""
    if v is None:
        return "—"
    v = round(float(v), 1)
    return str(int(v)) if v.is_integer() else f"{v}"


def progress_table(p: ProjectProgress) -> str:
    head = (f"{p.project} {p.name}\n截至 {p.as_of}（项目周期 {p.period_start} 至 {p.period_end}，"
            f"中期 {p.midterm}）" + (f"，按 {p.known_on:%Y-%m-%d %H:%M} UTC 已录入的记录" if p.known_on else ""))
    rows = []
    for k in p.kpis:
        target = "—" if k.target is None else f"{k.comparator}{fmt(k.target)}"
        actual = fmt(k.actual) + ("%" if k.actual_unit == "%" and k.unit != "%" and k.actual is not None else "")
        rows.append([f"{k.clause}", k.label, target, actual, fmt(k.expected), fmt(k.forecast),
                     k.unit, STATUS_LABELS[k.status], str(k.violations) if k.violations else ""])
    c = p.counts()
    summary = "，".join(f"{STATUS_LABELS[s]} {n}" for s, n in c.items())
    if p.silence:
        head += f"\n注意：{SILENCE_LABELS[p.silence]}，请核实项目是否在开展服务并补录记录"
    return head + "\n\n" + render_table(
        ["条款", "指标", "目标", "实际", "应完成", "预计", "单位", "状态", "违规"], rows) + f"\n\n合计：{summary}"


def portfolio_table(ps: list[ProjectProgress]) -> str:
    keys = list(STATUS_LABELS)
    rows = [[p.project, p.name, str(p.as_of), *(str(p.counts()[k]) for k in keys), str(len(p.kpis)),
             SILENCE_LABELS.get(p.silence or "", "")] for p in ps]
    return render_table(["项目", "名称", "截至", *(STATUS_LABELS[k] for k in keys), "指标数", "提示"], rows)


def violations_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "没有违规记录。"
    table = [[r["kpi_id"].split(".", 1)[1], r.get("record_id") or (str(r["id"]) if r.get("id") else ""),
              str(r["date"] or ""), str(r.get("what") or ""), r.get("person") or "", r.get("name") or "",
              r["reason"]] for r in rows]
    return render_table(["指标", "记录", "日期", "类型/月份", "对象编号", "姓名", "原因"], table)


def summary_table(progress: list[ProjectProgress]) -> str:
    """The mid-term summary ``tracker demo`` prints: per project the KPIs of each status, and the totals."""
    head = ["项目编号", "项目名称", *STATUS_LABELS.values()]
    rows = []
    totals = dict.fromkeys(STATUS_LABELS, 0)
    for p in progress:
        c = p.counts()
        for k in totals:
            totals[k] += c[k]
        name = p.name if len(p.name) <= 18 else p.name[:17] + "…"
        rows.append([p.project, name, *(str(c[k]) for k in STATUS_LABELS)])
    rows.append(["合计", f"{len(progress)} 个项目", *(str(totals[k]) for k in STATUS_LABELS)])

    widths = [max(display_width(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(r: list[str]) -> str:
        return "  ".join(pad(cell, widths[i], right=i >= 2) for i, cell in enumerate(r))

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([f"中期评估汇总（截至 {progress[0].as_of if progress else ''}）", line(head), sep,
                      *(line(r) for r in rows[:-1]), sep, line(rows[-1])])
