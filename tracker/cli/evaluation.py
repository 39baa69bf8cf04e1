"""``tracker audit …`` (and the evaluation commands): a thin shell over ``tracker.audit`` and
``tracker.evaluation``."""

from __future__ import annotations

import typer

from tracker import clock
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


sub_app = typer.Typer(help="评估报送：社会组织提交月度/中期/终期自评，审核人批准或退回；批准中期/终期评估即锁定期内记录。",
                      no_args_is_help=True)
app.add_typer(sub_app, name="submission")

_BY = typer.Option(..., "--by", help="操作人（账户名或姓名）")
_ROLE = typer.Option(..., "--role", help="operator（社会组织填报人）| auditor（审核人）| admin")


def _show(info) -> None:  # type: ignore[no-untyped-def]
    lock = "；期内记录已锁定" if info.locked else ""
    typer.echo(f"报送 {info.id}：项目 {info.project_code} {info.title}（{info.period_start} 至 {info.period_end}）"
               f" —— {info.state_label}，第 {info.round} 次提交{lock}")


@sub_app.command("open")
def sub_open(project: str = typer.Option(..., "--project", help="项目编号"),
             kind: str = typer.Option(..., "--kind", help="month（月度）| midterm（中期自评）| final（终期自评）"),
             month: str | None = typer.Option(None, "--month", help="月度报送的月份，如 2024-07"),
             by: str = _BY, role: str = typer.Option("operator", "--role")) -> None:
    """创建（或打开已有的）报送。"""
    from tracker import evaluation as ev

    _show(ev.open_submission(_ws(), project, kind, month, actor=by, role=role))


@sub_app.command("narrative")
def sub_narrative(sub_id: int = typer.Argument(..., help="报送编号"),
                  section: list[str] = typer.Option(..., "--section", help="栏目=内容，如 项目进展概述=……（可重复）"),
                  by: str = _BY, role: str = typer.Option("operator", "--role")) -> None:
    """填写自评栏目：项目进展概述、亮点与成效、存在问题、下一步计划。"""
    from tracker import evaluation as ev

    sections = {}
    for s in section:
        if "=" not in s:
            raise TrackerError(f"--section 应写成 栏目=内容，收到 “{s}”")
        k, v = s.split("=", 1)
        sections[k.strip()] = v
    _show(ev.save_narrative(_ws(), sub_id, sections, actor=by, role=role))


@sub_app.command("photos")
def sub_photos(sub_id: int = typer.Argument(..., help="报送编号"),
               photo: list[str] = typer.Option([], "--photo", help="证据编号=说明，如 12=入户探访（可重复；说明可省略）"),
               by: str = _BY, role: str = typer.Option("operator", "--role")) -> None:
    """选择中期/终期报告所附的照片（证据材料中的 JPG、PNG），报告中以缩略图和说明列出；不给 --photo 即清空。"""
    from tracker import evaluation as ev

    chosen: list[tuple[int, str | None]] = []
    for s in photo:
        k, _, v = s.partition("=")
        if not k.strip().isdigit():
            raise TrackerError(f"--photo 应写成 证据编号=说明，收到 “{s}”")
        chosen.append((int(k), v or None))
    _show(ev.choose_photos(_ws(), sub_id, chosen, actor=by, role=role))


@sub_app.command("move")
def sub_move(sub_id: int = typer.Argument(..., help="报送编号"),
             action: str = typer.Argument(..., help="submit（提交）| return（退回）| approve（批准）| unlock（解锁）| relock（重新锁定）"),
             by: str = _BY, role: str = _ROLE,
             comment: str = typer.Option("", "--comment", help="意见；退回与解锁时必填（解锁原因）"),
             kpi: list[str] = typer.Option([], "--kpi", help="逐项意见：指标编号=意见（可重复）")) -> None:
    """推进报送的状态（谁可以做什么见 tracker.evaluation.ACTIONS）。"""
    from tracker import evaluation as ev

    comments = {}
    for s in kpi:
        if "=" not in s:
            raise TrackerError(f"--kpi 应写成 指标编号=意见，收到 “{s}”")
        k, v = s.split("=", 1)
        comments[k.strip()] = v
    _show(ev.transition(_ws(), sub_id, action, actor=by, role=role, comment=comment, kpi_comments=comments))


@sub_app.command("list")
def sub_list(project: str | None = typer.Option(None, "--project", help="项目编号（缺省：全部）")) -> None:
    """列出报送及其状态。"""
    from tracker import evaluation as ev

    rows = ev.list_submissions(_ws(), project)
    if not rows:
        typer.echo("还没有报送")
    for info in rows:
        _show(info)


@sub_app.command("history")
def sub_history(sub_id: int = typer.Argument(..., help="报送编号")) -> None:
    """显示一个报送的全部审核记录（谁、何时、意见）。"""
    from tracker import evaluation as ev

    for e in ev.history(_ws(), sub_id):
        extra = "".join(f"\n    {k}：{v}" for k, v in e.kpi_comments.items())
        typer.echo(f"{clock.local_text(e.at)} "
                   f"{e.actor}（{ev.ROLES.get(e.role, e.role)}）{e.action}：{ev.STATES.get(e.from_state)} → "
                   f"{ev.STATES.get(e.to_state)}{'；' + e.comment if e.comment else ''}{extra}")


@sub_app.command("score")
def sub_score(sub_id: int = typer.Argument(..., help="报送编号（中期或终期）"),
              evaluator: str = typer.Option(..., "--evaluator", help="评估专家姓名"),
              dimension: str = typer.Option(..., "--dimension", help="评分维度，如 项目实施"),
              score: float = typer.Option(..., "--score", help="分数（0 至该维度权重）"),
              comment: str = typer.Option("", "--comment", help="评分意见"),
              evidence: str = typer.Option("", "--evidence", help="评分依据（如 抽查档案5份）"),
              chair: bool = typer.Option(False, "--chair", help="评估组长")) -> None:
    """评估专家对一个维度评分（同一专家再次评分即替换）。"""
    from tracker.evaluation.scores import record_score

    record_score(_ws(), sub_id, evaluator=evaluator, dimension=dimension, score=score, comment=comment,
                 evidence=evidence, chair=chair)
    typer.echo(f"已记录：{evaluator} 对“{dimension}”评 {score:g} 分")
