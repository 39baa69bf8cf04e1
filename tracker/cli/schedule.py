"""``tracker schedule run|tick|status|retry`` and ``tracker contacts add|list|remove``."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

import typer

from tracker import config
from tracker.cli import app
from tracker.cli.options import optional_date
from tracker.cli.options import workspace as _ws

schedule_app = typer.Typer(help="定时任务：每月进度邮件、中期/终期报告、全市月度汇总（发件箱保证不漏发、不重发）。",
                           no_args_is_help=True)
contacts_app = typer.Typer(help="邮件收件人：社会组织联系人（ngo）与民政局经办人（bureau）。", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")
app.add_typer(contacts_app, name="contacts")




def _date(value: str | None, what: str = "--as-of") -> dt.date | None:
    return optional_date(value, what)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "alembic", "weasyprint", "fontTools", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@schedule_app.command("run")
def run(once: Annotated[bool, typer.Option("--once", help="登记任务并补发一次后退出（检查配置用）")] = False) -> None:
    """启动调度器（前台常驻，SIGTERM/Ctrl-C 停止）；同一数据库只能运行一个。"""
    from tracker.scheduling.service import run_scheduler
    from tracker.scheduling.settings import schedule_settings, smtp_settings

    _logging()
    ws = _ws()
    settings = schedule_settings()
    smtp = smtp_settings()
    typer.echo(f"邮件服务器：{smtp.describe() if smtp else '未配置（TRACKER_SMTP_HOST），消息将留在发件箱'}")

    def started(sched) -> None:  # type: ignore[no-untyped-def]
        n = len(sched.get_jobs())
        typer.echo(f"调度器已启动：{n} 个任务，每月 {settings.day} 日 {settings.time_label}（北京时间）发送进度邮件。")

    run_scheduler(ws, specs=config.specs_dir(), once=once, settings=settings, on_started=started)
    typer.echo("调度器已停止。")


@schedule_app.command("tick")
def tick_cmd(
    as_of: Annotated[str | None, typer.Option("--as-of", help="截至日期 YYYY-MM-DD（缺省：今天，已过发送时刻）")] = None,
    project: Annotated[str | None, typer.Option("--project", help="只处理此项目")] = None,
    plan_only: Annotated[bool, typer.Option("--plan-only", help="只登记到发件箱，不发送")] = False,
) -> None:
    """把截至某日应发的邮件全部登记到发件箱并发送（可重复运行，不会重发）；适合 cron。"""
    from tracker.scheduling.tick import tick_report

    ws = _ws()
    if project:
        ws.loaded(project)
    t = tick_report(ws, _date(as_of), codes={project} if project else None, send=not plan_only)
    sent, failed = t.sent, t.failed
    for r in sent:
        typer.echo(f"已发送  {r.recipient}  {r.subject}")
    for r in failed:
        typer.echo(f"发送失败（第 {r.attempts} 次，{'将重试' if r.state == 'retry' else '已停止重试'}）  "
                   f"{r.kind} {r.project_code} {r.period} → {r.recipient}：{r.last_error}", err=True)
    typer.echo(f"本次发送 {len(sent)} 封，失败 {len(failed)} 封；发件箱待发送 {t.owed} 封，已发送 {t.sent_total} 封。")
    if t.smtp_missing:
        typer.echo("提示：未配置 TRACKER_SMTP_HOST，邮件留在发件箱，配置后再运行 tick 即发送。", err=True)
    if failed:
        raise typer.Exit(3)


@schedule_app.command("status")
def status(as_of: Annotated[str | None, typer.Option("--as-of", help="以此日期计算“即将发送”")] = None) -> None:
    """显示调度任务的下次运行时间、即将发送的邮件和发件箱状态（按状态计数、最近的失败）。"""
    from tracker.scheduling.compose import KIND_CN, period_cn
    from tracker.scheduling.status import STATE_CN, schedule_status

    st = schedule_status(_ws(), _date(as_of))
    typer.echo(f"邮件服务器：{st.smtp or '未配置（TRACKER_SMTP_HOST）'}")
    typer.echo(f"\n调度任务（{len(st.jobs)} 个，下次运行，北京时间）：")
    if not st.jobs:
        typer.echo("  （尚未运行过 tracker schedule run）")
    for job_id, t in st.jobs[:20]:
        typer.echo(f"  {t.strftime('%Y-%m-%d %H:%M') if t else '已暂停':16}  {job_id}")
    if len(st.jobs) > 20:
        typer.echo(f"  … 另有 {len(st.jobs) - 20} 个")
    typer.echo(f"\n{st.as_of} 之后即将发送：")
    for i in st.upcoming:
        what = "全市" if i.kind == "digest" else i.project_code
        typer.echo(f"  {i.send_on}  {KIND_CN[i.kind]:4}  {what}  {period_cn(i.kind, i.period)}")
    typer.echo("\n发件箱：" + "，".join(f"{STATE_CN[k]} {v}" for k, v in st.counts.items()))
    if st.failures:
        typer.echo("最近的失败：")
        for r in st.failures:
            typer.echo(f"  #{r.id} {STATE_CN[r.state]} 已尝试 {r.attempts} 次  {r.kind} {r.project_code} "
                       f"{r.period} → {r.recipient}：{r.last_error}")


@schedule_app.command("retry")
def retry(msg_id: Annotated[int | None, typer.Option("--id", help="只重试此编号（缺省：全部失败的消息）")] = None) -> None:
    """把“失败”（超过重试次数）的消息放回队列，下次 tick 时发送。"""
    from tracker.scheduling.status import requeue_failed

    n = requeue_failed(_ws(), msg_id)
    typer.echo(f"已放回队列 {n} 封。")


@contacts_app.command("add")
def contacts_add(
    role: Annotated[str, typer.Option("--role", help="ngo（社会组织联系人）或 bureau（民政局经办人）")],
    name: Annotated[str, typer.Option("--name", help="姓名")],
    email: Annotated[str, typer.Option("--email", help="邮箱")],
    project: Annotated[str | None, typer.Option("--project", help="项目编号；bureau 不填则接收全市月度汇总")] = None,
    since: Annotated[str | None, typer.Option("--since", help="从此日期起接收（缺省今天；此前已到期的只补最近一期）")] = None,
) -> None:
    """添加收件人。"""
    from tracker.records.privacy import mask_name
    from tracker.scheduling.contacts import ROLES, add_contact

    c = add_contact(_ws(), project, role, name, email, _date(since, "--since"))
    where = f"项目 {c.project_code}" if c.project_code else "全市月度汇总"
    typer.echo(f"已添加 #{c.id}：{where} {ROLES[c.role]} {mask_name(c.name)} <{c.email}>，自 {c.since} 起接收。")


@contacts_app.command("list")
def contacts_list(
    project: Annotated[str | None, typer.Option("--project", help="只列此项目")] = None,
    all_: Annotated[bool, typer.Option("--all", help="包括已删除的")] = False,
) -> None:
    """列出收件人（姓名脱敏）。"""
    from tracker.records.privacy import mask_name
    from tracker.scheduling.contacts import ROLES, list_contacts

    rows = list_contacts(_ws(), project, include_inactive=all_)
    if not rows:
        typer.echo("没有联系人。用 tracker contacts add --project CODE --role ngo --name 姓名 --email 邮箱 添加。")
    for c in rows:
        where = c.project_code or "全市汇总"
        flag = "" if c.active else "（已删除）"
        typer.echo(f"#{c.id}  {where:10}  {ROLES[c.role]}  {mask_name(c.name)}  <{c.email}>  自 {c.since}{flag}")


@contacts_app.command("remove")
def contacts_remove(
    email: Annotated[str, typer.Option("--email", help="邮箱")],
    project: Annotated[str | None, typer.Option("--project", help="项目编号（全市汇总的收件人不填）")] = None,
    role: Annotated[str | None, typer.Option("--role", help="（可选）ngo 或 bureau，仅作核对")] = None,
    name: Annotated[str | None, typer.Option("--name", help="（可选）仅作核对")] = None,
) -> None:
    """删除收件人（保留记录，取消其尚未发送的邮件）。"""
    from tracker.scheduling.contacts import remove_contact

    n, cancelled = remove_contact(_ws(), project, email, role=role, name=name)
    typer.echo(f"已删除 {n} 个联系人，取消其未发送的邮件 {cancelled} 封。")
