"""Security of the web application, over HTTP against a real uvicorn on loopback, on SQLite and
PostgreSQL: other organisations' data, logins, CSRF, throttling, cookies, uploads, escaping, privacy."""

from __future__ import annotations

import io
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))

from records_support import id_number
from web_support import PASSWORD, A, B, Server, csrf_of, start_server, web_workspace

from tracker import files, jobs
from tracker.db.accounts import EvidenceFile, PendingUpload
from tracker.records import import_rows

B_NAME = "测试空项目（报告）"
B_SECRET = "乙方内部备注XYZ"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ID_NUMBER = id_number(birth="19450312", seq="011")


@pytest.fixture
def srv(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    ws = web_workspace(db_url)
    # organisation B's data: a roster with an ID number, an activity with a secret note, evidence,
    # a pending upload and a queued report job
    r = import_rows(ws, B, "roster", [{"服务对象编号": "Q001", "姓名": "王五", "身份证号": ID_NUMBER,
                                       "人群": "留守独居老人", "乡镇街道": "寿昌镇"}], source_name="名册", entered_by="op_b")
    assert r.committed and r.imported == 1, r.invalid
    r = import_rows(ws, B, "activity", [{"记录编号": "B-1", "日期": "2024-07-01", "活动类型": "上门探访",
                                         "服务对象编号": "Q001", "备注": B_SECRET}], source_name="活动", entered_by="op_b")
    assert r.committed, r.invalid
    s = start_server(ws, worker=False)
    yield s
    s.stop()


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m[1]], path)


def _routes(s: Server) -> list[APIRoute]:
    from tracker.web import create_app

    return [r for r in create_app(s.ws, worker=False).routes if isinstance(r, APIRoute)]


def _b_objects(s: Server) -> dict[str, str]:
    """Ids of organisation B's things, to ask for them with A's session."""
    from tracker import uploads

    c = s.client("op_b")
    ev = files.store_evidence(s.ws, B, "签到表.png", io.BytesIO(PNG), "op_b")
    up = uploads.check_upload(s.ws, B, "活动.csv", io.BytesIO("日期,活动类型\n2024-07-02,上门探访\n".encode()),
                              1, "op_b")
    job = jobs.submit(s.ws, "project_report", 1, B, which="midterm")
    c.close()
    from tracker.records.listing import list_records

    rec = list_records(s.ws, B, "activity").rows[0]
    return {"code": B, "kpi_id": f"{B}.2.visits_total", "token": up.token, "evidence_id": str(ev.id),
            "job_id": str(job.id), "kind": "activity", "name": "2099B002-midterm.pdf", "login": "op_b",
            "record": str(rec["id"]), "batch_id": str(rec["batch_id"]), "which": "midterm"}


def test_every_route_refuses_another_organisations_project(srv: Server) -> None:
    values = _b_objects(srv)
    a = srv.client("op_a")
    csrf = csrf_of(a.get("/projects").text)
    tried = 0
    for route in _routes(srv):
        if route.path in ("/login", "/logout", "/account/password"):
            continue
        url = _fill(route.path, values)
        for method in route.methods:
            if method == "HEAD":
                continue
            r = a.request(method, url, data={"csrf_token": csrf, "text": "x", "topic": "plan", "reason": "x",
                                             "record_id": "B-1", "verdict": "met", "comment": "x",
                                             "organisation": "甲社会工作服务中心", "login": "z", "role": "admin",
                                             "password": "zzzzzzzzzz"})
            tried += 1
            body = r.text
            assert B_NAME not in body and B_SECRET not in body and "Q001" not in body, (method, url)
            project_scoped = "{code}" in route.path or "{job_id}" in route.path
            if project_scoped:
                assert r.status_code in (403, 404), (method, url, r.status_code)
            elif route.path in ("/portfolio", "/api/portfolio", "/portfolio/reports") or route.path.startswith("/admin"):
                assert r.status_code == 403, (method, url, r.status_code)
    assert tried >= 35
    paths = {r.path for r in _routes(srv)}
    assert {"/projects/{code}/evaluation", "/projects/{code}/evaluation/{which}",
            "/projects/{code}/evaluation/{which}/narrative", "/projects/{code}/evaluation/{which}/move"} <= paths
    # what B's operator wrote is unchanged: the note was not added, the record not voided or amended
    from tracker.measure.progress import compute_progress

    p = {k.id: k.actual for k in compute_progress(srv.ws, B, __import__("datetime").date(2024, 12, 31)).kpis}
    assert p[f"{B}.2.visits_total"] == 1


