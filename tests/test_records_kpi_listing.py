"""``tracker records --kpi`` (and the web's record list, ``tracker.dashboard.figure_records``): the
records behind a KPI's figure, from the kind's own predicate (``KpiKind.evidence``); as many as the
figure counts (hand-counted), on SQLite and PostgreSQL, and as XLSX for an auditor."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, ROSTER, SPECS, write_csv

from tracker.dashboard import figure_records
from tracker.errors import TrackerError
from tracker.measure.progress import compute_progress
from tracker.records import import_file
from tracker.records.corrections import void
from tracker.workspace import open_workspace

TRACKER = Path(sys.executable).parent / "tracker"
AS_OF = dt.date(2025, 1, 10)
EXTRA = """
  - clause: 3
    text: 培训每场不少于10人
    kpis:
      - {key: big_trainings, kind: count, label: 10人以上培训, where: {types: [training]},
         each: [{field: participants, min: 10}], target: 3, unit: 场}
      - {key: trained, kind: sum, label: 培训人次, where: {types: [training]}, field: participants, target: 50, unit: 人次}
  - clause: 4
    text: 满意度不低于80%
    kpis:
      - {key: satisfaction, kind: rate, measure: satisfaction, label: 满意度, target: 80, unit: "%"}
      - {key: towns_listed, kind: coverage, label: 乡镇覆盖, field: town, members: [寿昌镇, 新安江街道], target: 2, unit: 个}
"""


@pytest.fixture
def ws(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    d = tmp_path / "specs"
    d.mkdir()
    (d / "B901.yaml").write_text((SPECS / "B901.yaml").read_text("utf-8") + EXTRA, "utf-8")
    w = open_workspace(db_url, d)
    assert import_file(w, write_csv(tmp_path / "roster.csv", ROSTER), CODE).imported == 3
    acts = [["记录编号", "日期", "活动类型", "服务对象编号", "参与人数"],
            ["V1", "2024-07-01", "上门探访", "P001", ""], ["V2", "2024-08-01", "上门探访", "P001", ""],
            ["V3", "2024-09-01", "上门探访", "P001", ""], ["V4", "2024-07-02", "上门探访", "P002", ""],
            ["V5", "2024-08-02", "上门探访", "P002", ""],
            ["T1", "2024-07-10", "培训", "", 12], ["T2", "2024-08-10", "培训", "", 8],
            ["T3", "2024-09-10", "培训", "", 10], ["T4", "2024-10-10", "培训", "", 25]]
    assert import_file(w, write_csv(tmp_path / "acts.csv", acts), CODE).imported == 9
    surveys = [["日期", "调查对象类型", "是否满意"]] + [["2024-10-01", "服务对象", a] for a in
                                                   ["非常满意", "满意", "基本满意", "不满意", "满意"]]
    assert import_file(w, write_csv(tmp_path / "s.csv", surveys), CODE).imported == 5
    w.dir = d  # type: ignore[attr-defined]
    return w


def _listed(ws, kpi: str, as_of: dt.date = AS_OF):  # type: ignore[no-untyped-def]
    full = kpi if kpi.startswith(CODE) else f"{CODE}.{kpi}"
    got = figure_records(ws, CODE, full, as_of)
    assert got.total == len(got.table.rows)
    return got.table


def _actual(ws, key: str) -> float | None:  # type: ignore[no-untyped-def]
    return next(k for k in compute_progress(ws, CODE, AS_OF).kpis if k.key == key).actual


@pytest.mark.parametrize(("kpi", "hand", "ids"), [
    ("1.visits_total", 5, {"V1", "V2", "V3", "V4", "V5"}),  # five home visits
    ("2.trainings", 4, {"T1", "T2", "T3", "T4"}),
    ("3.big_trainings", 3, {"T1", "T3", "T4"}),  # T2 has 8 participants, under the bound of 10
])
def test_listed_records_are_the_figure(ws, kpi: str, hand: int, ids: set[str]) -> None:  # type: ignore[no-untyped-def]
    key = kpi.split(".")[-1]
    assert _actual(ws, key) == hand
    t = _listed(ws, kpi)
    assert len(t.rows) == hand and {r["record_id"] for r in t.rows} == ids


def test_distinct_sum_and_rate_list_what_they_rest_on(ws) -> None:  # type: ignore[no-untyped-def]
    # 2 people visited, from 5 visits; 12 + 8 + 10 + 25 = 55 trained from 4 trainings
    assert _actual(ws, "visit_people") == 2 and len(_listed(ws, "1.visit_people").rows) == 5
    assert _actual(ws, "trained") == 55
    assert sum(int(r["participants"]) for r in _listed(ws, "3.trained").rows) == 55
    # satisfaction 4 of 5 answers: the five surveys are listed (the survey kind's columns)
    t = _listed(ws, f"{CODE}.4.satisfaction")
    assert _actual(ws, "satisfaction") == pytest.approx(80.0) and len(t.rows) == 5
    assert sum(1 for r in t.rows if r["satisfied"] in ("是", True)) == 4


def test_a_voided_record_leaves_figure_and_list_alike(ws) -> None:  # type: ignore[no-untyped-def]
    void(ws, CODE, "activity", "V2", "重复登记", "李四")
    assert _actual(ws, "visits_total") == 4
    assert {r["record_id"] for r in _listed(ws, "1.visits_total").rows} == {"V1", "V3", "V4", "V5"}
    early = _listed(ws, "1.visits_total", dt.date(2024, 7, 31))
    assert {r["record_id"] for r in early.rows} == {"V1", "V4"}  # as of the end of July


def test_unknown_kpi_ids(ws) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TrackerError, match="是否想写"):
        figure_records(ws, CODE, f"{CODE}.1.visits_totl", AS_OF)


def test_cli_writes_the_records_behind_a_figure_as_xlsx(ws, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "TRACKER_DB_URL": db_url, "TRACKER_SPECS": str(ws.dir), "TRACKER_ID_KEY": "test-key-not-secret",
           "TRACKER_DATA": str(tmp_path / "data")}
    out = tmp_path / "探访.xlsx"
    r = subprocess.run([str(TRACKER), "records", "--project", CODE, "--kpi", f"{CODE}.1.visits_total",
                        "--as-of", "2025-01-10", "--format", "xlsx", "--out", str(out)],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "已写入 5 条" in r.stdout and "共 5 条" in r.stderr
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    head = rows[0]
    assert "来源文件" in head and "原行号" in head and len(rows) - 1 == 5
    rid = head.index("记录编号")
    assert sorted(row[rid] for row in rows[1:]) == ["V1", "V2", "V3", "V4", "V5"]
