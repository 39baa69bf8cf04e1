"""The progress commands end to end (Typer runner) on both databases."""

from __future__ import annotations

import json

import pytest
from fixtures.engine.factory import CODE, SPECS, add, d, person, workspace
from typer.testing import CliRunner

from tracker.cli import _register, app
from tracker.records.privacy import mask_name as _mask_name

_register()


@pytest.fixture
def cli_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, db_url: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKER_SPECS", str(SPECS))
    ws = workspace(db_url)
    person(ws, "P1", name="张三")
    person(ws, "P2")
    add(ws, "activity", activity_type="visit", person_id="P1", date=d("2024-07-01"))
    add(ws, "activity", activity_type="lecture", participants=20, date=d("2024-07-02"))
    return ws


def run(*args: str):  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, (r.output, r.exception)
    return r.output


def test_progress_json_table_csv(cli_env) -> None:  # type: ignore[no-untyped-def]
    out = json.loads(run("progress", "--project", CODE, "--as-of", "2024-09-30", "--format", "json"))
    assert out["project"] == CODE and out["as_of"] == "2024-09-30"
    assert out["period"] == {"start": "2024-06-01", "end": "2025-03-31"}
    v = next(k for k in out["kpis"] if k["id"] == f"{CODE}.1.visits_total")
    assert {k: v[k] for k in ("clause", "kind", "comparator", "target", "unit", "actual", "status",
                              "violations")} == {"clause": 1, "kind": "count", "comparator": ">=",
                                                 "target": 100, "unit": "人次", "actual": 1,
                                                 "status": "behind", "violations": 0}
    assert v["expected"] == 41  # 100 × 122/304 = 40.13 人次, shown rounded up to a whole number
    assert v["forecast"] == 2  # 1 × 304/122 = 2.49 人次 at this pace, to the nearest whole number
    table = run("progress", "--project", CODE, "--as-of", "2024-09-30", "--violations")
    assert "探访人次" in table and "进度滞后" in table and "待评定" in table and "违规记录" in table
    assert "张三" not in table and _mask_name("张三") in table  # P1 is below 2 visits: listed, masked
    csv_out = run("progress", "--project", CODE, "--as-of", "2024-09-30", "--format", "csv")
    assert csv_out.splitlines()[0].startswith("project,as_of,id")
    assert len(csv_out.splitlines()) == 1 + len(out["kpis"])


def test_portfolio_explain_violations_judge(cli_env) -> None:  # type: ignore[no-untyped-def]
    pf = json.loads(run("portfolio", "--as-of", "2024-09-30", "--format", "json"))
    assert pf[0]["project"] == CODE and pf[0]["behind"] >= 1
    busy = json.loads(run("portfolio", "--as-of", "2024-07-31", "--format", "json"))
    assert busy[0]["silence"] is None  # records dated in July, the last elapsed month
    assert pf[0]["silence"] == "quiet_last_month"  # nothing dated in September
    prog = json.loads(run("progress", "--project", CODE, "--as-of", "2024-09-30", "--format", "json"))
    assert prog["silence"] == "quiet_last_month"
    assert "上个完整月份没有任何记录" in run("portfolio", "--as-of", "2024-09-30")
    assert "注意：上个完整月份没有任何记录" in run("progress", "--project", CODE, "--as-of", "2024-09-30")
    assert run("portfolio", "--as-of", "2024-09-30", "--format", "csv").splitlines()[1].endswith(",quiet_last_month")
    assert "进度滞后" in run("portfolio", "--as-of", "2024-09-30")
    sql = run("explain", f"{CODE}.1.big_lectures", "--as-of", "2024-09-30")
    assert "SELECT" in sql and "'2024-09-30'" in sql and "'lecture'" in sql and ">= 50" in sql
    viol = run("violations", "--project", CODE, "--kpi", f"{CODE}.1.big_lectures", "--as-of", "2024-09-30")
    assert "2024-07-02" in viol
    out = run("judge", f"{CODE}.5.rules", "--verdict", "met", "--evidence", "制度文本已核查", "--author", "审核员")
    assert "达标" in out
    after = json.loads(run("progress", "--project", CODE, "--as-of", "2024-09-30", "--format", "json"))
    assert next(k for k in after["kpis"] if k["id"] == f"{CODE}.5.rules")["status"] == "met"
    bad = CliRunner().invoke(app, ["judge", f"{CODE}.1.visits_total", "--verdict", "met",
                                   "--evidence", "x", "--author", "y"])
    assert bad.exit_code != 0 and "自动计算" in str(bad.exception)
