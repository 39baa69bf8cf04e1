"""The outbox's promises, against a real SMTP server on loopback, on SQLite and PostgreSQL: nothing
twice (re-run, two threads, two processes), nothing missing (catch-up after downtime, SMTP down then
up, backoff), in order, and one failing project or recipient never stops the others.

Worked out by hand for the fixture projects (contacts from the start): by 2024-11-01 P1
(2024-06..2025-03) owes the monthly emails for June–October (sent 07-01 … 11-01) and P2
(2024-09..2025-02) those for September and October: 7 messages; the mid-term (P1: 11-15) is not due.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from schedule_support import FAST, P1, P2, SENDER, SPECS, LoopbackSmtp, d, keys
from sqlmodel import Session, select

import tracker.reports
from tracker.db.outbox import Outbox
from tracker.scheduling.contacts import add_contact, remove_contact
from tracker.scheduling.settings import ScheduleSettings
from tracker.scheduling.tick import plan, tick
from tracker.workspace import Workspace, open_workspace

P1_NAME, P2_NAME = "农村困难老人探访项目（测试县）", "困境儿童陪伴项目（测试区）"


def subj(code: str, month: str) -> str:
    return f"【公益创投进度】{code} {P1_NAME if code == P1 else P2_NAME}{month}"


EXPECTED_NOV1 = [  # (recipient, subject) in send order: oldest send date first
    ("a@example.org", subj(P1, "2024年6月")),
    ("a@example.org", subj(P1, "2024年7月")),
    ("a@example.org", subj(P1, "2024年8月")),
    ("a@example.org", subj(P1, "2024年9月")),
    ("b@example.org", subj(P2, "2024年9月")),
    ("a@example.org", subj(P1, "2024年10月")),
    ("b@example.org", subj(P2, "2024年10月")),
]


@pytest.fixture
def ws(db_url: str) -> Workspace:
    w = open_workspace(db_url, SPECS)
    add_contact(w, P1, "ngo", "张三", "a@example.org", since=d("2024-06-01"))
    add_contact(w, P2, "ngo", "欧阳娜娜", "b@example.org", since=d("2024-09-01"))
    return w


def outbox(ws: Workspace) -> list[Outbox]:
    with Session(ws.engine) as s:
        return list(s.exec(select(Outbox).order_by(Outbox.send_on, Outbox.id)).all())  # type: ignore[arg-type]


def test_repeated_tick_sends_nothing_twice(ws: Workspace, smtp: LoopbackSmtp) -> None:
    assert plan(ws, d("2024-11-01"), FAST) == 7
    assert plan(ws, d("2024-11-01"), FAST) == 0  # the UNIQUE key: planning again inserts nothing
    first = tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=FAST)
    assert [r.state for r in first] == ["sent"] * 7
    assert keys(smtp) == EXPECTED_NOV1
    assert tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=FAST) == []
    assert tick(ws, d("2024-11-14"), smtp=smtp.settings(), settings=FAST) == []
    assert len(smtp.received) == 7
    rows = outbox(ws)
    assert len(rows) == 7 and {r.state for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
    assert all(r.message_id and r.sent_at for r in rows)


def test_two_ticks_racing_in_threads(ws: Workspace, smtp: LoopbackSmtp) -> None:
    barrier = threading.Barrier(2)
    results: list[list] = [[], []]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=FAST)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    got = keys(smtp)
    assert sorted(got) == sorted(EXPECTED_NOV1)  # every message once, whoever sent it
    assert len(results[0]) + len(results[1]) == 7
    # each recipient's months still arrive in order
    for who in ("a@example.org", "b@example.org"):
        assert [s for r, s in got if r == who] == [s for r, s in EXPECTED_NOV1 if r == who]


def test_two_ticks_racing_in_processes(ws: Workspace, smtp: LoopbackSmtp, db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TRACKER_DB_URL": db_url, "TRACKER_SPECS": str(SPECS),
           "TRACKER_DATA": str(tmp_path / "data"), "TRACKER_SMTP_HOST": "127.0.0.1",
           "TRACKER_SMTP_PORT": str(smtp.port), "TRACKER_SMTP_SECURITY": "none",
           "TRACKER_SMTP_SENDER": SENDER, "TRACKER_RETRY_BASE": "0"}
    exe = str(Path(sys.executable).parent / "tracker")
    procs = [subprocess.Popen([exe, "schedule", "tick", "--as-of", "2024-11-01"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(keys(smtp)) == sorted(EXPECTED_NOV1)
    assert sum(o.count("已发送  ") for o, _ in outs) == 7


def test_catch_up_after_three_months_down(ws: Workspace, smtp: LoopbackSmtp) -> None:
    tick(ws, d("2024-08-01"), smtp=smtp.settings(), settings=FAST)
    assert keys(smtp) == EXPECTED_NOV1[:2]
    # Down from 2024-08-02 to 2024-11-05: August, September and October were missed for P1.
    caught = tick(ws, d("2024-11-05"), smtp=smtp.settings(), settings=FAST)
    assert [(r.project_code, r.period) for r in caught] == [
        (P1, "2024-08"), (P1, "2024-09"), (P2, "2024-09"), (P1, "2024-10"), (P2, "2024-10")]
    assert keys(smtp) == EXPECTED_NOV1
    assert [s for r, s in keys(smtp) if r == "a@example.org"][2:] == [
        subj(P1, "2024年8月"), subj(P1, "2024年9月"), subj(P1, "2024年10月")]
    assert tick(ws, d("2024-11-05"), smtp=smtp.settings(), settings=FAST) == []
    assert Counter(keys(smtp)).most_common(1)[0][1] == 1


def test_smtp_down_then_up_delivers_everything_once(ws: Workspace, smtp: LoopbackSmtp) -> None:
    smtp.stop()
    failed = tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=FAST)
    # The first message fails to connect; the tick stops trying (the server is down) and records it.
    assert [(r.state, r.attempts) for r in failed] == [("retry", 1)]
    assert "无法连接邮件服务器" in (failed[0].last_error or "")
    states = Counter(r.state for r in outbox(ws))
    assert states == {"retry": 1, "pending": 6}
    smtp.start()
    sent = tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=FAST)
    assert [r.state for r in sent] == ["sent"] * 7
    assert keys(smtp) == EXPECTED_NOV1
    assert tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=FAST) == []
    first = outbox(ws)[0]
    assert (first.period, first.attempts, first.state, first.last_error) == ("2024-06", 2, "sent", None)


def test_backoff_doubles_and_later_months_wait_in_order(ws: Workspace, smtp: LoopbackSmtp) -> None:
    slow = ScheduleSettings(retry_base=300.0)
    t0 = dt.datetime(2024, 11, 1, 1, 0, tzinfo=dt.UTC)
    smtp.stop()
    tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=slow, now=t0)
    tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=slow, now=t0 + dt.timedelta(seconds=301))
    row = outbox(ws)[0]
    assert (row.attempts, row.state) == (2, "retry")
    assert row.next_attempt_at == t0 + dt.timedelta(seconds=301 + 600)  # 300 s, then 600 s
    smtp.start()
    # Before the backoff has passed: P1's June (and so its later months) waits; P2 goes.
    tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=slow, now=t0 + dt.timedelta(seconds=400))
    assert keys(smtp) == [k for k in EXPECTED_NOV1 if k[0] == "b@example.org"]
    tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=slow, now=t0 + dt.timedelta(seconds=902))
    assert [k for k in keys(smtp) if k[0] == "a@example.org"] == [k for k in EXPECTED_NOV1 if k[0] == "a@example.org"]
    assert len(smtp.received) == 7


def test_retries_stop_after_the_maximum_and_can_be_requeued(ws: Workspace, smtp: LoopbackSmtp) -> None:
    from tracker.scheduling.status import requeue_failed

    two = ScheduleSettings(retry_base=0.0, retry_max=2)
    smtp.stop()
    tick(ws, d("2024-07-01"), smtp=smtp.settings(), settings=two)
    tick(ws, d("2024-07-01"), smtp=smtp.settings(), settings=two)
    assert [(r.state, r.attempts) for r in outbox(ws)] == [("failed", 2)]
    smtp.start()
    assert tick(ws, d("2024-07-01"), smtp=smtp.settings(), settings=two) == []  # failed is not retried
    assert requeue_failed(ws) == 1
    assert [r.state for r in tick(ws, d("2024-07-01"), smtp=smtp.settings(), settings=two)] == ["sent"]


def test_one_failing_project_does_not_stop_the_others(ws: Workspace, smtp: LoopbackSmtp,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real = tracker.reports.render_project_report

    def broken(ws_, code, *a, **k):  # type: ignore[no-untyped-def]
        if code == P1:
            raise RuntimeError("报告模板出错")
        return real(ws_, code, *a, **k)

    monkeypatch.setattr(tracker.reports, "render_project_report", broken)
    rows = tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=FAST)
    assert keys(smtp) == [k for k in EXPECTED_NOV1 if k[0] == "b@example.org"]
    bad = [r for r in rows if r.project_code == P1]
    assert [(r.period, r.state) for r in bad] == [("2024-06", "retry")]
    assert "报告模板出错" in (bad[0].last_error or "")
    monkeypatch.setattr(tracker.reports, "render_project_report", real)
    tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=FAST)
    assert [k for k in keys(smtp) if k[0] == "a@example.org"] == [k for k in EXPECTED_NOV1 if k[0] == "a@example.org"]
    assert len(smtp.received) == 7


def test_refused_recipient_is_retried_and_others_go(ws: Workspace, smtp: LoopbackSmtp) -> None:
    add_contact(ws, P2, "bureau", "孙七", "refuse-me@example.org", since=d("2024-09-01"))
    rows = tick(ws, d("2024-10-01"), smtp=smtp.settings(), settings=FAST)
    by = {(r.recipient, r.period): r for r in rows}
    assert by[("refuse-me@example.org", "2024-09")].state == "retry"
    assert "收件人被拒绝" in (by[("refuse-me@example.org", "2024-09")].last_error or "")
    assert sorted(keys(smtp)) == sorted(EXPECTED_NOV1[:5])


def test_new_contact_gets_only_the_latest_backlog_and_removed_one_nothing(ws: Workspace,
                                                                          smtp: LoopbackSmtp) -> None:
    add_contact(ws, P1, "bureau", "李四", "late@example.org", since=d("2024-10-15"))
    tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=FAST, send=False)  # planned, not sent
    assert remove_contact(ws, P2, "b@example.org") == (1, 2)
    tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=FAST)
    got = keys(smtp)
    assert [s for r, s in got if r == "late@example.org"] == [subj(P1, "2024年10月")]
    assert not [s for r, s in got if r == "b@example.org"]
    assert len([s for r, s in got if r == "a@example.org"]) == 5
    assert Counter(r.state for r in outbox(ws)) == {"sent": 6, "cancelled": 2}
