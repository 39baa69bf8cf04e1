"""The command line: import (summary, exit status, errors on stderr), template, log, amend, void."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, ROSTER, SPECS, counts, workspace, write_csv

from tracker.db.models import Activity, Correction

TRACKER = Path(sys.executable).parent / "tracker"


@pytest.fixture
def cli_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("TRACKER_SPECS", str(SPECS))
    return {**os.environ, **env, "TRACKER_SPECS": str(SPECS)}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TRACKER), *args], env=env, capture_output=True, text=True, timeout=120)


def test_import_summary_errors_and_exit_status(cli_env: dict[str, str], tmp_path: Path, db_url: str) -> None:
    roster = write_csv(tmp_path / "roster.csv", ROSTER)
    r = run(cli_env, "import", str(roster), "--project", CODE)
    assert r.returncode == 0, r.stderr
    assert "新增 3 条，未变化 0 条，无效 0 条" in r.stdout
    bad = write_csv(tmp_path / "acts.csv", [["日期", "活动类型", "服务对象编号", "参与人数"],
                                            ["2024-07-01", "上门探访", "P001", ""],
                                            ["2024-07-02", "培训", "", "-5"]])
    r = run(cli_env, "import", str(bad), "--project", CODE)
    assert r.returncode == 1
    assert "第3行 [参与人数] 不能为负数（填写的是 -5）" in r.stderr and "错误：" in r.stderr
    assert (tmp_path / "acts.错误说明.csv").exists()
    ws = workspace(db_url)
    assert counts(ws)["activity"] == 0
    r = run(cli_env, "import", str(bad), "--project", CODE, "--dry-run", "--skip-invalid")
    assert "试运行" in r.stdout and counts(ws)["activity"] == 0
    r = run(cli_env, "import", str(bad), "--project", CODE, "--skip-invalid", "--error-file", str(tmp_path / "e.xlsx"))
    assert r.returncode == 0 and "新增 1 条，未变化 0 条，无效 1 条" in r.stdout
    assert (tmp_path / "e.xlsx").exists()
    r = run(cli_env, "import", str(tmp_path / "missing.csv"), "--project", CODE)
    assert r.returncode == 1 and "错误：找不到文件" in r.stderr


def test_template_has_dropdowns_and_reimports_after_filling(cli_env: dict[str, str], tmp_path: Path,
                                                             db_url: str) -> None:
    assert run(cli_env, "import", str(write_csv(tmp_path / "r.csv", ROSTER)), "--project", CODE).returncode == 0
    out = tmp_path / "tpl.xlsx"
    r = run(cli_env, "template", "--project", CODE, "--kind", "activity", "--out", str(out))
    assert r.returncode == 0, r.stderr
    wb = load_workbook(out)
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[:5] == ["记录编号", "日期", "活动类型", "服务对象编号", "参与人数"] and "时长（小时）" in headers
    assert "说明" in wb.sheetnames
    lists = wb["选项"]
    dvs = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    type_dv = dvs["C2"]
    assert type_dv.type == "list"
    _sheet, rng = type_dv.formula1.split("!")
    values = [c.value for row in lists[rng.replace("$", "")] for c in row]
    assert values == ["上门探访", "课业辅导", "培训"]
    level_col = headers.index("级别") + 1
    level_dv = next(dv for dv in ws.data_validations.dataValidation
                    if str(dv.sqref).startswith(f"{ws.cell(row=2, column=level_col).column_letter}2"))
    assert [c.value for row in lists[level_dv.formula1.split("!")[1].replace("$", "")] for c in row] == [
        "区县", "市级", "省级", "国家级"]
    assert ws["B3"].number_format == "yyyy-mm-dd" and ws["D3"].number_format == "@"
    assert str(ws["A2"].value).startswith("示例")  # the example row
    # fill two rows and import the file as it is
    import datetime as dt

    ws.append(["K1", dt.date(2024, 7, 1), "上门探访", "P001"])
    ws.append(["K2", dt.date(2024, 7, 2), "培训", None, 25])
    wb.save(out)
    r = run(cli_env, "import", str(out), "--project", CODE)
    assert r.returncode == 0, r.stderr
    assert "新增 2 条，未变化 0 条，无效 0 条" in r.stdout
    with workspace(db_url).session() as s:
        assert sorted(s.execute(select(Activity.record_id)).scalars()) == ["K1", "K2"]


@pytest.mark.parametrize("kind", ["roster", "survey", "deliverable", "approval", "incident", "staff", "credential",
                                  "assessment", "expense"])
def test_template_for_every_kind(cli_env: dict[str, str], tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.xlsx"
    r = run(cli_env, "template", "--project", CODE, "--kind", kind, "--out", str(out))
    assert r.returncode == 0, r.stderr
    wb = load_workbook(out)
    assert wb.worksheets[0]["A1"].value and wb["说明"]["A1"].value.startswith(CODE)


def test_log_amend_void(cli_env: dict[str, str], tmp_path: Path, db_url: str) -> None:
    assert run(cli_env, "import", str(write_csv(tmp_path / "r.csv", ROSTER)), "--project", CODE).returncode == 0
    r = run(cli_env, "log", "activity", "--project", CODE, "--record-id", "L1", "--date", "2024-07-01",
            "--activity", "培训", "--participants", "12", "--by", "王五")
    assert r.returncode == 0 and "已登记 1 条活动记录" in r.stdout, r.stderr
    r = run(cli_env, "log", "activity", "--project", CODE, "--日期", "2024-07-03", "--活动类型", "上门探访",
            "--服务对象编号", "P404")
    assert r.returncode == 1 and "[服务对象编号]" in r.stderr
    r = run(cli_env, "log", "expense", "--project", CODE, "--date", "2024-07-31", "--category", "人员经费",
            "--amount", "100")
    assert r.returncode == 0, r.stderr
    r = run(cli_env, "amend", "--project", CODE, "--kind", "activity", "--record-id", "L1", "--set", "参与人数=15",
            "--reason", "复核签到表", "--author", "王五")
    assert r.returncode == 0, r.stderr
    assert "已更正库内编号 1（新版本库内编号 2）：参与人数：“12” → “15”" in r.stdout  # what changed
    r = run(cli_env, "void", "--project", CODE, "--kind", "activity", "--record-id", "L1", "--reason", "重复",
            "--author", "王五")
    assert r.returncode == 0, r.stderr
    assert "已作废库内编号 2：记录编号=L1，日期=2024-07-01，活动类型=培训，参与人数=15" in r.stdout
    r = run(cli_env, "void", "--project", CODE, "--kind", "activity", "--record-id", "L1", "--reason", "重复")
    assert r.returncode == 1 and "没有记录编号“L1”的当前记录" in r.stderr
    with workspace(db_url).session() as s:
        acts = s.execute(select(Activity).order_by(Activity.id)).scalars().all()
        assert [(a.participants, a.retired_at is None) for a in acts] == [(12, False), (15, False)]
        assert acts[0].entered_by == "王五"
        assert [c.action for c in s.execute(select(Correction)).scalars()] == ["amend", "void"]
