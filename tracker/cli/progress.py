"""``tracker progress | portfolio | explain | violations | judge``: where projects stand against their
KPIs, computed in the database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Annotated, Any

import typer

from tracker import clock
from tracker.cli import app
from tracker.cli.options import optional_date as _parse_date
from tracker.cli.options import optional_known_on as _parse_datetime
from tracker.cli.options import workspace as _ws
from tracker.errors import TrackerError
from tracker.measure.types import STATUS_LABELS, ProjectProgress
from tracker.text import display_width


def default_as_of(period_end: dt.date, given: str | None) -> dt.date:
    """Given date, or today in Hangzhou capped to the period end."""
    d = _parse_date(given)
    if d is not None:
        return d
    return min(clock.today(), period_end)


def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    v = round(float(v), 1)
    return str(int(v)) if v.is_integer() else f"{v}"


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(display_width(h), *(display_width(r[i]) for r in rows)) if rows else display_width(h)
              for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - display_width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def progress_table(p: ProjectProgress) -> str:
    head = (f"{p.project} {p.name}\n截至 {p.as_of}（项目周期 {p.period_start} 至 {p.period_end}，"
            f"中期 {p.midterm}）" + (f"，按 {p.known_on:%Y-%m-%d %H:%M} UTC 已录入的记录" if p.known_on else ""))
    rows = []
    for k in p.kpis:
        target = "—" if k.target is None else f"{k.comparator}{_fmt(k.target)}"
        rows.append([f"{k.clause}", k.label, target, _fmt(k.actual), _fmt(k.expected), _fmt(k.forecast),
                     k.unit, STATUS_LABELS[k.status], str(k.violations) if k.violations else ""])
    c = p.counts()
    summary = "，".join(f"{STATUS_LABELS[s]} {n}" for s, n in c.items())
    return head + "\n\n" + render_table(
        ["条款", "指标", "目标", "实际", "应完成", "预计", "单位", "状态", "违规"], rows) + f"\n\n合计：{summary}"


def progress_csv(p: ProjectProgress) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["project", "as_of", "id", "clause", "label", "kind", "comparator", "target", "unit",
                "actual", "expected", "forecast", "status", "status_label", "violations", "evidence"])
    for k in p.kpis:
        j = k.to_json()
        w.writerow([p.project, p.as_of.isoformat(), k.id, k.clause, k.label, k.kind, k.comparator,
                    j["target"], k.unit, j["actual"], j["expected"], j["forecast"], k.status,
                    STATUS_LABELS[k.status], k.violations, k.evidence])
    return buf.getvalue()


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json", "csv"):
        raise TrackerError(f"不支持的格式 “{fmt}”，应为 table、json 或 csv")


def _violation_lines(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "没有违规记录。"
    table = [[r["kpi_id"].split(".", 1)[1], r.get("record_id") or (str(r["id"]) if r.get("id") else ""),
              str(r["date"] or ""), str(r.get("what") or ""), r.get("person") or "", r.get("name") or "",
              r["reason"]] for r in rows]
    return render_table(["指标", "记录", "日期", "类型/月份", "对象编号", "姓名", "原因"], table)


@app.command("progress")
def progress(
    project: Annotated[str, typer.Option("--project", help="项目编号，如 2024B004E")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="统计截止日期 YYYY-MM-DD（缺省：今天，不晚于周期结束）")] = None,
    as_known_on: Annotated[str | None, typer.Option("--as-known-on", help="按该时间已录入的记录计算（可复现）")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
    violations: Annotated[bool, typer.Option("--violations", help="同时列出违规记录")] = False,
) -> None:
    """一个项目各指标的实际值、应完成值、预计值、状态和违规数。"""
    from tracker.measure.progress import compute_progress, list_violations

    _check_format(fmt)
    ws = _ws()
    spec = ws.spec(project)
    d = default_as_of(spec.project.period.end, as_of)
    known = _parse_datetime(as_known_on)
    p = compute_progress(ws, project, d, known)
    if fmt == "json":
        out = p.to_json()
        if violations:
            out["violation_records"] = [{**r, "date": str(r["date"]) if r["date"] else None}
                                        for r in list_violations(ws, project, None, d, known)]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        typer.echo(progress_csv(p), nl=False)
    else:
        typer.echo(progress_table(p))
        if violations:
            typer.echo("\n违规记录：\n" + _violation_lines(list_violations(ws, project, None, d, known)))


@app.command("portfolio")
def portfolio(
    as_of: Annotated[str | None, typer.Option("--as-of", help="统计截止日期（缺省：今天；各项目不晚于其周期结束）")] = None,
    as_known_on: Annotated[str | None, typer.Option("--as-known-on", help="按该时间已录入的记录计算")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
) -> None:
    """全部项目的指标状态汇总，问题最多的排在前面。"""
    from tracker.measure.progress import compute_portfolio

    _check_format(fmt)
    ws = _ws()
    d = _parse_date(as_of) or clock.today()
    ps = compute_portfolio(ws, d, _parse_datetime(as_known_on), cap_to_period=True)
    keys = list(STATUS_LABELS)
    if fmt == "json":
        typer.echo(json.dumps([{"project": p.project, "name": p.name, "as_of": p.as_of.isoformat(),
                                **p.counts(), "kpis": len(p.kpis)} for p in ps], ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["project", "name", "as_of", *keys, "kpis"])
        for p in ps:
            c = p.counts()
            w.writerow([p.project, p.name, p.as_of.isoformat(), *(c[k] for k in keys), len(p.kpis)])
        typer.echo(buf.getvalue(), nl=False)
        return
    rows = [[p.project, p.name, str(p.as_of), *(str(p.counts()[k]) for k in keys), str(len(p.kpis))] for p in ps]
    typer.echo(render_table(["项目", "名称", "截至", *(STATUS_LABELS[k] for k in keys), "指标数"], rows))


@app.command("explain")
def explain(
    kpi_id: Annotated[str, typer.Argument(help="指标编号，如 2024B004E.2.visits_total")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="统计截止日期")] = None,
    as_known_on: Annotated[str | None, typer.Option("--as-known-on", help="按该时间已录入的记录")] = None,
) -> None:
    """打印指标在当前数据库上编译成的 SQL（含具体参数值），便于核对计数口径。"""
    from tracker.measure.compile import code_of, kpi_sql

    ws = _ws()
    code = code_of(kpi_id)
    spec = ws.spec(code)
    d = default_as_of(spec.project.period.end, as_of)
    typer.echo(f"-- {kpi_id}（{ws.engine.dialect.name}，截至 {d}）")
    typer.echo(kpi_sql(ws, code, kpi_id, d, _parse_datetime(as_known_on)))


@app.command("violations")
def violations_cmd(
    project: Annotated[str, typer.Option("--project", help="项目编号")],
    kpi: Annotated[str | None, typer.Option("--kpi", help="只看此指标")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="统计截止日期")] = None,
    as_known_on: Annotated[str | None, typer.Option("--as-known-on", help="按该时间已录入的记录")] = None,
) -> None:
    """列出违反指标规则的记录（姓名已脱敏）。"""
    from tracker.measure.progress import list_violations

    ws = _ws()
    spec = ws.spec(project)
    d = default_as_of(spec.project.period.end, as_of)
    typer.echo(_violation_lines(list_violations(ws, project, kpi, d, _parse_datetime(as_known_on))))


@app.command("judge")
def judge(
    kpi_id: Annotated[str, typer.Argument(help="人工评定类指标编号")],
    verdict: Annotated[str, typer.Option("--verdict", help="met（达标）或 missed（未达标）")],
    evidence: Annotated[str, typer.Option("--evidence", help="评定依据")],
    author: Annotated[str, typer.Option("--author", help="评定人")],
    value: Annotated[float | None, typer.Option("--value", help="可选的数值")] = None,
) -> None:
    """记录审核人员对人工评定类指标的结论与依据。"""
    from tracker.measure.judgements import VERDICTS, record_judgement

    j = record_judgement(_ws(), kpi_id, verdict, evidence, author, value)
    typer.echo(f"已记录：{kpi_id} 评定为 {VERDICTS[j.verdict]}（{j.author}，{j.recorded_at:%Y-%m-%d %H:%M} UTC）")
