"""The evaluation pages over HTTP against a real uvicorn, on SQLite and PostgreSQL: the NGO writes and
submits its mid-term self-assessment, the auditor returns it with per-KPI comments, the NGO fixes and
resubmits, the auditor approves (the period's records lock: an import is refused in Chinese), unlocks
with a reason (the import goes in); who may do what, and escaping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_support import A, B, Server, csrf_of, start_server, web_workspace

from tracker import evaluation as ev
from tracker.records import import_rows

URL = f"/projects/{A}/evaluation/midterm"
SECTIONS = ["项目进展概述", "亮点与成效", "存在问题", "下一步计划"]
KPI = f"{A}.2.visit_people"


@pytest.fixture
def srv(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    ws = web_workspace(db_url)
    r = import_rows(ws, A, "roster", [{"服务对象编号": "P1", "姓名": "张三", "人群": "留守独居老人", "乡镇街道": "寿昌镇",
                                       "建档日期": "2024-06-05"}], source_name="名册", entered_by="op_a")
    assert r.committed, r.invalid
    s = start_server(ws, worker=False)
    yield s
    s.stop()


def narrative(csrf: str, then: str, **texts: str) -> dict[str, str]:
    data = {"csrf_token": csrf, "then": then}
    for i, name in enumerate(SECTIONS):
        data[f"section_{i}"] = texts.get(name, f"{name}：已写")
    return data


def add_visit(c, csrf: str, rid: str, day: str):  # type: ignore[no-untyped-def]
    return c.post(f"/projects/{A}/records/new", data={"csrf_token": csrf, "kind": "activity", "f_record_id": rid,
                                                      "f_date": day, "f_activity": "上门探访",
                                                      "f_person_id": "P1"})


def test_submit_return_resubmit_approve_lock_unlock_over_http(srv: Server) -> None:
    op, aud = srv.client("op_a"), srv.client("auditor")
    dash = op.get(f"/projects/{A}").text
    assert f"/projects/{A}/evaluation" in dash
    page = op.get(URL)
    assert page.status_code == 200 and "中期自评" in page.text and "尚未开始填写" in page.text
    assert "2024-06-01 至 2024-11-15" in page.text
    csrf = csrf_of(page.text)
    assert add_visit(op, csrf, "V1", "2024-07-01").status_code == 200

    # submitting with a section empty: the library's message, nothing submitted
    r = op.post(URL + "/narrative", data=narrative(csrf, "submit", 存在问题=""))
    assert r.status_code == 400 and "还缺少栏目：存在问题" in r.text
    sub = ev.find_submission(srv.ws, A, "midterm")
    assert sub is not None and sub.state == "draft" and sub.narrative["项目进展概述"] == "项目进展概述：已写"
    # an operator may not approve (403, in Chinese), an auditor may not write the narrative
    r = op.post(URL + "/move", data={"csrf_token": csrf, "action": "approve"})
    assert r.status_code == 403 and "“批准”只能由审核人（评估专家）、管理员操作" in r.text
    acsrf = csrf_of(aud.get(URL).text)
    r = aud.post(URL + "/narrative", data=narrative(acsrf, "save"))
    assert r.status_code == 403 and "只有社会组织填报人（或管理员）可以填写自评内容" in r.text
    # approving a draft: the state table's message
    r = aud.post(URL + "/move", data={"csrf_token": acsrf, "action": "approve"})
    assert r.status_code == 400 and "中期自评目前草稿，不能“批准”（只有已提交，待审核的报送可以）" in r.text

    r = op.post(URL + "/narrative", data=narrative(csrf, "submit", 存在问题="培训场次不足。"))
    assert r.status_code == 303 and r.headers["location"] == URL + "?done=submit"
    page = op.get(r.headers["location"]).text
    assert "已提交。" in page and "已提交，待审核" in page and "第 1 次提交" in page
    assert "<textarea name=\"section_0\"" not in page and "不能再修改自评内容；如需修改，请审核人退回" in page

    # the auditor sees the narrative and returns it with a general and a per-KPI comment
    page = aud.get(URL).text
    assert "培训场次不足。" in page and "退回修改" in page and 'value="approve"' in page
    assert f'name="kpi:{KPI}"' in page and "第 2 条 探访对象人数" in page
    r = aud.post(URL + "/move", data={"csrf_token": acsrf, "action": "return"})
    assert r.status_code == 400 and "必须写明退回意见" in r.text
    r = aud.post(URL + "/move", data={"csrf_token": acsrf, "action": "return", "comment": "请补充探访记录",
                                      f"kpi:{KPI}": "探访对象只有1人，请说明原因", f"kpi:{A}.1.towns": ""})
    assert r.status_code == 303
    page = op.get(URL).text
    assert "已退回修改" in page and "审核意见（auditor" in page and "请补充探访记录" in page
    assert "第 2 条 探访对象人数" in page and "探访对象只有1人，请说明原因" in page
    assert '<textarea name="section_2" rows="5">培训场次不足。</textarea>' in page  # editable again
    r = op.post(URL + "/narrative", data=narrative(csrf, "submit", 存在问题="探访对象不足：已补录。"))
    assert r.status_code == 303
    sub = ev.find_submission(srv.ws, A, "midterm")
    assert sub is not None and (sub.state, sub.round) == ("submitted", 2)

    # approval locks the period: a record dated in it is refused, naming the evaluation
    r = aud.post(URL + "/move", data={"csrf_token": acsrf, "action": "approve", "comment": "同意"})
    assert r.status_code == 303
    page = aud.get(URL).text
    assert "已批准" in page and "auditor 于" in page and "期内记录已锁定" in page and 'value="unlock"' in page
    r = add_visit(op, csrf, "V2", "2024-08-01")
    assert r.status_code == 400
    assert f"导入被拒绝：记录日期 2024-08-01 在项目 {A} 已批准的中期评估（2024-06-01 至 2024-11-15，auditor 于" in r.text
    assert add_visit(op, csrf, "V3", "2024-12-01").status_code == 200  # after the period: not locked
    # an uploaded ledger too: its dry run passes, its confirmation is refused and it stays waiting
    r = op.post(f"/projects/{A}/upload", data={"csrf_token": csrf},
                files={"file": ("九月活动.csv", "记录编号,日期,活动类型,服务对象编号\nU1,2024-09-01,上门探访,P1\n".encode())})
    assert r.status_code == 303
    upload_url = r.headers["location"]
    assert "全部行检查通过" in op.get(upload_url).text
    r = op.post(upload_url + "/confirm", data={"csrf_token": csrf})
    assert r.status_code == 400 and "导入被拒绝：记录日期 2024-09-01" in r.text and "请审核人先解锁该中期评估" in r.text
    r = op.post(URL + "/move", data={"csrf_token": csrf, "action": "unlock", "comment": "想改"})
    assert r.status_code == 403 and "“解锁”只能由" in r.text
    r = aud.post(URL + "/move", data={"csrf_token": acsrf, "action": "unlock"})
    assert r.status_code == 400 and "必须写明解锁原因" in r.text
    r = aud.post(URL + "/move", data={"csrf_token": acsrf, "action": "unlock", "comment": "补录8月探访"})
    assert r.status_code == 303
    assert add_visit(op, csrf, "V2", "2024-08-01").status_code == 200
    assert op.post(upload_url + "/confirm", data={"csrf_token": csrf}).status_code == 303
    assert "导入完成：新增 1 条" in op.get(upload_url).text
    visits = op.get(f"/api/projects/{A}/progress", params={"as_of": "2024-12-31"}).json()
    assert next(k["actual"] for k in visits["kpis"] if k["id"] == f"{A}.2.visits_total") == 4  # V1 V3 V2 U1

    # the history, in Chinese, with who, when and what was said; the admin may relock
    page = op.get(URL).text
    hist = page[page.index("办理记录"):]
    for text in ("创建草稿", "提交", "退回修改", "已提交，待审核 → 已退回修改", "请补充探访记录", "探访对象只有1人，请说明原因",
                 "批准", "同意", "解锁", "补录8月探访", "auditor（审核人（评估专家））", "op_a（社会组织填报人）"):
        assert text in hist, text
    assert [e.action for e in ev.history(srv.ws, sub.id)] == [
        "create", "edit", "edit", "submit", "return", "edit", "submit", "approve", "unlock"]
    adm = srv.client("admin")
    page = adm.get(URL).text
    assert 'value="relock"' in page and 'value="unlock"' not in page
    assert adm.post(URL + "/move", data={"csrf_token": csrf_of(page), "action": "relock"}).status_code == 303
    assert ev.find_submission(srv.ws, A, "midterm").locked  # type: ignore[union-attr]
    # the index lists the stages with their states; the photo page links here
    idx = op.get(f"/projects/{A}/evaluation").text
    assert "中期自评</a></td><td>已批准" in idx and "2024年7月月度报送" in idx
    assert URL in op.get(URL + "/photos").text
    dash = op.get(f"/projects/{A}").text
    assert f'<a class="pill" href="{URL}">中期自评：已批准</a>' in dash and "终期自评：尚未开始" in dash


def test_monthly_submission_and_unknown_stages(srv: Server) -> None:
    op, aud = srv.client("op_a"), srv.client("auditor")
    url = f"/projects/{A}/evaluation/2024-07"
    page = op.get(url).text
    assert "2024年7月月度报送" in page and "<textarea" not in page and 'value="submit"' in page
    assert op.post(url + "/move", data={"csrf_token": csrf_of(page), "action": "submit"}).status_code == 303
    page = aud.get(url).text
    assert "已提交，待审核" in page
    assert aud.post(url + "/move", data={"csrf_token": csrf_of(page), "action": "approve"}).status_code == 303
    sub = ev.find_submission(srv.ws, A, "month", "2024-07")
    assert sub is not None and (sub.state, sub.locked) == ("approved", False)  # a month does not lock
    for bad in ("2030-01", "2024-13", "summary"):
        r = op.get(f"/projects/{A}/evaluation/{bad}")
        assert r.status_code == 404, bad


def test_other_organisation_and_escaping(srv: Server) -> None:
    opb, op = srv.client("op_b"), srv.client("op_a")
    csrf_b = csrf_of(opb.get(f"/projects/{B}").text)
    for method, path in [("GET", URL), ("GET", f"/projects/{A}/evaluation"), ("GET", f"/projects/{A}/evaluation/2024-07"),
                         ("POST", URL + "/narrative"), ("POST", URL + "/move")]:
        r = opb.request(method, path, data={"csrf_token": csrf_b, "action": "submit", "then": "save",
                                            "section_0": "乙写的"})
        assert r.status_code == 404, (method, path, r.status_code)
    assert ev.find_submission(srv.ws, A, "midterm") is None
    csrf = csrf_of(op.get(URL).text)
    evil = "<script>alert('x')</script>"
    assert op.post(URL + "/narrative", data=narrative(csrf, "save", 亮点与成效=evil)).status_code == 303
    for c in (op, srv.client("auditor")):
        page = c.get(URL).text
        assert "<script>alert" not in page and "&lt;script&gt;alert(" in page