def test_another_projects_record_and_batch_through_ones_own_project(srv: Server) -> None:
    """B's record history and B's import batch asked for under A's own project: not found, nothing undone."""
    values = _b_objects(srv)
    a = srv.client("op_a")
    csrf = csrf_of(a.get(f"/projects/{A}/batches").text)
    r = a.get(f"/projects/{A}/records/activity/{values['record']}/history")
    assert r.status_code == 404 and B_SECRET not in r.text and "Q001" not in r.text
    r = a.post(f"/projects/{A}/batches/{values['batch_id']}/undo", data={"csrf_token": csrf, "reason": "试试"})
    assert r.status_code == 404, r.status_code
    r = a.get(f"/projects/{A}/records", params={"batch": values["batch_id"]})
    assert r.status_code == 200 and B_SECRET not in r.text and "B-1" not in r.text
    assert a.get(f"/projects/{A}/records", params={"kpi": values["kpi_id"]}).status_code == 404
    for action in ("void", "amend"):  # B's record by its 库内编号 under A's project: not found, untouched
        r = a.post(f"/projects/{A}/records/activity/{action}", data={
            "csrf_token": csrf, "row_id": values["record"], "reason": "试试", "column": "备注", "value": "改了"})
        assert r.status_code == 400 and "没有库内编号" in r.text and B_SECRET not in r.text, (action, r.status_code)
    # B's operator sees the record, its history and the batch; the auditor may read but not undo
    b = srv.client("op_b")
    assert "B-1" in b.get(f"/projects/{B}/records").text
    assert B_SECRET in b.get(f"/projects/{B}/records/activity/{values['record']}/history").text
    aud = srv.client("auditor")
    page = aud.get(f"/projects/{B}/batches").text
    assert "活动" in page and "/undo" not in page
    r = aud.post(f"/projects/{B}/batches/{values['batch_id']}/undo", data={"csrf_token": csrf_of(page), "reason": "x"})
    assert r.status_code == 403
    from tracker.records.listing import list_batches

    assert [row["state"] for row in list_batches(srv.ws, B).rows if str(row["id"]) == values["batch_id"]] == ["有效"]


def test_no_session_redirects_to_login_and_api_says_401(srv: Server) -> None:
    values = _b_objects(srv)
    c = srv.client()
    for route in _routes(srv):
        if route.path in ("/login",):
            continue
        url = _fill(route.path, values)
        for method in route.methods - {"HEAD"}:
            r = c.request(method, url)
            if route.path.startswith("/api/"):
                assert r.status_code == 401, (method, url)
                assert "未登录" in r.json()["error"]
            else:
                assert r.status_code == 303 and r.headers["location"].startswith("/login"), (method, url, r.status_code)
    # and login brings you back where you wanted to go (only to a path of this site)
    r = c.post("/login", data={"login": "op_a", "password": PASSWORD, "next": f"/projects/{A}"})
    assert r.headers["location"] == f"/projects/{A}"
    r = c.post("/login", data={"login": "op_a", "password": PASSWORD, "next": "//evil.example/"})
    assert r.headers["location"] == "/"


def test_every_form_needs_its_csrf_token(srv: Server) -> None:
    a = srv.client("op_a")
    html = a.get(f"/projects/{A}").text
    assert csrf_of(html)
    values = {"code": A, "kpi_id": f"{A}.6.experience", "token": "x", "evidence_id": "1", "job_id": "1",
              "kind": "activity", "name": "x", "login": "op_b", "record": "1", "batch_id": "1", "which": "midterm"}
    posts = [r for r in _routes(srv) if "POST" in r.methods and r.path != "/login"]
    assert len(posts) >= 14
    for route in posts:
        url = _fill(route.path, values)
        r = a.post(url, data={"text": "x", "topic": "plan"})
        assert r.status_code == 403, (url, r.status_code)
        assert "安全令牌" in r.text
        r = a.post(url, data={"csrf_token": "wrong", "text": "x", "topic": "plan"})
        assert r.status_code == 403, url
    # with the token the same note goes in; the session is still alive (logout needed its token too)
    r = a.post(f"/projects/{A}/notes", data={"csrf_token": csrf_of(html), "topic": "plan", "text": "下月加开两场培训"})
    assert r.status_code == 303
    assert "下月加开两场培训" in a.get(f"/projects/{A}").text


