"""``tracker schedule run`` starts, registers fixed jobs in the job store (no copies on restart),
refuses a second scheduler, and stops cleanly on SIGTERM; the jobs' triggers carry Asia/Shanghai and
the misfire settings; ``tracker schedule status`` and ``tracker contacts`` work from the command line."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from schedule_support import P1, P2, SENDER, SPECS, LoopbackSmtp, d
from sqlalchemy import text
from typer.testing import CliRunner

from tracker.cli import _register, app
from tracker.scheduling.service import JOBS_TABLE, MISFIRE_GRACE, build_scheduler
from tracker.scheduling.settings import ScheduleSettings
from tracker.workspace import open_workspace

EXE = str(Path(sys.executable).parent / "tracker")
P3 = "2099D903"


def _specs_with_a_current_project(tmp_path: Path) -> tuple[Path, dt.date, dt.date, dt.date]:
    """The fixture specs plus P3, running now (its dates follow today's date)."""
    today = dt.date.today()
    start = (today.replace(day=1) - dt.timedelta(days=40)).replace(day=1)
    end = (start + dt.timedelta(days=370)).replace(day=1) - dt.timedelta(days=1)
    midterm = today + dt.timedelta(days=30)
    specs = tmp_path / "specs"
    specs.mkdir()
    for f in SPECS.glob("*.yaml"):
        (specs / f.name).write_text(f.read_text("utf-8"), "utf-8")
    text_ = (SPECS / "D901.yaml").read_text("utf-8").replace(P1, P3).replace(
        "start: 2024-06-01, end: 2025-03-31", f"start: {start}, end: {end}").replace(
        "midterm: 2024-11-15", f"midterm: {midterm}")
    (specs / "D903.yaml").write_text(text_, "utf-8")
    return specs, start, end, midterm


def _env(db_url: str, specs: Path, tmp_path: Path, smtp: LoopbackSmtp | None = None) -> dict[str, str]:
    env = {**os.environ, "TRACKER_DB_URL": db_url, "TRACKER_SPECS": str(specs),
           "TRACKER_DATA": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("TRACKER_SMTP_HOST", None)
    if smtp is not None:
        env.update({"TRACKER_SMTP_HOST": "127.0.0.1", "TRACKER_SMTP_PORT": str(smtp.port),
                    "TRACKER_SMTP_SECURITY": "none", "TRACKER_SMTP_SENDER": SENDER})
    return env


def _stored_ids(db_url: str) -> list[str]:
    ws = open_workspace(db_url, SPECS)
    with ws.engine.connect() as c:
        return [r[0] for r in c.execute(text(f"SELECT id FROM {JOBS_TABLE} ORDER BY id"))]


def test_run_once_keeps_fixed_job_ids_across_restarts(db_url: str, tmp_path: Path) -> None:
    specs, *_ = _specs_with_a_current_project(tmp_path)
    env = _env(db_url, specs, tmp_path)
    expected = sorted(["digest", "sweep", f"monthly:{P3}", f"midterm:{P3}", f"final:{P3}"])
    for _ in range(3):
        out = subprocess.run([EXE, "schedule", "run", "--once"], env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        assert "调度器已启动：5 个任务" in out.stdout and "调度器已停止" in out.stdout
        assert _stored_ids(db_url) == expected  # P1 and P2 ended in 2025: no jobs of theirs
    # A project whose spec is gone loses its jobs at the next start.
    (specs / "D903.yaml").unlink()
    out = subprocess.run([EXE, "schedule", "run", "--once"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert _stored_ids(db_url) == ["digest", "sweep"]


def test_sigterm_stops_cleanly_and_a_second_scheduler_is_refused(db_url: str, tmp_path: Path) -> None:
    specs, *_ = _specs_with_a_current_project(tmp_path)
    env = _env(db_url, specs, tmp_path)
    proc = subprocess.Popen([EXE, "schedule", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            if "调度器已启动" in line or not line:
                break
        assert any("调度器已启动" in x for x in lines), (lines, proc.stderr.read() if proc.poll() else "")  # type: ignore[union-attr]
        second = subprocess.run([EXE, "schedule", "run", "--once"], env=env, capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 1
        assert "另一个调度器已在运行" in second.stderr
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "调度器已停止" in out
    # the lock is released: a new scheduler starts
    again = subprocess.run([EXE, "schedule", "run", "--once"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr


def test_jobs_use_shanghai_time_and_long_misfire_grace(tmp_path: Path) -> None:
    specs, _start, end, midterm = _specs_with_a_current_project(tmp_path)
    ws = open_workspace(f"sqlite:///{tmp_path / 't.db'}", specs)
    sched = build_scheduler(ws, ScheduleSettings(day=3, hour=9, minute=30))
    jobs = {j.id: j for j in sched.get_jobs()}
    shanghai = ZoneInfo("Asia/Shanghai")
    assert str(sched.timezone) == "Asia/Shanghai"
    for j in jobs.values():
        tz = j.trigger.run_date.tzinfo if hasattr(j.trigger, "run_date") else j.trigger.timezone
        assert str(tz) == "Asia/Shanghai"
        assert (j.misfire_grace_time, j.coalesce, j.max_instances) == (MISFIRE_GRACE, True, 1)
        assert j.func_ref.startswith("tracker.scheduling.jobs:")
    after = dt.datetime(2030, 1, 15, 12, 0, tzinfo=shanghai)
    nxt = jobs[f"monthly:{P3}"].trigger.get_next_fire_time(None, after)
    assert nxt == dt.datetime(2030, 2, 3, 9, 30, tzinfo=shanghai) and nxt.utcoffset() == dt.timedelta(hours=8)
    assert jobs[f"midterm:{P3}"].trigger.run_date == dt.datetime.combine(midterm, dt.time(9, 30), shanghai)
    assert jobs[f"final:{P3}"].trigger.run_date == dt.datetime.combine(end + dt.timedelta(days=1),
                                                                     dt.time(9, 30), shanghai)
    assert jobs[f"monthly:{P3}"].args == (P3,)


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for k, v in _env(db_url, SPECS, tmp_path).items():
        if k.startswith("TRACKER_"):
            monkeypatch.setenv(k, v)
    monkeypatch.delenv("TRACKER_SMTP_HOST", raising=False)
    _register()
    return db_url


def test_contacts_and_status_commands(cli_env: str) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["contacts", "add", "--project", P1, "--role", "ngo", "--name", "王小明",
                            "--email", "Wang@Example.org", "--since", "2024-06-01"])
    assert r.exit_code == 0, r.output
    assert "王** <wang@example.org>" in r.output and "王小明" not in r.output
    r = runner.invoke(app, ["contacts", "add", "--project", P2, "--role", "partner", "--name", "某", "--email",
                            "x@example.org"])
    assert r.exit_code != 0 and "角色 “partner” 无效" in str(r.exception)
    r = runner.invoke(app, ["contacts", "add", "--project", "2099D999", "--role", "ngo", "--name", "某",
                            "--email", "x@example.org"])
    assert r.exit_code != 0 and "未找到项目 2099D999" in str(r.exception)
    r = runner.invoke(app, ["contacts", "list"])
    assert f"#1  {P1}" in r.output and "王**" in r.output
    r = runner.invoke(app, ["schedule", "tick", "--as-of", "2024-09-01", "--plan-only"])
    assert r.exit_code == 0, r.output
    assert "发件箱待发送 3 封" in r.output  # June, July, August for P1
    r = runner.invoke(app, ["schedule", "status", "--as-of", "2024-09-01"])
    assert r.exit_code == 0, r.output
    assert "发件箱：待发送 3，发送中 0，已发送 0" in r.output
    assert f"2024-10-01  月度进度  {P1}  2024年9月" in r.output
    r = runner.invoke(app, ["contacts", "remove", "--project", P1, "--email", "wang@example.org"])
    assert "取消其未发送的邮件 3 封" in r.output
    assert d("2024-09-01")  # (dates above are the fixture's, worked out by hand)


def test_tick_command_sends_and_reports(cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    smtp = LoopbackSmtp()
    smtp.start()
    try:
        for k, v in _env(cli_env, SPECS, tmp_path, smtp).items():
            if k.startswith("TRACKER_SMTP"):
                monkeypatch.setenv(k, v)
        runner = CliRunner()
        runner.invoke(app, ["contacts", "add", "--project", P2, "--role", "ngo", "--name", "陈明", "--email",
                            "p2@example.org", "--since", "2024-09-01"])
        r = runner.invoke(app, ["schedule", "tick", "--as-of", "2024-10-01"])
        assert r.exit_code == 0, r.output
        assert f"已发送  p2@example.org  【公益创投进度】{P2} 困境儿童陪伴项目（测试区）2024年9月" in r.output
        assert "本次发送 1 封，失败 0 封" in r.output
        r = runner.invoke(app, ["schedule", "tick", "--as-of", "2024-10-01"])
        assert "本次发送 0 封" in r.output and len(smtp.received) == 1
        r = runner.invoke(app, ["schedule", "tick", "--as-of", "2024-13-01"])
        assert r.exit_code != 0 and "“2024-13-01” 不是日期" in str(r.exception)
    finally:
        smtp.stop()


def test_tick_report_counts_this_run_and_the_outbox(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Planned but not sent: nothing sent or failed this run, the one email owed, and no SMTP
    configured is said only when something was to be sent."""
    from tracker.scheduling.contacts import add_contact
    from tracker.scheduling.tick import tick_report

    monkeypatch.delenv("TRACKER_SMTP_HOST", raising=False)
    ws = open_workspace(db_url, SPECS)
    add_contact(ws, P2, "ngo", "陈明", "p2@example.org", d("2024-09-01"))
    plan = tick_report(ws, d("2024-10-01"), send=False)
    assert (plan.sent, plan.failed, plan.owed, plan.sent_total, plan.smtp_missing) == ([], [], 1, 0, False)
    owed = tick_report(ws, d("2024-10-01"))  # no SMTP server configured: it stays owed
    assert (owed.sent, owed.owed, owed.sent_total, owed.smtp_missing) == ([], 1, 0, True)
