"""``tracker audit …`` (and the evaluation commands): a thin shell over ``tracker.audit`` and
``tracker.evaluation``."""

from __future__ import annotations

import typer

from tracker.cli import app
from tracker.cli.options import workspace as _ws
from tracker.errors import TrackerError

audit_app = typer.Typer(help="审计记录：核对防篡改的操作链。", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """重新计算审计链，并与各表的当前数据核对；一致时退出码为 0，否则指出第一处不一致。"""
    from tracker.audit import verify

    result = verify(_ws())
    if not result.ok:
        for p in result.problems[1:20]:
            typer.echo(f"  {p}", err=True)
        raise TrackerError(result.summary() + "。请联系系统管理员，根据审计记录查明是谁在 tracker 之外改动了数据库")
    typer.echo(result.summary())


@audit_app.command("head")
def audit_head() -> None:
    """显示审计链最新一条的序号与哈希（报告页脚印有同一哈希）。"""
    from tracker.audit import head_of

    h = head_of(_ws())
    typer.echo("审计记录为空" if h is None else f"第 {h.seq} 条  {h.hash}")