def test_login_throttled_after_wrong_passwords_and_cookie_flags(srv: Server) -> None:
    c = srv.client()
    codes = [c.post("/login", data={"login": "op_a", "password": f"wrong-{i}"}).status_code for i in range(10)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 5
    r = c.post("/login", data={"login": "op_a", "password": PASSWORD})
    assert r.status_code == 429 and "登录失败次数过多" in r.text and "set-cookie" not in r.headers
    # another account from the same address still logs in (the address limit is higher)
    r = c.post("/login", data={"login": "op_b", "password": PASSWORD})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "tracker_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    r = srv.client().post("/login", data={"login": "auditor", "password": PASSWORD},
                          headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in r.headers["set-cookie"]  # behind an HTTPS proxy
    page = srv.client("op_b").get("/projects")
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"


def test_logout_and_password_change_end_sessions(srv: Server) -> None:
    a1, a2 = srv.client("op_a"), srv.client("op_a")
    csrf = csrf_of(a1.get("/projects").text)
    assert a1.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert a1.get("/projects").status_code == 303  # the cookie jar was cleared …
    token = a2.cookies["tracker_session"]
    b = srv.client()
    b.cookies.set("tracker_session", token)
    assert b.get("/projects").status_code == 200
    csrf = csrf_of(a2.get("/account").text)
    r = a2.post("/account/password", data={"csrf_token": csrf, "old": PASSWORD, "new": "new-password-1"})
    assert r.status_code == 303
    assert b.get("/projects").status_code == 303  # … and a copied cookie dies with the password change
    assert srv.client().post("/login", data={"login": "op_a", "password": "new-password-1"}).status_code == 303


def test_evidence_traversal_and_other_projects_file_refused(srv: Server) -> None:
    values = _b_objects(srv)
    a = srv.client("op_a")
    for url in [f"/projects/{A}/evidence/{values['evidence_id']}",  # B's file through A's project
                f"/projects/{B}/evidence/{values['evidence_id']}",
                f"/projects/{A}/evidence/..%2F..%2Fetc%2Fpasswd", f"/projects/{A}/evidence/../../../etc/passwd",
                "/static/../accounts.py", "/static/%2e%2e/app.py", f"/jobs/{values['job_id']}/files/..%2F..%2Fdb"]:
        r = a.get(url)
        assert r.status_code in (403, 404, 422), (url, r.status_code)
        assert b"PNG" not in r.content and "import" not in r.text
    # B's operator gets the file, with its name and a type that cannot run scripts
    r = srv.client("op_b").get(f"/projects/{B}/evidence/{values['evidence_id']}")
    assert r.status_code == 200 and r.content == PNG and r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\x00" * (300 * 1024 * 1024))
    return buf.getvalue()


def test_bad_uploads_refused_in_chinese_with_nothing_stored(srv: Server, tmp_path: Path) -> None:
    a = srv.client("op_a")
    csrf = csrf_of(a.get(f"/projects/{A}/upload").text)

    def stored() -> tuple[int, int, int]:
        with srv.ws.session() as s:
            n_up = s.execute(select(func.count()).select_from(PendingUpload)).scalar_one()
            n_ev = s.execute(select(func.count()).select_from(EvidenceFile)).scalar_one()
        data = tmp_path / "data"
        blobs = sum(1 for p in data.rglob("*") if p.is_file() and ("evidence" in p.parts or "uploads" in p.parts
                                                                    or "tmp" in p.parts))
        return n_up, n_ev, blobs

    before = stored()
    bomb = _zip_bomb()
    assert len(bomb) < 1024 * 1024
    cases = [
        (f"/projects/{A}/upload", "file", "活动记录.xlsx", bomb, "压缩炸弹", 400),
        (f"/projects/{A}/upload", "file", "活动记录.xlsx", b"not a zip at all", "不是 Excel", 400),
        (f"/projects/{A}/upload", "file", "活动记录.exe", b"MZ\x90\x00", "只能上传 .xlsx 或 .csv", 400),
        (f"/projects/{A}/upload", "file", "活动记录.xls", b"\xd0\xcf\x11\xe0", "旧版 .xls", 400),
        (f"/projects/{A}/upload", "file", "活动记录.csv", b"x" * (files.LEDGER_MAX + 2 * files.MB), "上限", 413),
        (f"/projects/{A}/evidence", "file", "照片.png", b"<html><script>alert(1)</script>", "文件类型不支持", 400),
        (f"/projects/{A}/evidence", "file", "照片.png", PNG + b"\x00" * (files.EVIDENCE_MAX + 10), "20 MB", 400),
        (f"/projects/{A}/evidence", "file", "空.png", b"", "空的", 400),
    ]
    for url, field, name, content, message, status in cases:
        r = a.post(url, data={"csrf_token": csrf}, files={field: (name, content)})
        assert r.status_code == status, (name, r.status_code, r.text[-300:])
        assert message in r.text, (name, r.text[-500:])
        assert stored() == before, name
    r = a.post(f"/projects/{A}/evidence", data={"csrf_token": csrf}, files={"file": ("签到表.png", PNG)})
    assert r.status_code == 303 and stored()[1] == before[1] + 1


def test_script_in_fields_notes_and_file_names_is_escaped(srv: Server) -> None:
    a = srv.client("op_a")
    csrf = csrf_of(a.get(f"/projects/{A}").text)
    evil = "<script>alert('x')</script>"
    r = a.post(f"/projects/{A}/notes", data={"csrf_token": csrf, "topic": "plan", "text": f"计划{evil}"})
    assert r.status_code == 303
    r = a.post(f"/projects/{A}/evidence", data={"csrf_token": csrf, "description": evil},
               files={"file": (f"{evil}.png", PNG)})
    assert r.status_code == 303
    csv_text = f"记录编号,日期,活动类型,服务对象编号,备注\nR1,2024-07-01,{evil},P1,{evil}\n"
    r = a.post(f"/projects/{A}/upload", data={"csrf_token": csrf},
               files={"file": (f"{evil}.csv", csv_text.encode())})
    assert r.status_code == 303
    pages = [a.get(r.headers["location"]), a.get(f"/projects/{A}"), a.get(f"/projects/{A}/evidence")]
    for p in pages:
        assert p.status_code == 200
        assert "<script>alert" not in p.text, p.url
    assert "&lt;script&gt;" in pages[0].text and "&lt;script&gt;" in pages[1].text and "&lt;script&gt;" in pages[2].text


def test_id_numbers_never_shown(srv: Server) -> None:
    b = srv.client("op_b")
    auditor = srv.client("auditor")
    masked_tail = ID_NUMBER[-4:]
    for c in (b, auditor):
        for url in [f"/projects/{B}", f"/projects/{B}/violations", f"/projects/{B}/records/new",
                    f"/api/projects/{B}/progress", f"/api/projects/{B}/violations", "/portfolio", "/api/portfolio"]:
            r = c.get(url)
            if r.status_code == 403:
                continue
            assert r.status_code == 200, url
            assert ID_NUMBER not in r.text and ID_NUMBER[:17] not in r.text, url
            assert "王五" not in r.text, url  # names are masked (王*)
    assert masked_tail  # the check above would be vacuous without a real number
    assert "Q001" in b.get(f"/projects/{B}/records/new").text  # the roster is there, by number


def test_api_contract_shapes_and_token(srv: Server) -> None:
    a = srv.client("op_a")
    r = a.get(f"/api/projects/{A}/progress", params={"as_of": "2024-12-31"})
    j = r.json()
    assert r.status_code == 200 and j["project"] == A and j["as_of"] == "2024-12-31"
    assert {"id", "clause", "kind", "comparator", "target", "unit", "actual", "expected", "forecast", "status",
            "violations"} <= set(j["kpis"][0])
    assert a.get(f"/api/projects/{B}/progress").status_code == 404
    assert a.get("/api/portfolio").status_code == 403
    r = srv.client("auditor").get("/api/portfolio", params={"as_of": "2024-12-31"})
    assert r.status_code == 200 and {p["project"] for p in r.json()} == {A, B}
    assert srv.client("auditor").get("/api/portfolio", params={"as_of": "明天"}).status_code == 400
    # a personal token works without a cookie, for the bureau's other systems
    csrf = csrf_of(a.get("/account").text)
    token = re.search(r"(trk_[\w-]+)", a.post("/account/api-token", data={"csrf_token": csrf}).text)[1]
    c = srv.client()
    assert c.get(f"/api/projects/{A}/progress", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert c.get(f"/api/projects/{B}/progress", headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert c.get(f"/api/projects/{A}/progress", headers={"Authorization": "Bearer trk_nope"}).status_code == 401
