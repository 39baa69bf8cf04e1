"""``tracker spec …``: validate, show, export and start specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tracker import config
from tracker.cli import app

spec_app = typer.Typer(help="KPI 规格：校验、查看、导出、新建。", no_args_is_help=True)
app.add_typer(spec_app, name="spec")


@spec_app.command("validate")
def validate(directory: Annotated[Path | None, typer.Argument(help="规格目录，缺省为 kpi_specs/")] = None,
             db: Annotated[str | None, typer.Option(
                 "--db", help="同时核对此数据库中的评定与说明（缺省：设置了 TRACKER_DB_URL 时用它）")] = None) -> None:
    """校验目录（或单个文件）下的全部规格；出错时列出文件、行号、字段和原因。"""
    import os

    from tracker.kpispec.validate_report import validation_report

    report = validation_report(directory or config.specs_dir(), db or os.environ.get("TRACKER_DB_URL"))
    for g in report.gaps:
        typer.echo(f"覆盖缺口：{g}", err=True)
    for line in report.programme_lines():  # on stderr: the standard output stays the contract's
        typer.echo(line, err=True)
    for line in report.draft_lines():
        typer.echo(line)
    typer.echo(f"校验通过：{report.n_projects} 个项目，{report.n_kpis} 个指标。")


@spec_app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="输出格式：json")] = "json",
    project: Annotated[str | None, typer.Option("--project", help="只导出此项目")] = None,
) -> None:
    """按约定格式导出 KPI 列表（JSON 数组）。"""
    from tracker.errors import TrackerError
    from tracker.kpispec.export import kpi_records
    from tracker.kpispec.loader import load_specs

    if fmt != "json":
        raise TrackerError(f"不支持的格式 “{fmt}”，目前只支持 json")
    specs = [ls.spec for ls in load_specs(config.specs_dir())]
    if project and project not in {s.code for s in specs}:
        raise TrackerError(f"未找到项目 {project} 的规格")
    typer.echo(json.dumps(kpi_records(specs, project), ensure_ascii=False, indent=2))


@spec_app.command("show")
def show(code: Annotated[str, typer.Argument(help="项目编号，如 2024B004E")]) -> None:
    """以中文表格显示一个项目的全部指标。"""
    from tracker.kpispec.loader import load_spec
    from tracker.kpispec.show import render_spec_table

    typer.echo(render_spec_table(load_spec(config.specs_dir(), code).spec))


@spec_app.command("new")
def new(
    code: Annotated[str, typer.Argument(help="项目编号")],
    out: Annotated[Path | None, typer.Option("--out", help="写入此文件（缺省打印）")] = None,
    clauses: Annotated[Path | None, typer.Option(
        "--clauses", help="不在发布表中的项目：条款原文所在的文本文件（- 表示从标准输入粘贴）")] = None,
) -> None:
    """按发布表生成新规格的骨架（元数据与逐条原文）；不在发布表中的项目按粘贴的条款起草。"""
    import sys

    from tracker.cli.options import output_file
    from tracker.kpispec.model import CODE_PATTERN
    from tracker.kpispec.skeleton import find_in_tables, outside_table_yaml, skeleton_yaml

    out = output_file(out, "--out", f"{code}.yaml")
    if find_in_tables(code) is not None:
        text = skeleton_yaml(code)
    else:
        import re

        from tracker.errors import TrackerError

        if not re.fullmatch(CODE_PATTERN, code):
            raise TrackerError(f"项目编号 “{code}” 格式不对：只能包含字母、数字、- 和 _，长度 2–16")
        typed = None
        if clauses is not None:
            typed = sys.stdin.read() if str(clauses) == "-" else clauses.read_text("utf-8")
        text = outside_table_yaml(code, typed)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"已写入 {out}")
    else:
        typer.echo(text)


@spec_app.command("draft")
def draft(
    table: Annotated[Path, typer.Argument(help="发布表文件（.docx、.txt 或 .pdf）")],
    out: Annotated[Path, typer.Option("--out", help="草稿写入此目录（每个项目一个 .yaml）")],
    programme: Annotated[Path | None, typer.Option("--programme", help="计划文件 programme.yaml（缺省：列出此发布表的计划）")] = None,
) -> None:
    """为发布表中的每个项目起草规格：元数据、逐条原文和按条款措辞推定的指标（均标记待复核）。"""
    from tracker.kpispec.draft import draft_table
    from tracker.kpispec.loader import SpecError, load_specs
    from tracker.kpispec.programme import programme_at

    run = draft_table(table, out, programme_at(programme) if programme else None)
    for line in run.issues:
        typer.echo(f"发布表未能读取或需核对：{line}", err=True)
    typer.echo(f"已起草 {len(run.written)} 个项目、{run.n_kpis} 个指标（其中 {run.n_manual} 个需人工评定或拆分），写入 {out}。")
    try:
        load_specs(out)
    except SpecError as e:
        typer.echo(f"草稿尚未通过校验，请按下列提示修改：\n{e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"草稿校验通过。下一步：逐个复核标记 draft: needs review 的指标，再运行 tracker spec validate {out}")


@spec_app.command("issues")
def issues() -> None:
    """列出发布表原文中的不一致之处（只报告，不修改）。"""
    from tracker.kpispec.release_table import release_tables

    for line in release_tables().issues:
        typer.echo(f"- {line}")
