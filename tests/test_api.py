"""The front door: ``import tracker`` gives the documented API without loading the heavy parts, its
defaults are the ones the command line used to apply, and the command line prints what it returns."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "reports"))

import seed
from support import SPECS

import tracker

MID = dt.date(2024, 11, 15)


def test_import_tracker_is_cheap_and_every_name_resolves() -> None:
    code = ("import sys, tracker\n"
            "heavy = ['pandas', 'sqlalchemy', 'sqlmodel', 'pydantic', 'yaml', 'matplotlib', 'openpyxl', 'weasyprint']\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
    for name in tracker.__all__:
        assert getattr(tracker, name) is not None, name
    assert set(tracker.__all__) <= set(dir(tracker))
    with pytest.raises(AttributeError):
        tracker.no_such_thing  # noqa: B018


def test_defaults_progress_portfolio_and_shapes(db_url: str) -> None:
    ws = tracker.open_workspace(db_url, SPECS)
    assert isinstance(ws, tracker.Workspace)
    seed.seed(ws.engine)
    end = ws.spec(seed.CODE).project.period.end
    assert end < dt.date.today()  # the fixture's period is over: the default as-of date is its end
    assert tracker.default_as_of(ws, seed.CODE) == end
    assert tracker.default_as_of(ws, seed.CODE, MID) == MID

    p = tracker.progress(ws, seed.CODE, MID)
    assert p.as_of == MID
    assert tracker.progress(ws, seed.CODE).as_of == end
    j = tracker.progress_json(p)
    assert j == json.loads(json.dumps(p.to_json()))
    visits = next(k for k in j["kpis"] if k["id"] == "2099B001.2.visits_total")
    assert visits["actual"] == 99 and visits["status"] == "on_track"  # as in test_reports_portfolio

    rows = list(csv.DictReader(io.StringIO(tracker.progress_csv(p))))
    assert len(rows) == len(p.kpis)
    row = next(r for r in rows if r["id"] == "2099B001.2.visits_total")
    assert (row["project"], row["as_of"], row["actual"], row["status_label"]) == (seed.CODE, "2024-11-15", "99", "进度正常")

    ps = tracker.portfolio(ws, MID)
    assert [x.project for x in ps] and {x.project for x in ps} == set(ws.codes)
    pj = tracker.portfolio_json(ps)
    mine = next(r for r in pj if r["project"] == seed.CODE)
    assert mine["kpis"] == len(p.kpis) and mine["met"] == p.counts()["met"]
    pc = list(csv.DictReader(io.StringIO(tracker.portfolio_csv(ps))))
    assert [r["project"] for r in pc] == [r["project"] for r in pj]
    assert int(next(r for r in pc if r["project"] == seed.CODE)["behind"]) == p.counts()["behind"]
    # the portfolio caps each project to its period: a date after every period gives each its end
    late = tracker.portfolio(ws, dt.date(2030, 1, 1))
    assert {x.project: x.as_of for x in late} == {c: ws.spec(c).project.period.end for c in ws.codes}

    sql = tracker.kpi_sql(ws, "2099B001.2.visits_total", MID)
    assert "SELECT" in sql.upper() and "2099B001" in sql
    assert isinstance(tracker.violations(ws, seed.CODE, None, MID), list)


def test_cli_prints_what_the_library_returns(db_url: str, tmp_path: Path) -> None:
    ws = tracker.open_workspace(db_url, SPECS)
    seed.seed(ws.engine)
    env = {"TRACKER_DB_URL": db_url, "TRACKER_SPECS": str(SPECS), "TRACKER_DATA": str(tmp_path / "data"),
           "TRACKER_ID_KEY": "test-key-not-secret", "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True,
                              env=env, check=True, timeout=120).stdout

    p = tracker.progress(ws, seed.CODE, MID)
    assert cli("progress", "--project", seed.CODE, "--as-of", "2024-11-15", "--format", "csv") == tracker.progress_csv(p).replace("\r\n", "\n")
    got = json.loads(cli("progress", "--project", seed.CODE, "--as-of", "2024-11-15", "--format", "json",
                         "--violations"))
    assert got == tracker.progress_json(p, tracker.violations(ws, seed.CODE, None, MID))
    ps = tracker.portfolio(ws, MID)
    assert json.loads(cli("portfolio", "--as-of", "2024-11-15", "--format", "json")) == tracker.portfolio_json(ps)


def test_render_all_sets_a_failing_project_aside(db_url: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import tracker.reports.project as project

    ws = tracker.open_workspace(db_url, SPECS)
    seed.seed(ws.engine)
    real = project.render_project_report

    def fails_for_empty(ws, code, *a, **k):  # type: ignore[no-untyped-def]
        if code == seed.EMPTY:
            raise tracker.TrackerError("没有记录")
        return real(ws, code, *a, **k)

    monkeypatch.setattr(project, "render_project_report", fails_for_empty)
    seen: list[str] = []
    batch = tracker.render_all(ws, "midterm", tmp_path, as_of=MID, pdf=False,
                               on_done=lambda code, _f: seen.append(code),
                               on_error=lambda code, m: seen.append(f"!{code}:{m}"))
    assert seen == [seed.CODE, f"!{seed.EMPTY}:没有记录"]
    assert batch.files[seed.CODE].html == tmp_path / f"{seed.CODE}-midterm.html"
    assert batch.files[seed.CODE].html.exists()
    assert batch.portfolio is not None and batch.portfolio.xlsx.exists()
    assert batch.failed == {seed.EMPTY: "没有记录"}
    with pytest.raises(tracker.TrackerError, match=f"1 个项目的报告未能生成：{seed.EMPTY}：没有记录"):
        batch.raise_for_failures()


def test_render_all_in_worker_processes_writes_the_same_reports(db_url: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Two forked workers write the same HTML as one process, and the portfolio reuses their progress."""
    from tracker.reports import batch as reports_batch

    ws = tracker.open_workspace(db_url, SPECS)
    seed.seed(ws.engine)
    one = tracker.render_all(ws, "midterm", tmp_path / "one", as_of=MID, pdf=False, workers=1)
    seen: list[str] = []
    two = tracker.render_all(ws, "midterm", tmp_path / "two", as_of=MID, pdf=False, workers=2,
                             on_done=lambda code, _f: seen.append(code))
    assert sorted(seen) == sorted(ws.codes) and not two.failed
    for code in ws.codes:
        assert one.files[code].html.read_bytes() == two.files[code].html.read_bytes(), code
    assert two.portfolio is not None and two.portfolio.xlsx.exists()
    monkeypatch.setenv("TRACKER_REPORT_WORKERS", "两个")
    with pytest.raises(tracker.TrackerError, match="TRACKER_REPORT_WORKERS 应为正整数"):
        reports_batch.workers_for(43, True, db_url)
    monkeypatch.setenv("TRACKER_REPORT_WORKERS", "3")
    assert reports_batch.workers_for(43, True, db_url) == 3
    assert reports_batch.workers_for(43, True, "sqlite://") == 1  # an in-memory database stays in one process


