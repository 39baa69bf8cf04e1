"""``tracker progress | portfolio | explain | violations | judge``: where projects stand against their
KPIs, computed in the database."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tracker.cli import app
from tracker.cli.options import optional_date as _parse_date
from tracker.cli.options import optional_known_on as _parse_datetime
from tracker.cli.options import workspace as _ws
from tracker.errors import TrackerError


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json", "csv"):
        raise TrackerError(f"不支持的格式 “{fmt}”，应为 table、json 或 csv")


@app.command("progress")
def progress(
    project: Annotated[str, typer.Option("--project", help="项目编号，如 2024B004E")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="统计截止日期 YYYY-MM-DD（缺省：今天，不晚于周期结束）")] = None,
    as_known_on: Annotated[str | None, typer.Option("--as-known-on", help="按该时间已录入的记录计算（可复现）")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
    violations: Annotated[bool, typer.Option("--violations", help="同时列出违规记录")] = False,
) -> None:
    """一个项目各指标的实际值、应完成值、预计值、状态和违规数。"""
    from tracker import api, outputs

    _check_format(fmt)
    ws = _ws()
    d = api.default_as_of(ws, project, _parse_date(as_of))
    known = _parse_datetime(as_known_on)
    p = api.progress(ws, project, d, known)
    rows = api.violations(ws, project, None, d, known) if violations else None
    if fmt == "json":
        typer.echo(json.dumps(outputs.progress_json(p, rows), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        typer.echo(outputs.progress_csv(p), nl=False)
    else:
        typer.echo(outputs.progress_table(p))
        if rows is not None:
            typer.echo("\n违规记录：\n" + outputs.violations_table(rows))


@app.command("portfolio")
def portfolio(
    as_of: Annotated[str | None, typer.Option("--as-of", help="统计截止日期（缺省：今天；各项目不晚于其周期结束）")] = None,
    as_known_on: Annotated[str | None, typer.Option("--as-known-on", help="按该时间已录入的记录计算")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
) -> None:
    """全部项目的指标状态汇总，问题最多的排在前面。"""
    from tracker import api, outputs

    _check_format(fmt)
    ps = api.portfolio(_ws(), _parse_date(as_of), _parse_datetime(as_known_on))
    if fmt == "json":
        typer.echo(json.dumps(outputs.portfolio_json(ps), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        typer.echo(outputs.portfolio_csv(ps), nl=False)
    else:
        typer.echo(outputs.portfolio_table(ps))


@app.command("explain")
def explain(
    kpi_id: Annotated[str, typer.Argument(help="指标编号，如 2024B004E.2.visits_total")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="统计截止日期")] = None,
    as_known_on: Annotated[str | None, typer.Option("--as-known-on", help="按该时间已录入的记录")] = None,
) -> None:
    """打印指标在当前数据库上编译成的 SQL（含具体参数值），便于核对计数口径。"""
    from tracker import api
    from tracker.measure.compile import code_of

    ws = _ws()
    d = api.default_as_of(ws, code_of(kpi_id), _parse_date(as_of))
    typer.echo(f"-- {kpi_id}（{ws.engine.dialect.name}，截至 {d}）")
    typer.echo(api.kpi_sql(ws, kpi_id, d, _parse_datetime(as_known_on)))


@app.command("violations")
def violations_cmd(
    project: Annotated[str, typer.Option("--project", help="项目编号")],
    kpi: Annotated[str | None, typer.Option("--kpi", help="只看此指标")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="统计截止日期")] = None,
    as_known_on: Annotated[str | None, typer.Option("--as-known-on", help="按该时间已录入的记录")] = None,
) -> None:
    """列出违反指标规则的记录（姓名已脱敏）。"""
    from tracker import api, outputs

    rows = api.violations(_ws(), project, kpi, _parse_date(as_of), _parse_datetime(as_known_on))
    typer.echo(outputs.violations_table(rows))


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
