"""The portfolio report: the XLSX opens with the expected sheets, headers, formats and the engine's
values; the PDF has the table and both charts; the CLI writes every file docs/contracts.md §5 names."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "reports"))

import seed
from support import SPECS, render_warnings_fail  # noqa: F401

from tracker.measure.progress import compute_progress
from tracker.reports import render_portfolio
from tracker.workspace import open_workspace

MID = dt.date(2024, 11, 15)


def test_portfolio_xlsx_and_pdf(db_url: str, tmp_path: Path) -> None:
    ws = open_workspace(db_url, SPECS)
    seed.seed(ws.engine)
    files = render_portfolio(ws, "midterm", None, tmp_path)
    assert files.xlsx == tmp_path / "portfolio-midterm.xlsx" and files.pdf == tmp_path / "portfolio-midterm.pdf"
    wb = load_workbook(files.xlsx)
    assert wb.sheetnames == ["汇总", "2099B001", "2099B002", "说明"]
    s = wb["汇总"]
    head = [c.value for c in s[1]]
    assert head[:8] == ["项目编号", "项目名称", "项目类别", "实施区域", "资助金额（万元）", "统计截至", "指标数", "达标"]
    assert s.freeze_panes == "B2"
    assert s.column_dimensions["B"].width == 36
    rows = {r[0]: dict(zip(head, r, strict=True)) for r in s.iter_rows(min_row=2, values_only=True)}
    full = compute_progress(ws, seed.CODE, MID).counts()
    r = rows[seed.CODE]
    assert (r["达标"], r["进度正常"], r["进度滞后"], r["未达标"], r["待评定"]) == (
        full["met"], full["on_track"], full["behind"], full["missed"], full["pending"])
    assert r["资助金额（万元）"] == 30 and r["实施区域"] == "建德市、淳安县"
    assert r["支出（元）"] == pytest.approx(23000.5)
    assert r["执行率"] == pytest.approx(23000.5 / 300000)
    assert r["达标占比"] == pytest.approx(full["met"] / 9)
    assert r["条款达标"] == "1/6" and r["按终期规则预评"] == "不合格"
    assert s.cell(row=2, column=head.index("执行率") + 1).number_format == "0.0%"
    assert rows[seed.EMPTY]["执行率"] is None
    p = wb[seed.CODE]
    assert [c.value for c in p[1]][:3] == ["条款", "指标编号", "指标"] and p.freeze_panes == "B2"
    kpis = {row[1]: row for row in p.iter_rows(min_row=2, values_only=True)}
    total = kpis["2099B001.2.visits_total"]
    assert (total[5], total[7], total[11]) == (200, 99, "进度正常")
    text = subprocess.run(["pdftotext", "-layout", str(files.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "公益创投项目中期汇总" in text and "测试农村老人探访项目" in text and "2099B002" in text
    images = subprocess.run(["pdfimages", "-list", str(files.pdf)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    images = [line for line in images if line.split()[2] == "image"]  # not the alpha masks
    assert len(images) == 2


def test_cli_report_all_and_note(env: dict[str, str], db_url: str, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from tracker.cli import _register, app

    monkeypatch.setenv("TRACKER_SPECS", str(SPECS))
    ws = open_workspace(db_url, SPECS)
    seed.seed(ws.engine)
    _register()
    runner = CliRunner()
    res = runner.invoke(app, ["note", "--project", seed.CODE, "--kpi", "trainings", "--topic", "reason",
                              "--text", "汛期停训两个月", "--author", "王社工"])
    assert res.exit_code == 0, res.output
    assert "已记录未完成原因（指标 2099B001.3.trainings，王社工）" in res.output
    out = tmp_path / "out"
    res = runner.invoke(app, ["report", "midterm", "--all", "--out", str(out),
                              "--as-known-on", "2024-11-15"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == [
        "2099B001-midterm.html", "2099B001-midterm.pdf", "2099B002-midterm.html", "2099B002-midterm.pdf",
        "portfolio-midterm.pdf", "portfolio-midterm.xlsx"]
    html = (out / "2099B001-midterm.html").read_text("utf-8")
    assert "按 2024-11-15 已录入的记录计算" in html
    # The note was recorded today, after 2024-11-15: not in a report as known on that date …
    assert "汛期停训两个月" not in html
    res = runner.invoke(app, ["report", "final", "--project", seed.CODE, "--out", str(out), "--as-of", "2025-03-31"])
    assert res.exit_code == 0, res.output
    assert "汛期停训两个月" in (out / "2099B001-final.html").read_text("utf-8")  # … but in today's


def test_cli_errors_are_chinese_and_exit_1(env: dict[str, str], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_SPECS", str(SPECS))
    exe = Path(sys.executable).with_name("tracker")
    cases = [
        (["report", "midterm", "--out", str(tmp_path)], "请用 --project 指定一个项目，或用 --all"),
        (["report", "midterm", "--project", "2099B009", "--out", str(tmp_path)], "未找到项目 2099B009"),
        (["report", "interim", "--project", seed.CODE, "--out", str(tmp_path)], "只能是 midterm"),
        (["report", "final", "--project", seed.CODE, "--as-of", "2025-02-30", "--out", str(tmp_path)], "YYYY-MM-DD"),
        (["note", "--project", seed.CODE, "--topic", "why", "--text", "x", "--author", "a"], "topic 只能是"),
    ]
    for args, msg in cases:
        r = subprocess.run([str(exe), *args], capture_output=True, text=True, env=os.environ.copy())
        assert r.returncode == 1, (args, r.stderr)
        assert r.stderr.startswith("错误：") and msg in r.stderr, r.stderr