def test_removing_a_contact_checks_role_and_name(db_url: str) -> None:
    from tracker.scheduling.contacts import add_contact, list_contacts, remove_contact

    ws = tracker.open_workspace(db_url, SPECS)
    add_contact(ws, seed.CODE, "ngo", "王小明", "wang@example.org", MID)
    with pytest.raises(tracker.TrackerError, match="角色或姓名与登记的不一致"):
        remove_contact(ws, seed.CODE, "wang@example.org", role="bureau")
    with pytest.raises(tracker.TrackerError, match="角色或姓名与登记的不一致"):
        remove_contact(ws, seed.CODE, "wang@example.org", name="李四")
    assert [c.email for c in list_contacts(ws, seed.CODE)] == ["wang@example.org"]
    assert remove_contact(ws, seed.CODE, "Wang@Example.org", role="ngo", name=" 王小明 ") == (1, 0)
    assert list_contacts(ws, seed.CODE) == []


def test_log_record_enters_one_row_as_the_current_user(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlmodel import select

    from tracker.db.models import Activity

    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.setenv("TRACKER_USER", "张三")
    assert tracker.current_user() == "张三"
    ws = tracker.open_workspace(db_url, SPECS)
    r = tracker.log_record(ws, seed.CODE, "activity",
                           {"日期": "2024-07-01", "活动类型": "志愿者培训", "参与人数": "3", "时长": "2"})
    assert r.imported == 1 and not r.invalid
    with ws.session() as s:
        rows = s.exec(select(Activity).where(Activity.project_code == seed.CODE)).all()
    assert len(rows) == 1 and rows[0].entered_by == "张三"


def test_log_record_refuses_a_field_the_kind_does_not_have(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.api import FieldError, check_fields

    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    check_fields("activity", {"staff": "王芳", "日期": "2024-07-01"})  # a key and a Chinese label
    with pytest.raises(FieldError) as e:
        check_fields("activity", {"stafff": "王芳"})
    assert (e.value.name, e.value.suggestion) == ("stafff", "staff") and "是否想写 “staff”" in str(e.value)
    with pytest.raises(FieldError) as e:
        check_fields("activity", {})
    assert e.value.name is None and "请给出要登记的字段" in str(e.value)
    ws = tracker.open_workspace(db_url, SPECS)
    with pytest.raises(FieldError, match="活动记录没有字段 “参与人"):
        tracker.log_record(ws, seed.CODE, "activity", {"日期": "2024-07-01", "活动类型": "志愿者培训", "参与人": "3"})
    assert tracker.progress(ws, seed.CODE, dt.date(2024, 9, 30)).kpis  # nothing written, nothing broken
