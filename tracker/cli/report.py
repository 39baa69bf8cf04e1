"""``tracker report midterm|final`` (docs/contracts.md §1, §5) and ``tracker note`` (未完成原因、改进措施、
下一步计划 shown in the reports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracker.cli import app
from tracker.cli.options import output_dir, parse_date, parse_known_on
from tracker.errors import TrackerError


@app.command("report")
def report(
    which: Annotated[str, typer.Argument(help="midterm（中期）或 final（终期）")],
    out: Annotated[Path, typer.Option("--out", help="输出目录")],
    project: Annotated[str | None, typer.Option("--project", help="项目编号")] = None,
    all_: Annotated[bool, typer.Option("--all", help="全部项目，另出全市汇总（XLSX 与 PDF）")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="统计截至日；缺省：中期评估日或周期结束日")] = None,
    as_known_on: Annotated[str | None, typer.Option(
        "--as-known-on", help="只计入此时已录入的记录（如 2024-11-15 或 2024-11-15T18:00），用于重出当时的报告")] = None,
    scheme: Annotated[str | None, typer.Option("--scheme", help="评分方案名（见评分方案文件 scoring.yaml）")] = None,
) -> None:
    """生成中期/终期报告：每个项目 <编号>-<midterm|final>.html 与 .pdf；--all 另出 portfolio-*.xlsx 与 .pdf。"""
    from tracker.reports import render_project_report
    from tracker.reports.batch import render_all
    from tracker.reports.common import check_which
    from tracker.workspace import open_workspace

    which = check_which(which)
    out = output_dir(out)  # type: ignore[assignment]
    if bool(project) == bool(all_):
        raise TrackerError("请用 --project 指定一个项目，或用 --all 生成全部项目（二者选一）")
    d = parse_date(as_of, "--as-of") if as_of else None
    k = parse_known_on(as_known_on) if as_known_on else None
    ws = open_workspace()
    if project:
        files = render_project_report(ws, project, which, d, out, k, scheme=scheme)
        typer.echo(f"已生成 {files.html} 与 {files.pdf}")
        return
    batch = render_all(ws, which, out, as_of=d, known_on=k, scheme=scheme,
                       on_done=lambda _code, f: typer.echo(f"已生成 {f.html} 与 {f.pdf}"),
                       on_error=lambda code, message: typer.echo(f"错误：{code}：{message}", err=True))
    if batch.portfolio is not None:
        typer.echo(f"已生成 {batch.portfolio.xlsx} 与 {batch.portfolio.pdf}")
    batch.raise_for_failures()


@app.command("note")
def note(
    project: Annotated[str, typer.Option("--project", help="项目编号")],
    topic: Annotated[str, typer.Option("--topic", help="reason（未完成原因）、remedy（改进措施）或 plan（下一步计划）")],
    text: Annotated[str, typer.Option("--text", help="内容")],
    author: Annotated[str, typer.Option("--author", help="填写人")],
    kpi: Annotated[str | None, typer.Option("--kpi", help="指标编号或 key（原因、措施必填；计划可省略）")] = None,
) -> None:
    """记录承接组织对未完成指标的原因、改进措施，或下一步计划（写入报告，保留填写人和日期）。"""
    from tracker.reports.notes import TOPICS, add_note
    from tracker.workspace import open_workspace

    row = add_note(open_workspace(), project, topic, text, author, kpi)
    target = f"指标 {row.kpi_id}" if row.kpi_id else f"项目 {row.project_code}"
    typer.echo(f"已记录{TOPICS[row.topic]}（{target}，{row.author}）。")
