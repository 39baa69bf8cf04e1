"""``tracker import / template / log / amend / void``: operators' records (a thin shell over
``tracker.records``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from tracker.cli import app
from tracker.cli.options import workspace as _ws
from tracker.errors import TrackerError

MAX_SHOWN = 200



def _who(by: str | None) -> str:
    from tracker.api import current_user

    return by or current_user()


def _report(result: Any) -> None:
    diff = getattr(result, "diff", None)
    if diff is not None and (result.dry_run or diff.changed or diff.disappeared):
        lines = diff.lines()
        for line in lines[:MAX_SHOWN]:
            typer.echo(line)
        if len(lines) > MAX_SHOWN:
            typer.echo(f"……其余 {len(lines) - MAX_SHOWN} 行未列出")
    for e in result.invalid[:MAX_SHOWN]:
        typer.echo(str(e), err=True)
    if len(result.invalid) > MAX_SHOWN:
        typer.echo(f"……共 {result.invalid_rows} 行无效，其余问题详见错误文件", err=True)
    if result.error_file:
        typer.echo(f"错误文件（含“错误说明”列）：{result.error_file}", err=True)
    for line in getattr(result, "understood", []):
        typer.echo(line)
    for line in getattr(result, "sheet_lines", list)():
        typer.echo(line)
    typer.echo(result.summary())
    if result.invalid_rows and not result.committed:
        if result.dry_run:
            raise TrackerError(f"试运行发现 {result.invalid_rows} 行无效")
        raise TrackerError(f"有 {result.invalid_rows} 行无效，未导入任何记录（修正后重新导入，或使用 --skip-invalid 只导入有效行）")


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV（UTF-8 / UTF-8 BOM / GB18030）或 XLSX 文件")],
    project: Annotated[str, typer.Option("--project", help="项目编号，如 2024B004E")],
    kind: Annotated[str | None, typer.Option("--kind", help="记录类型：roster、activity、survey …；缺省按表头判断")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查，不写入数据库")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="跳过无效行，只导入有效行")] = False,
    error_file: Annotated[Path | None, typer.Option("--error-file", help="错误文件路径（缺省：与输入文件同目录）")] = None,
    by: Annotated[str | None, typer.Option("--by", help="录入人（缺省为当前用户）")] = None,
    ledger: Annotated[str | None, typer.Option("--ledger", help="台账名称：与该台账上次导入的内容比较（缺省按内容识别）")] = None,
    sync: Annotated[bool, typer.Option("--sync", help="台账中已删除的行：由本次导入退回（不再计入指标）")] = False,
    sheet: Annotated[list[str] | None, typer.Option(
        "--sheet", help="只导入这些工作表（可重复，或用逗号分隔）；缺省导入表头相符的全部工作表")] = None,
) -> None:
    """导入一个记录文件（全部有效才写入；每个无效行报告行号、列名和原因）。

    再次导入同一台账时只写入差异：新增的行、内容有更改的行（作为更正），此前已作废或更正的行保持原状；
    台账中已删除的行会列出，加 --sync 才退回。先用 --dry-run 查看差异。"""
    from tracker.cli.options import output_file
    from tracker.records import import_file

    error_file = output_file(error_file, "--error-file", "错误说明.xlsx")
    ws = _ws()
    progress = _progress_bar()
    try:
        result = import_file(ws, file, project, kind, dry_run=dry_run, skip_invalid=skip_invalid,
                             entered_by=_who(by), error_file=error_file, progress=progress, ledger=ledger, sync=sync,
                             sheet=sheet or None)
    finally:
        if progress is not None:
            progress.close()
    _report(result)


class _Bar:
    """A progress bar on stderr for large files (rich, transient)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                          console=Console(stderr=True), transient=True)
        self.task: Any = None

    def __call__(self, done: int, total: int | None) -> None:
        if self.task is None:
            if not sys.stderr.isatty() and (total or 0) < 20_000:
                self.task = False
                return
            self.p.start()
            self.task = self.p.add_task("导入中", total=total)
        if self.task is not False:
            finishing = total is not None and done >= total
            self.p.update(self.task, completed=done, total=max(total or 0, done),
                          description="正在写入数据库" if finishing else "导入中")

    def close(self) -> None:
        if self.task not in (None, False):
            self.p.stop()


def _progress_bar() -> _Bar | None:
    try:
        return _Bar()
    except Exception:
        return None


@app.command("template")
def template_cmd(
    project: Annotated[str, typer.Option("--project", help="项目编号")],
    kind: Annotated[str, typer.Option("--kind", help="记录类型：roster、activity、survey …")],
    out: Annotated[Path | None, typer.Option("--out", help="输出的 XLSX 文件")] = None,
) -> None:
    """生成 XLSX 导入模板（中文表头、下拉选项、日期格式、示例行、填写说明）。"""
    from tracker import config
    from tracker.cli.options import output_file
    from tracker.kpispec.loader import load_spec
    from tracker.records.columns import KINDS, resolve_kind
    from tracker.records.template import write_template

    out = output_file(out, "--out", "模板.xlsx")
    k = resolve_kind(kind)
    spec = load_spec(config.specs_dir(), project).spec
    path = write_template(spec, k, out or Path(f"{project}-{KINDS[k].label}模板.xlsx"))
    typer.echo(f"已写入模板 {path}")


