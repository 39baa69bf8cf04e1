"""``tracker records / history / batches / undo-batch``: see the records behind a figure and undo an
import (a thin shell over ``tracker.records.listing``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tracker.cli import app
from tracker.cli.options import output_file
from tracker.cli.options import workspace as _ws
from tracker.errors import TrackerError


def _who(by: str | None) -> str:
    from tracker.cli.records import _who as who

    return who(by)


def _show(table: object, fmt: str, out: Path | None, keys: bool) -> None:
    from tracker.records.listing import Table

    assert isinstance(table, Table)
    if fmt not in ("table", "csv", "xlsx"):
        raise TrackerError(f"--format 只能是 table、csv 或 xlsx，而不是“{fmt}”")
    if fmt == "xlsx" and out is None:
        raise TrackerError("--format xlsx 需要用 --out 指定输出文件，如 --out 记录.xlsx")
    if out is not None:
        out = output_file(out, "--out", "记录.xlsx")
        assert out is not None
        if fmt == "table":
            fmt = "xlsx" if out.suffix.lower() == ".xlsx" else "csv"
        path = table.save(out.with_suffix("." + fmt) if out.suffix.lower() != "." + fmt else out, keys=keys)
        typer.echo(f"已写入 {len(table.rows)} 条：{path}")
        return
    if fmt == "csv":
        sys.stdout.write(table.csv_text(keys=keys))
        return
    heads = [k if keys else label for k, label in table.columns]
    typer.echo("\t".join(heads))
    from tracker.records.ledger import display

    for r in table.rows:
        typer.echo("\t".join(display(r.get(k)) for k, _ in table.columns))
    typer.echo(f"共 {len(table.rows)} 条")


@app.command("records")
def records_cmd(
    project: Annotated[str, typer.Option("--project", help="项目编号")],
    kind: Annotated[str, typer.Option("--kind", help="记录类型（缺省 activity 活动记录）")] = "activity",
    person: Annotated[str | None, typer.Option("--person", help="服务对象编号")] = None,
    month: Annotated[str | None, typer.Option("--month", help="月份，如 2024-07")] = None,
    batch: Annotated[int | None, typer.Option("--batch", help="导入批次（见 tracker batches）")] = None,
    kpi: Annotated[str | None, typer.Option("--kpi", help="指标编号，如 2024B004E.2.visits_total（或 2.visits_total）：该指标数值所依据的记录")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="与 --kpi 一起：统计截止日期（缺省：今天，不晚于周期结束）")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table（缺省）、csv 或 xlsx")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="输出文件（csv 或 xlsx）")] = None,
    keys: Annotated[bool, typer.Option("--keys", help="CSV/XLSX 表头用英文键，而不是中文列名")] = False,
) -> None:
    """列出当前记录及其来源文件和原行号（姓名、身份证号已脱敏）；--kpi 列出一个指标数值背后的记录。"""
    from tracker.cli.options import optional_date
    from tracker.records.listing import MAX_LIST, list_records

    ws = _ws()
    if kpi:
        from tracker import api
        from tracker.dashboard import figure_records

        kpi_id = kpi.strip() if kpi.strip().startswith(project + ".") else f"{project}.{kpi.strip()}"
        got = figure_records(ws, project, kpi_id, api.default_as_of(ws, project, optional_date(as_of)),
                             limit=MAX_LIST)
        typer.echo(f"{got.label}：{got.note}，共 {got.total} 条", err=True)
        _show(got.table, fmt, out, keys)
        return
    if as_of:
        raise TrackerError("--as-of 只与 --kpi 一起使用")
    _show(list_records(ws, project, kind, person=person, month=month, batch=batch), fmt, out, keys)


@app.command("batches")
def batches_cmd(
    project: Annotated[str | None, typer.Option("--project", help="项目编号（缺省：全部）")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table（缺省）、csv 或 xlsx")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="输出文件（csv 或 xlsx）")] = None,
    keys: Annotated[bool, typer.Option("--keys", help="表头用英文键")] = False,
) -> None:
    """列出导入批次：文件、台账、新增/更改/未变化/退回的行数。"""
    from tracker.records.listing import list_batches

    _show(list_batches(_ws(), project), fmt, out, keys)


@app.command("history")
def history_cmd(
    record: Annotated[int, typer.Argument(help="库内编号（见 tracker records）")],
    project: Annotated[str, typer.Option("--project", help="项目编号")],
    kind: Annotated[str, typer.Option("--kind", help="记录类型（缺省 activity）")] = "activity",
) -> None:
    """显示一条记录的每个版本：何时由谁导入、更正或作废，原因是什么。"""
    from tracker.records.listing import record_history

    for v in record_history(_ws(), project, kind, record):
        state = "当前" if v.current else "历史"
        head = f"[{state}] 库内编号 {v.record} · {v.how} · {v.entered_at:%Y-%m-%d %H:%M} · {v.entered_by}"
        if v.reason:
            head += f" · 原因：{v.reason}"
        typer.echo(head)
        if v.values:
            typer.echo("    " + "，".join(f"{k}={x}" for k, x in v.values.items()))
        if v.source:
            typer.echo(f"    来源：{v.source}")


@app.command("undo-batch")
def undo_batch_cmd(
    batch: Annotated[int, typer.Argument(help="导入批次（见 tracker batches）")],
    reason: Annotated[str, typer.Option("--reason", help="撤销原因（必填）")],
    by: Annotated[str | None, typer.Option("--by", help="操作人（缺省为当前用户）")] = None,
) -> None:
    """撤销一次导入：该批次写入的记录全部退回，它更改或退回的记录恢复原状（一个事务；历史保留）。"""
    from tracker.records.listing import undo_batch

    r = undo_batch(_ws(), batch, reason, _who(by))
    typer.echo(f"已撤销导入批次 {r.batch}：退回 {r.retired} 条记录，恢复 {r.restored} 条被该批次更改或退回的记录；"
               "历史保留，可用 tracker history 查看")
