"""Submissions and review, and the locks an approved evaluation puts on its records (both databases)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE

from tracker import audit
from tracker import evaluation as ev
from tracker.errors import TrackerError
from tracker.records import amend, import_rows, void

NARRATIVE = {"项目进展概述": "完成探访 620 人次。", "亮点与成效": "老人满意度高。", "存在问题": "培训场次不足。",
             "下一步计划": "11月起每月增加两场培训。"}
KPI = f"{CODE}.2.trainings"


def _rows(*days: str) -> list[dict[str, object]]:
    return [{"记录编号": f"T{d}", "日期": d, "活动类型": "培训", "参与人数": 20} for d in days]


@pytest.fixture
def ws(roster_ws):  # type: ignore[no-untyped-def]
    assert import_rows(roster_ws, CODE, "activity", _rows("2024-07-01", "2024-08-01"), source_name="a.xlsx").imported == 2
    return roster_ws


def test_submit_return_resubmit_approve_lock_unlock(ws) -> None:
    sub = ev.open_submission(ws, CODE, "midterm", actor="李四", role="operator")
    assert (sub.state, sub.period_start.isoformat(), sub.period_end.isoformat()) == ("draft", "2024-06-01", "2024-10-30")
    with pytest.raises(TrackerError, match="还缺少栏目：项目进展概述、亮点与成效、存在问题、下一步计划"):
        ev.submit(ws, sub.id, actor="李四")
    ev.save_narrative(ws, sub.id, NARRATIVE, actor="李四", role="operator")
    with pytest.raises(TrackerError, match="“批准”只能由审核人（评估专家）、管理员操作，您的角色是社会组织填报人"):
        ev.approve(ws, sub.id, actor="李四", role="operator")
    with pytest.raises(TrackerError, match="目前草稿，不能“批准”"):
        ev.approve(ws, sub.id, actor="周审核")
    assert ev.submit(ws, sub.id, actor="李四").state == "submitted"
    with pytest.raises(TrackerError, match="必须写明退回意见"):
        ev.return_submission(ws, sub.id, actor="周审核")
    with pytest.raises(TrackerError, match="不能再修改自评内容；如需修改，请审核人退回"):
        ev.save_narrative(ws, sub.id, {"存在问题": "无"}, actor="李四", role="operator")
    r = ev.return_submission(ws, sub.id, actor="周审核", comment="请补充培训签到表",
                             kpi_comments={KPI: "只有2场，请说明原因"})
    assert (r.state, r.round) == ("returned", 1)
    ev.save_narrative(ws, sub.id, {"存在问题": "培训场次不足：场地协调延误。"}, actor="李四", role="operator")
    assert ev.submit(ws, sub.id, actor="李四").round == 2
    a = ev.approve(ws, sub.id, actor="周审核", comment="同意")
    assert (a.state, a.locked, a.approved_by) == ("approved", True, "周审核")
    assert ev.get_submission(ws, sub.id).narrative["存在问题"] == "培训场次不足：场地协调延误。"

    # locked: an import, an amendment or a voiding inside 2024-06-01 … 2024-10-30 is refused, naming it
    lock_msg = f"记录日期 2024-09-01 在项目 {CODE} 已批准的中期评估（2024-06-01 至 2024-10-30，周审核 于"
    with pytest.raises(TrackerError, match="导入被拒绝：" + lock_msg):
        import_rows(ws, CODE, "activity", _rows("2024-12-05", "2024-09-01"), source_name="b.xlsx")
    with pytest.raises(TrackerError, match=r"更正被拒绝：记录日期 2024-07-01 .*请审核人先解锁该中期评估并写明原因"):
        amend(ws, CODE, "activity", "T2024-07-01", {"参与人数": "25"}, reason="复核", author="李四")
    with pytest.raises(TrackerError, match="作废被拒绝：记录日期 2024-08-01"):
        void(ws, CODE, "activity", "T2024-08-01", reason="重复", author="李四")
    with pytest.raises(TrackerError, match="更正被拒绝：记录日期 2024-10-01"):  # moving a record into the period
        import_rows(ws, CODE, "activity", _rows("2024-12-10"), source_name="c.xlsx")
        amend(ws, CODE, "activity", "T2024-12-10", {"日期": "2024-10-01"}, reason="日期写错", author="李四")
    with ws.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM activity WHERE retired_at IS NULL")).scalar() == 3
    # after the period: allowed
    assert import_rows(ws, CODE, "activity", _rows("2024-12-20"), source_name="d.xlsx").imported == 1

    with pytest.raises(TrackerError, match="必须写明解锁原因"):
        ev.unlock(ws, sub.id, actor="周审核", reason=" ")
    with pytest.raises(TrackerError, match="“解锁”只能由"):
        ev.unlock(ws, sub.id, actor="李四", role="operator", reason="想改")
    u = ev.unlock(ws, sub.id, actor="周审核", reason="8月签到表漏录，允许补录")
    assert (u.state, u.locked) == ("approved", False)
    assert amend(ws, CODE, "activity", "T2024-07-01", {"参与人数": "25"}, reason="复核", author="李四")
    assert ev.relock(ws, sub.id, actor="周审核").locked is True
    with pytest.raises(TrackerError, match="作废被拒绝"):
        void(ws, CODE, "activity", "T2024-08-01", reason="重复", author="李四")

    steps = [(e.action, e.from_state, e.to_state, e.actor, e.role) for e in ev.history(ws, sub.id)]
    assert steps == [
        ("create", "draft", "draft", "李四", "operator"), ("edit", "draft", "draft", "李四", "operator"),
        ("submit", "draft", "submitted", "李四", "operator"), ("return", "submitted", "returned", "周审核", "auditor"),
        ("edit", "returned", "returned", "李四", "operator"), ("submit", "returned", "submitted", "李四", "operator"),
        ("approve", "submitted", "approved", "周审核", "auditor"), ("unlock", "approved", "approved", "周审核", "auditor"),
        ("relock", "approved", "approved", "周审核", "auditor")]
    events = ev.history(ws, sub.id)
    assert events[3].comment == "请补充培训签到表" and events[3].kpi_comments == {KPI: "只有2场，请说明原因"}
    assert events[7].comment == "8月签到表漏录，允许补录"
    assert all(e.at.tzinfo is not None for e in events)
    # every transition is in the audit trail, and the trail verifies
    with ws.engine.connect() as c:
        actions = [a for (a,) in c.execute(text("SELECT action FROM audit_entry WHERE entity = 'submissionevent' "
                                                "ORDER BY seq"))]
    assert actions == [f"submission.{a}" for a, *_ in steps]
    assert audit.verify(ws).ok
    with ws.engine.begin() as c:
        c.execute(text("UPDATE submission SET locked = false"))
    assert "“评估报送”第 1 条在 tracker 之外被修改" in str(audit.verify(ws).first)


def test_month_submission_and_bad_input(ws) -> None:
    m = ev.open_submission(ws, CODE, "month", "2024-07", actor="李四", role="operator")
    assert (m.title, m.period_start.isoformat(), m.period_end.isoformat()) == ("2024年7月月度报送", "2024-07-01", "2024-07-31")
    assert ev.open_submission(ws, CODE, "month", "2024-07", actor="李四", role="operator").id == m.id
    assert ev.submit(ws, m.id, actor="李四").state == "submitted"  # a month needs no narrative
    a = ev.approve(ws, m.id, actor="周审核")
    assert a.locked is False  # a month does not lock
    assert import_rows(ws, CODE, "activity", _rows("2024-07-15"), source_name="e.xlsx").imported == 1
    with pytest.raises(TrackerError, match="月份 “2024-7x” 无效"):
        ev.open_submission(ws, CODE, "month", "2024-7x", actor="李四", role="operator")
    with pytest.raises(TrackerError, match="2030年1月不在项目周期"):
        ev.open_submission(ws, CODE, "month", "2030-01", actor="李四", role="operator")
    with pytest.raises(TrackerError, match="只有社会组织填报人"):
        ev.open_submission(ws, CODE, "final", actor="周审核", role="auditor")
    with pytest.raises(TrackerError, match="没有栏目 “总结”"):
        ev.open_submission(ws, CODE, "final", actor="李四", role="operator", narrative={"总结": "x"})
    sub = ev.open_submission(ws, CODE, "final", actor="李四", role="operator", narrative=NARRATIVE)
    ev.submit(ws, sub.id, actor="李四")
    with pytest.raises(TrackerError, match=r"没有指标 2099B901\.9\.nothing"):
        ev.return_submission(ws, sub.id, actor="周审核", kpi_comments={f"{CODE}.9.nothing": "?"})


def test_cli_submission_cycle(env) -> None:
    from typer.testing import CliRunner

    from tracker.cli import _register, app

    _register()
    run = CliRunner().invoke
    r = run(app, ["submission", "open", "--project", "2024B004E", "--kind", "midterm", "--by", "李四"])
    assert r.exit_code == 0, r.output
    assert "报送 1：项目 2024B004E 中期自评" in r.output and "草稿" in r.output
    args = [f"--section={k}={v}" for k, v in NARRATIVE.items()]
    assert run(app, ["submission", "narrative", "1", *args, "--by", "李四"]).exit_code == 0
    assert "已提交，待审核，第 1 次提交" in run(app, ["submission", "move", "1", "submit", "--by", "李四",
                                                 "--role", "operator"]).output
    r = run(app, ["submission", "move", "1", "approve", "--by", "周审核", "--role", "auditor"])
    assert "已批准，第 1 次提交；期内记录已锁定" in r.output, r.output
    r = run(app, ["submission", "history", "1"])
    assert "周审核（审核人（评估专家））approve：已提交，待审核 → 已批准" in r.output, r.output
