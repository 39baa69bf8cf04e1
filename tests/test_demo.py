"""``tracker demo`` end to end (on the fixture specs, to stay quick) and ``tracker simulate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select
from typer.testing import CliRunner

from tracker.cli import _register, app
from tracker.db.connection import dispose_engines
from tracker.db.models import Person
from tracker.simulate import DEFAULT_AS_OF
from tracker.simulate.generate import generate_project
from tracker.workspace import open_workspace

_register()
SPECS = Path(__file__).resolve().parent / "fixtures" / "simulate"


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("TRACKER_SPECS", str(SPECS))
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.setenv("TRACKER_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")  # demo ignores it
    return tmp_path / "data"


@pytest.mark.slow
def test_demo_end_to_end_twice_identical(demo_env: Path) -> None:
    out = demo_env / "demo"
    r = CliRunner().invoke(app, ["demo"])
    assert r.exit_code == 0, r.output
    assert (demo_env / "demo.db").exists()
    for code in ("2099B001", "2099B003", "2099B010"):
        assert (out / f"{code}-midterm.pdf").stat().st_size > 1000
        assert (out / f"{code}-midterm.html").exists()
        assert str(out / f"{code}-midterm.pdf") in r.output
    assert (out / "portfolio-midterm.xlsx").exists() and (out / "portfolio-midterm.pdf").exists()
    # the Chinese summary table: one line per project with its status counts, and the totals
    assert "中期评估汇总（截至 2024-11-15）" in r.output
    for word in ("达标", "进度正常", "进度滞后", "未达标", "待评定", "合计"):
        assert word in r.output
    first = json.loads((out / "progress.json").read_text(encoding="utf-8"))
    line = next(x for x in r.output.splitlines() if x.startswith("2099B010"))
    statuses = [k["status"] for p in first if p["project"] == "2099B010" for k in p["kpis"]]
    counts = [statuses.count(s) for s in ("met", "on_track", "behind", "missed", "pending")]
    assert line.split()[-5:] == [str(c) for c in counts]
    # how to open the web application on it, with demo accounts that log in
    assert "tracker serve" in r.output and "http://127.0.0.1:8000/" in r.output
    assert "演示账号 demo_ngo（运营方（社会组织）" in r.output and "密码 demo-pass-2024" in r.output
    from tracker import accounts
    from tracker.workspace import open_workspace

    ws = open_workspace(f"sqlite:///{demo_env / 'demo.db'}", SPECS)
    p = accounts.log_in(ws, "demo_ngo", accounts.DEMO_PASSWORD, "127.0.0.1").principal
    assert accounts.visible_projects(ws, p) == ["2099B001"]

    dispose_engines()
    r2 = CliRunner().invoke(app, ["demo", "--no-pdf"])  # a fresh database again
    assert r2.exit_code == 0, r2.output
    second = json.loads((out / "progress.json").read_text(encoding="utf-8"))
    assert first == second
    assert {k["status"] for p in first for k in p["kpis"]} == {"met", "on_track", "behind", "missed", "pending"}


def test_demo_subset_and_as_of(demo_env: Path) -> None:
    out = demo_env / "sub"
    r = CliRunner().invoke(app, ["demo", "--projects", "2099B003", "--as-of", "2024-12-31", "--out", str(out),
                                 "--no-pdf"])
    assert r.exit_code == 0, r.output
    data = json.loads((out / "progress.json").read_text(encoding="utf-8"))
    assert [p["project"] for p in data] == ["2099B003"] and data[0]["as_of"] == "2024-12-31"
    assert (out / "2099B003-midterm.html").exists() and not (out / "2099B001-midterm.html").exists()
    bad = CliRunner().invoke(app, ["demo", "--as-of", "15/11/2024"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in str(bad.exception)


def test_simulate_scale_into_tracker_db_url(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_SPECS", str(SPECS))
    monkeypatch.setenv("TRACKER_DB_URL", db_url)
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    r = CliRunner().invoke(app, ["simulate", "--scale", "2", "--projects", "2099B001,2099B010"])
    assert r.exit_code == 0, r.output
    assert "规模 ×2" in r.output
    ws = open_workspace(db_url, SPECS)
    with ws.session() as s:
        n = dict(s.exec(select(Person.project_code, func.count()).group_by(Person.project_code)).all())
    assert n["2099B001"] == 2 * 120  # twice the stated roster, all enrolled in the first weeks
    # children are enrolled over the first half of the period: those enrolled by the date
    full = generate_project(ws.spec("2099B010"), scale=2)
    assert len(full.frames["roster"]) == 2 * 60
    assert n["2099B010"] == len(full.until(DEFAULT_AS_OF)["roster"])
    bad = CliRunner().invoke(app, ["simulate", "--scale", "0"])
    assert bad.exit_code != 0 and "--scale" in str(bad.exception)
