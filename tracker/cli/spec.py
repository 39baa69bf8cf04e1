"""``tracker spec …``: validate, show, export and start specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tracker import config
from tracker.cli import app
from tracker.kpispec.export import kpi_records
from tracker.kpispec.loader import load_spec, load_specs

spec_app = typer.Typer(help="KPI 规格：校验、查看、导出、新建。", no_args_is_help=True)
app.add_typer(spec_app, name="spec")


@spec_app.command("validate")
def validate(directory: Annotated[Path | None, typer.Argument(help="规格目录，缺省为 kpi_specs/")] = None) -> None:
    """校验目录（或单个文件）下的全部规格；出错时列出文件、行号、字段和原因。"""
    from tracker.kpispec.validate_report import validation_report

    report = validation_report(directory or config.specs_dir())
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

    if fmt != "json":
        raise TrackerError(f"不支持的格式 “{fmt}”，目前只支持 json")
    specs = [ls.spec for ls in load_specs(config.specs_dir())]
    if project and project not in {s.code for s in specs}:
        raise TrackerError(f"未找到项目 {project} 的规格")
    typer.echo(json.dumps(kpi_records(specs, project), ensure_ascii=False, indent=2))


@spec_app.command("show")
def show(code: Annotated[str, typer.Argument(help="项目编号，如 2024B004E")]) -> None:
    """以中文表格显示一个项目的全部指标。"""
    from tracker.kpispec.show import render_spec_table

    typer.echo(render_spec_table(load_spec(config.specs_dir(), code).spec))


@spec_app.command("new")
def new(
    code: Annotated[str, typer.Argument(help="项目编号")],
    out: Annotated[Path | None, typer.Option("--out", help="写入此文件（缺省打印）")] = None,
) -> None:
    """按发布表生成新规格的骨架（元数据与逐条原文）。"""
    from tracker.kpispec.skeleton import skeleton_yaml

    text = skeleton_yaml(code)
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"已写入 {out}")
    else:
        typer.echo(text)


@spec_app.command("issues")
def issues() -> None:
    """列出发布表原文中的不一致之处（只报告，不修改）。"""
    from tracker.kpispec.release_table import release_tables

    for line in release_tables().issues:
        typer.echo(f"- {line}")
