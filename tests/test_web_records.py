"""The operator's record pages over HTTP against a real uvicorn: the records behind a figure, a record's
history, violations with their file, sheet and row, the ledger diff of a re-upload's dry run, and
undoing an import batch; each write shows on the next dashboard view (figures are remembered)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_web_flow import ROSTER, upload, xlsx
from web_support import A, Server, csrf_of, start_server, web_workspace

AS_OF = "2024-12-31"
HEAD = ["记录编号", "日期", "活动类型", "服务对象编号", "参与人数", "时长（小时）", "备注"]
LEDGER = [["V1", "2024-07-01", "上门探访", "P1", None, None, ""],
          ["V2", "2024-07-02", "上门探访", "P2", None, None, ""],
          ["V3", "2024-08-01", "上门探访", "P1", None, None, ""],
          ["V4", "2025-01-10", "上门探访", "P2", None, None, ""],  # after the as-of date: not counted
          ["T1", "2024-07-05", "志愿者培训", None, 25, 2, ""],
          ["T2", "2024-07-06", "志愿者培训", None, 12, 2, ""]]  # under 20 participants: a violation


@pytest.fixture
def srv(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    s = start_server(web_workspace(db_url), worker=False)
    yield s
    s.stop()


def figure(c, kpi: str) -> str:  # type: ignore[no-untyped-def]
    """The actual of a KPI as the dashboard shows it (the link to its records)."""
    html = c.get(f"/projects/{A}", params={"as_of": AS_OF}).text
    m = re.search(rf'records\?kpi={re.escape(A)}\.{kpi}&amp;as_of={AS_OF}" title="[^"]*">([^<]+)</a>', html)
    assert m, f"no link for {kpi}"
    return m[1]


def confirm(c, loc: str, csrf: str) -> None:  # type: ignore[no-untyped-def]
    assert c.post(loc + "/confirm", data={"csrf_token": csrf}).status_code == 303


def test_records_behind_figures_history_diff_and_undo(srv: Server) -> None:
    c = srv.client("op_a")
    csrf = csrf_of(c.get(f"/projects/{A}/upload").text)
    confirm(c, upload(c, csrf, "名册.csv", ROSTER.encode()), csrf)
    assert figure(c, "2.visits_total") == "0"
    confirm(c, upload(c, csrf, "活动台账.xlsx", xlsx([HEAD, *LEDGER])), csrf)
    assert figure(c, "2.visits_total") == "3"  # V1–V3; V4 is dated after 2024-12-31
    assert figure(c, "3.trainings") == "1"  # T2 has 12 participants, under the 20 each one needs

    # the records behind the figure: exactly those counted
    page = c.get(f"/projects/{A}/records", params={"kpi": f"{A}.2.visits_total", "as_of": AS_OF}).text
    assert "共 3 条" in page
    listed = set(re.findall(r"<td>(V\d)</td>", page))
    assert listed == {"V1", "V2", "V3"}
    page = c.get(f"/projects/{A}/records", params={"kpi": f"{A}.3.trainings", "as_of": AS_OF}).text
    assert set(re.findall(r"<td>(T\d)</td>", page)) == {"T1"} and "活动台账.xlsx" in page
    # by kind and month, with filters
    page = c.get(f"/projects/{A}/records", params={"kind": "activity", "month": "2024-07"}).text
    assert set(re.findall(r"<td>([VT]\d)</td>", page)) == {"V1", "V2", "T1", "T2"}
    assert "共 2 条" in c.get(f"/projects/{A}/records", params={"kind": "activity", "person": "P1"}).text

    # violations say where the record came from: file, sheet, row (header = row 1, T2 is row 7)
    dash = c.get(f"/projects/{A}", params={"as_of": AS_OF}).text
    assert "活动台账.xlsx 工作表“Sheet” 第7行" in dash
    viol = c.get(f"/projects/{A}/violations", params={"as_of": AS_OF}).text
    hist_link = re.search(rf'href="(/projects/{A}/records/activity/(\d+)/history)">T2<', viol)
    assert hist_link, viol[-2000:]
    assert "导入" in c.get(hist_link[1]).text

    # the ledger again, next month: V2 changed (备注), V3 gone, V5 new → the dry run shows the diff
    again = [r[:] for r in LEDGER if r[0] != "V3"] + [["V5", "2024-09-01", "上门探访", "P1", None, None, ""]]
    next(r for r in again if r[0] == "V2")[6] = "家属在场"
    loc = upload(c, csrf, "活动台账（九月）.xlsx", xlsx([HEAD, *again]))
    page = c.get(loc).text
    assert "与已导入记录的对比" in page
    assert "新增 1 行" in page and "内容有更改 1 行" in page and "台账中已没有 1 条" in page
    assert "备注：“” → “家属在场”" in page and "第7行" in page  # V5 is row 7 of the new file
    assert "活动台账.xlsx 第4行" in page  # V3's origin
    assert figure(c, "2.visits_total") == "3"  # a dry run writes nothing
    confirm(c, loc, csrf)
    assert figure(c, "2.visits_total") == "4"  # V5 added; V3 reported gone, still counted

    # V2's history: imported, then changed by the re-import, with that batch as the reason
    rec = re.search(rf'href="/projects/{A}/records/activity/(\d+)/history">(\d+)</a>', page)
    assert rec
    hist = c.get(f"/projects/{A}/records/activity/{rec[1]}/history").text
    assert "再次导入时更改" in hist and "导入批次" in hist and "家属在场" in hist and "现行" in hist

    # void a record: the figure drops at once, the history shows why
    r = c.post(f"/projects/{A}/records/activity/void", data={"csrf_token": csrf, "record_id": "V1",
                                                             "reason": "重复录入"})
    assert r.status_code == 200 and figure(c, "2.visits_total") == "3"
    # amend from a record's history page (by its 库内编号, nothing typed by hand): V5 moved to 2025
    listing = c.get(f"/projects/{A}/records", params={"kind": "activity", "month": "2024-09"}).text
    v5 = re.search(r'<td>(\d+)</td><td>V5</td>', listing)
    assert v5, listing[-1500:]
    hist = c.get(f"/projects/{A}/records/activity/{v5[1]}/history").text
    assert f'name="row_id" value="{v5[1]}"' in hist and "更正或作废现行版本" in hist
    r = c.post(f"/projects/{A}/records/activity/amend", data={"csrf_token": csrf, "row_id": v5[1], "column": "日期",
                                                              "value": "2025-02-01", "reason": "日期写错"})
    assert r.status_code == 200 and f"库内编号 {v5[1]} 已更正" in r.text
    assert figure(c, "2.visits_total") == "2"
    new_hist = re.search(r'href="(/projects/[^"]+/history)">查看这条记录的历史', r.text)
    assert new_hist and "更正" in c.get(new_hist[1]).text and "日期写错" in c.get(new_hist[1]).text

    # the batches: undo the September one with a reason
    page = c.get(f"/projects/{A}/batches").text
    ids = [int(x) for x in re.findall(rf'action="/projects/{A}/batches/(\d+)/undo"', page)]
    assert len(ids) == 3  # roster, July ledger, September ledger; newest first
    r = c.post(f"/projects/{A}/batches/{ids[0]}/undo", data={"csrf_token": csrf, "reason": ""})
    assert r.status_code == 400 and "原因" in r.text
    r = c.post(f"/projects/{A}/batches/{ids[0]}/undo", data={"csrf_token": csrf, "reason": "传错了文件"})
    assert r.status_code == 200 and "已撤销" in r.text and "1 条此前被替换的记录恢复" in r.text
    assert figure(c, "2.visits_total") == "2"  # V5 gone again; V2 back as it was; V1 still void
    page = c.get(f"/projects/{A}/batches").text
    assert "已撤销" in page and len(re.findall(r"/undo\"", page)) == 2
    hist = c.get(f"/projects/{A}/records/activity/{rec[1]}/history").text
    assert "撤销导入批次" in hist and "传错了文件" in hist



def test_every_kpi_of_the_real_specs_has_a_record_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each KPI of kpi_specs/ (every kind) gives its record list without error on an empty database:
    the source's counted rows, its own table's records (staff, incidents, approvals) or, for a
    manual KPI, none with the reason."""
    import datetime as dt

    from tracker import dashboard
    from tracker.workspace import open_workspace

    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    ws = open_workspace(f"sqlite:///{tmp_path / 'x.db'}", Path(__file__).resolve().parent.parent / "kpi_specs")
    kinds = set()
    for code in ws.codes:
        spec = ws.spec(code)
        for clause, kpi in spec.iter_kpis():
            got = dashboard.figure_records(ws, code, spec.kpi_id(clause, kpi), dt.date(2025, 1, 1))
            assert got.total == 0 and got.table.rows == [] and got.note, (code, kpi.key)
            assert ("人工评定" in got.note) == (kpi.kind.value == "manual")
            kinds.add(kpi.kind.value)
    assert {"count", "distinct", "per_person", "rate", "staff", "manual"} <= kinds