LOG_KINDS = ("roster", "activity", "survey", "deliverable", "approval", "incident", "staff", "credential",
             "assessment", "expense")


class _LogGroup(TyperGroup):
    """``tracker log KIND``: each kind's command (its help lists the kind's columns) is built when it is
    asked for, so ``tracker --help`` does not load the record columns and the database models."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(LOG_KINDS)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in LOG_KINDS:
            return None
        one = typer.Typer(rich_markup_mode=None, add_completion=False)
        _make_log(one, name)
        return typer.main.get_command(one)


log_app = typer.Typer(help="从命令行登记一条记录：tracker log activity --project CODE --日期 2024-07-01 …",
                      no_args_is_help=True, cls=_LogGroup)
app.add_typer(log_app, name="log")


def _pairs(args: list[str]) -> dict[str, str]:
    """``--key value`` / ``--key=value`` pairs (keys may be English keys or Chinese labels)."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("--"):
            raise TrackerError(f"无法理解的参数 “{a}”：请写成 --列名 值")
        name = a[2:]
        if "=" in name:
            name, value = name.split("=", 1)
        else:
            if i + 1 >= len(args):
                raise TrackerError(f"参数 --{name} 缺少值")
            value = args[i + 1]
            i += 1
        out[name.replace("-", "_") if name.isascii() else name] = value
        i += 1
    return out


def _make_log(group: typer.Typer, kind: str) -> None:
    from tracker.records.columns import KINDS

    kd = KINDS[kind]
    cols = "、".join(f"--{c.key.replace('_', '-')}（{c.label}）" for c in kd.columns)

    @group.command(kind, context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                     help=f"登记一条{kd.label}。可用字段：{cols}", short_help=f"登记一条{kd.label}")
    def _log(
        ctx: typer.Context,
        project: Annotated[str, typer.Option("--project", help="项目编号")],
        by: Annotated[str | None, typer.Option("--by", help="录入人")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查，不写入")] = False,
    ) -> None:
        from tracker.api import FieldError, check_fields, log_record

        fields = _pairs(list(ctx.args))
        try:
            check_fields(kind, fields)
        except FieldError as e:  # the same refusal, in the command line's words
            if e.name is None:
                raise TrackerError(f"请给出要登记的字段，如 --{kd.columns[1].key} …；可用字段：{cols}") from None
            hint = f"（是否想写 --{e.suggestion.replace('_', '-')}？）" if e.suggestion else ""
            raise TrackerError(f"没有选项 --{e.name.replace('_', '-')}{hint}；可用字段：{cols}") from None
        result = log_record(_ws(), project, kind, fields, entered_by=_who(by), dry_run=dry_run)
        if result.invalid:
            for e in result.invalid:
                typer.echo(f"[{e.column}] {e.message}", err=True)
            raise TrackerError("记录无效，未登记")
        if result.imported:
            typer.echo(f"已登记 1 条{kd.label}" + ("（试运行，未写入）" if dry_run else ""))
        else:
            typer.echo(f"相同的{kd.label}已存在，未重复登记")


def _sets(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        if "=" not in v:
            raise TrackerError(f"--set 应写成 列名=新值，而不是 “{v}”")
        k, val = v.split("=", 1)
        out[k.strip()] = val.strip()
    return out


@app.command("amend")
def amend_cmd(
    project: Annotated[str, typer.Option("--project", help="项目编号")],
    kind: Annotated[str, typer.Option("--kind", help="记录类型")],
    reason: Annotated[str, typer.Option("--reason", help="更正原因（必填）")],
    record_id: Annotated[str | None, typer.Option("--record-id", help="记录编号（名册为服务对象编号）")] = None,
    row_id: Annotated[int | None, typer.Option("--row-id", help="库内编号（没有记录编号时）")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="列名=新值，可重复")] = None,
    author: Annotated[str | None, typer.Option("--author", help="更正人（缺省为当前用户）")] = None,
) -> None:
    """更正一条记录：原记录保留在历史中，新记录取代它，并记下原因和更正人。"""
    from tracker.records import amend
    from tracker.records.listing import correction_summary

    ws = _ws()
    new_id = amend(ws, project, kind, record_id, _sets(set_ or []), reason, _who(author), row_id=row_id)
    typer.echo(correction_summary(ws, project, kind, new_id=new_id) + "；原记录保留在历史中")


@app.command("void")
def void_cmd(
    project: Annotated[str, typer.Option("--project", help="项目编号")],
    kind: Annotated[str, typer.Option("--kind", help="记录类型")],
    reason: Annotated[str, typer.Option("--reason", help="作废原因（必填）")],
    record_id: Annotated[str | None, typer.Option("--record-id", help="记录编号（名册为服务对象编号）")] = None,
    row_id: Annotated[int | None, typer.Option("--row-id", help="库内编号（没有记录编号时）")] = None,
    author: Annotated[str | None, typer.Option("--author", help="操作人（缺省为当前用户）")] = None,
) -> None:
    """作废一条记录：不再计入指标，但保留在历史中，并记下原因和操作人。"""
    from tracker.records import void
    from tracker.records.listing import correction_summary

    ws = _ws()
    cid = void(ws, project, kind, record_id, reason, _who(author), row_id=row_id)
    typer.echo(correction_summary(ws, project, kind, correction_id=cid) + "；原记录保留在历史中")
