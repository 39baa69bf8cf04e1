"""What operators and auditors do in the web application, over HTTP against a real uvicorn: upload with
a dry run first, fix and confirm, one record by form, void, notes, judge with a photo, reports made
in the background; and the ``tracker user`` commands."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from web_support import PASSWORD, A, Server, csrf_of, start_server, web_workspace

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ROSTER = "服务对象编号,姓名,人群,乡镇街道,建档日期\nP1,张三,留守独居老人,寿昌镇,2024-06-05\nP2,李四,留守独居老人,新安江街道,2024-06-05\n"


def xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HEAD = ["记录编号", "日期", "活动类型", "服务对象编号"]
GOOD = [["V1", "2024-07-01", "上门探访", "P1"], ["V2", "2024-07-02", "上门探访", "P2"],
        ["V3", "2024-08-01", "上门探访", "P1"]]


@pytest.fixture
def srv(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    s = start_server(web_workspace(db_url))
    yield s
    s.stop()


def visits(c, as_of: str = "2024-12-31") -> float:  # type: ignore[no-untyped-def]
    j = c.get(f"/api/projects/{A}/progress", params={"as_of": as_of}).json()
    return next(k["actual"] for k in j["kpis"] if k["id"] == f"{A}.2.visits_total")


def upload(c, csrf: str, name: str, content: bytes) -> str:  # type: ignore[no-untyped-def]
    r = c.post(f"/projects/{A}/upload", data={"csrf_token": csrf}, files={"file": (name, content)})
    assert r.status_code == 303, r.text[-400:]
    return r.headers["location"]


def test_operator_uploads_fixes_confirms_and_corrects(srv: Server) -> None:
    c = srv.client("op_a")
    csrf = csrf_of(c.get(f"/projects/{A}/upload").text)
    loc = upload(c, csrf, "名册.csv", ROSTER.encode())
    assert "将新增 2 条" in c.get(loc).text
    c.post(loc + "/confirm", data={"csrf_token": csrf})
    assert "导入完成：新增 2 条" in c.get(loc).text

    bad = xlsx([HEAD, *GOOD, ["V4", "2024-13-01", "上门探访", "P2"], ["V5", "2024-09-01", "跳广场舞", "P2"]])
    loc = upload(c, csrf, "七月活动.xlsx", bad)
    page = c.get(loc).text
    assert "有错误 2 行" in page and "整份文件尚未导入" in page
    assert "通过检查 3 行" in page and "只导入没有问题的 3 行" in page
    assert "第5行" in page and "第6行" in page and "跳广场舞" in page  # row numbers as in Excel (header = 1)
    assert visits(c) == 0  # the dry run wrote nothing
    r = c.get(loc + "/errors.xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    cells = [[c_.value for c_ in row] for row in sheet.iter_rows()]
    assert cells[0][-1] == "错误说明" and len(cells) == 6  # every row, the ones in error explained
    assert {row[0] for row in cells[1:] if row[-1]} == {"V4", "V5"}
    assert "不是真实存在的日期" in next(row[-1] for row in cells if row[0] == "V4")
    # the auditor may not download the operator's error file
    assert srv.client("auditor").get(loc + "/errors.xlsx").status_code == 403

    fixed = xlsx([HEAD, *GOOD, ["V4", "2024-12-01", "上门探访", "P2"]])
    loc = upload(c, csrf, "七月活动（改）.xlsx", fixed)
    assert "全部行检查通过" in c.get(loc).text
    assert visits(c) == 0
    assert c.post(loc + "/confirm", data={"csrf_token": csrf}).status_code == 303
    assert visits(c) == 4 and visits(c, "2024-07-31") == 2
    assert c.post(loc + "/confirm", data={"csrf_token": csrf}).status_code == 400  # only once

    r = c.post(f"/projects/{A}/records/new", data={"csrf_token": csrf, "kind": "activity", "f_record_id": "V9",
                                                   "f_date": "2024-10-01", "f_activity": "上门探访", "f_person_id": "P2"})
    assert r.status_code == 200 and "已保存 1 条活动记录" in r.text
    assert visits(c) == 5
    r = c.post(f"/projects/{A}/records/new", data={"csrf_token": csrf, "kind": "activity", "f_date": "2024-10-01",
                                                   "f_activity": "跳广场舞"})
    assert r.status_code == 400 and "记录未保存" in r.text and visits(c) == 5
    r = c.post(f"/projects/{A}/records/activity/void", data={"csrf_token": csrf, "record_id": "V9", "reason": "重复录入"})
    assert r.status_code == 200 and visits(c) == 4
    r = c.post(f"/projects/{A}/records/activity/amend", data={"csrf_token": csrf, "record_id": "V4", "column": "日期",
                                                              "value": "2025-01-05", "reason": "日期写错"})
    assert r.status_code == 200 and visits(c) == 3  # V4 moved past the as-of date

    dash = c.get(f"/projects/{A}", params={"as_of": "2024-12-31"}).text
    assert ("探访总人次" in dash and "st-behind" in dash) or "st-on_track" in dash
    chart = c.get(f"/projects/{A}/kpis/{A}.2.visits_total/chart.png", params={"as_of": "2024-12-31"})
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")

    # what was written carries the account, not the operating-system user
    from sqlalchemy import select

    from tracker.db.models import Activity, Correction

    with srv.ws.session() as s:
        assert set(s.execute(select(Activity.entered_by).where(Activity.project_code == A)).scalars()) == {"op_a"}
        assert set(s.execute(select(Correction.author)).scalars()) == {"op_a"}


def test_auditor_judges_with_photo_and_gets_the_report(srv: Server) -> None:
    a = srv.client("auditor")
    kpi = f"{A}.6.experience"
    page = a.get(f"/projects/{A}").text
    assert f"/projects/{A}/kpis/{kpi}/judge" in page
    csrf = csrf_of(a.get(f"/projects/{A}/kpis/{kpi}/judge").text)
    r = a.post(f"/projects/{A}/kpis/{kpi}/judge", data={"csrf_token": csrf, "verdict": "met", "comment": "经验材料完整"},
               files={"photo": ("现场照片.png", PNG)})
    assert r.status_code == 303
    j = a.get(f"/api/projects/{A}/progress", params={"as_of": "2024-12-31"}).json()
    assert next(k for k in j["kpis"] if k["id"] == kpi)["status"] == "met"
    ev = a.get(f"/projects/{A}/evidence").text
    assert "现场照片.png" in ev and "auditor" in ev
    from sqlalchemy import select

    from tracker.db.models import Judgement
    from tracker.measure.judgements import VERDICTS  # noqa: F401

    with srv.ws.session() as s:
        jd = s.execute(select(Judgement)).scalars().one()
    assert jd.author == "auditor" and "现场照片.png" in jd.evidence
    # operators may not judge
    op = srv.client("op_a")
    r = op.post(f"/projects/{A}/kpis/{kpi}/judge", data={"csrf_token": csrf_of(op.get("/projects").text),
                                                         "verdict": "missed", "comment": "x"})
    assert r.status_code == 403

    r = a.post(f"/projects/{A}/reports", data={"csrf_token": csrf, "which": "midterm"})
    assert r.status_code == 303
    job_url = r.headers["location"]
    t0 = time.monotonic()
    while "已完成" not in (page := a.get(job_url).text):
        assert "失败" not in page, page[-800:]
        assert time.monotonic() - t0 < 180
        time.sleep(0.5)
    pdf = a.get(job_url + f"/files/{A}-midterm.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    html = a.get(job_url + f"/files/{A}-midterm.html")
    assert "经验材料完整" in html.text or "达标" in html.text
    assert a.get(job_url + "/files/..%2F..%2Ftracker.db").status_code == 404


def test_user_commands(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner
    from web_support import SPECS

    from tracker import accounts
    from tracker.cli import _register, app
    from tracker.workspace import open_workspace

    monkeypatch.setenv("TRACKER_SPECS", str(SPECS))
    _register()
    run = CliRunner().invoke

    r = run(app, ["user", "add", "ngo1", "--role", "operator", "--org", "某某社工站", "--project", A], input="s3cret-pass\n")
    assert r.exit_code == 0, r.output
    assert "已新建账号 ngo1（运营方（社会组织），某某社工站）" in r.output
    for args, password, message in [
        (["user", "add", "ngo1", "--role", "operator", "--org", "x"], "s3cret-pass", "已存在"),
        (["user", "add", "ngo2", "--role", "operator"], "s3cret-pass", "--org"),
        (["user", "add", "boss", "--role", "auditor"], "short", "至少 8 位"),
        (["user", "add", "boss", "--role", "root"], "s3cret-pass", "角色"),
    ]:
        r = run(app, args, input=password + "\n")
        assert r.exit_code != 0 and message in str(r.exception), (args, r.exception)

    ws = open_workspace()
    with ws.session() as s:
        from sqlalchemy import select

        from tracker.db.accounts import Account

        h = s.execute(select(Account.password_hash).where(Account.login == "ngo1")).scalar_one()
    assert h.startswith("$argon2id$")
    p = accounts.log_in(ws, "ngo1", "s3cret-pass", "127.0.0.1").principal
    assert accounts.visible_projects(ws, p) == [A]
    assert run(app, ["user", "passwd", "ngo1"], input="another-pass\n").exit_code == 0
    with pytest.raises(accounts.LoginFailed):
        accounts.log_in(ws, "ngo1", "s3cret-pass", "127.0.0.2")
    assert accounts.session_for(ws, accounts.log_in(ws, "ngo1", "another-pass", "127.0.0.2").token)
    assert run(app, ["user", "disable", "ngo1"]).exit_code == 0
    with pytest.raises(accounts.LoginFailed):
        accounts.log_in(ws, "ngo1", "another-pass", "127.0.0.3")


def test_admin_sets_the_running_organisation(srv: Server) -> None:
    ad = srv.client("admin")
    csrf = csrf_of(ad.get("/admin").text)
    op_b = srv.client("op_b")
    assert op_b.get(f"/projects/{A}").status_code == 404
    r = ad.post(f"/admin/projects/{A}/organisation", data={"csrf_token": csrf, "organisation": "乙社会工作服务中心"})
    assert r.status_code == 303
    assert op_b.get(f"/projects/{A}").status_code == 200
    assert srv.client("op_a").get(f"/projects/{A}").status_code == 404
    r = ad.post("/admin/users", data={"csrf_token": csrf, "login": "new_op", "role": "operator",
                                      "password": PASSWORD, "organisation": "甲社会工作服务中心"})
    assert r.status_code == 303 and "new_op" in ad.get("/admin").text
    assert srv.client("new_op").get("/projects").status_code == 200
    r = ad.post("/admin/users/new_op/disable", data={"csrf_token": csrf})
    assert r.status_code == 303
    # each change is in the audit chain with the acting account, and the chain verifies
    from sqlalchemy import text

    from tracker import audit

    ws = srv.ws
    with ws.engine.connect() as c:
        got = c.execute(text("SELECT action, actor FROM audit_entry WHERE entity IN "
                             "('account', 'organisation', 'organisationproject') ORDER BY seq DESC LIMIT 3")).all()
    assert [tuple(g) for g in got] == [("account.disable", "admin"), ("account.add", "admin"),
                                       ("project.organisation", "admin")]
    assert audit.verify(ws).ok


def jpeg(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    """A real JPEG photo-like image: a coloured field with a white square and a dark disc."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", size, colour)
    d = ImageDraw.Draw(im)
    d.rectangle((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill=(250, 250, 250))
    d.ellipse((size[0] // 3, size[1] // 3, size[0] * 2 // 3, size[1] * 2 // 3), fill=(20, 20, 20))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_operator_chooses_the_reports_photos_and_finds_them_in_the_pdf(srv: Server, tmp_path: Path) -> None:
    import re
    import subprocess

    from PIL import Image

    from tracker import evaluation as ev

    op = srv.client("op_a")
    csrf = csrf_of(op.get(f"/projects/{A}/evidence").text)
    for name, content, description in [("入户探访.jpg", jpeg((200, 60, 60), (1600, 1200)), "入户探访独居老人"),
                                       ("志愿者培训.jpg", jpeg((60, 60, 200), (900, 1600)), ""),
                                       ("签到表.pdf", b"%PDF-1.4\n%%EOF\n", "七月签到表"),
                                       ("不选的.png", PNG, "")]:
        r = op.post(f"/projects/{A}/evidence", data={"csrf_token": csrf, "description": description},
                    files={"file": (name, content)})
        assert r.status_code == 303, r.text[-300:]
    url = f"/projects/{A}/evaluation/midterm/photos"
    assert url in op.get(f"/projects/{A}/reports").text
    page = op.get(url)
    assert page.status_code == 200 and "尚未开始填写中期自评" in page.text and "已选 0 张" in page.text
    ids = dict(re.findall(r'<img src="/projects/' + A + r'/evidence/(\d+)/thumb\.jpg" alt="([^"]+)"', page.text))
    assert sorted(ids.values()) == ["不选的.png", "入户探访.jpg", "志愿者培训.jpg"]  # photos only, no PDF
    by_name = {v: k for k, v in ids.items()}
    thumb = op.get(f"/projects/{A}/evidence/{by_name['入户探访.jpg']}/thumb.jpg")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (320, 240)  # 1600×1200 into the 320×240 box
    assert 'placeholder="入户探访独居老人"' in page.text  # an empty caption takes the upload's description

    # an auditor sees the page but may not choose
    aud = srv.client("auditor")
    page_a = aud.get(url)
    assert page_a.status_code == 200 and "审核人如需更换，请退回自评" in page_a.text and "保存报告照片" not in page_a.text
    r = aud.post(url, data={"csrf_token": csrf_of(page_a.text), "photo": by_name["入户探访.jpg"]})
    assert r.status_code == 403 and "报告照片由社会组织选择" in r.text
    from tracker import evaluation as _ev

    assert _ev.find_submission(srv.ws, A, "midterm") is None  # the refusal opened no draft

    # the operator chooses two, the second with its own caption: the draft self-assessment is opened
    r = op.post(url, data={"csrf_token": csrf_of(page.text),
                           "photo": [by_name["入户探访.jpg"], by_name["志愿者培训.jpg"]],
                           f"caption_{by_name['入户探访.jpg']}": "",
                           f"caption_{by_name['志愿者培训.jpg']}": "志愿者培训现场",
                           f"caption_{by_name['不选的.png']}": "不该出现的说明"})
    assert r.status_code == 303 and r.headers["location"] == url + "?saved=1"
    page = op.get(r.headers["location"]).text
    assert "已保存报告照片选择：2 张" in page and "中期自评：草稿" in page
    assert page.index("入户探访.jpg") < page.index("志愿者培训.jpg") < page.index("不选的.png")  # chosen first
    sub = ev.find_submission(srv.ws, A, "midterm")
    assert sub is not None and sub.state == "draft"
    assert sub.narrative["photos"] == [{"evidence": int(by_name["入户探访.jpg"]), "caption": "入户探访独居老人"},
                                       {"evidence": int(by_name["志愿者培训.jpg"]), "caption": "志愿者培训现场"}]
    assert [e.comment for e in ev.history(srv.ws, sub.id)][-1] == "选择报告照片 2 张"
    # a PDF through the form is refused in Chinese, and nothing changes
    from tracker import files

    pdf_id = str(next(e.id for e in files.list_evidence(srv.ws, A) if e.file_name == "签到表.pdf"))
    r = op.post(url, data={"csrf_token": csrf, "photo": [pdf_id]})
    assert r.status_code == 400 and "不是照片：报告只附 JPG、PNG 照片" in r.text
    assert len(ev.find_submission(srv.ws, A, "midterm").narrative["photos"]) == 2  # type: ignore[union-attr]

    # the mid-term report, made in the background, shows both with their captions
    r = op.post(f"/projects/{A}/reports", data={"csrf_token": csrf, "which": "midterm"})
    job_url = r.headers["location"]
    t0 = time.monotonic()
    while "已完成" not in (p := op.get(job_url).text):
        assert "失败" not in p, p[-800:]
        assert time.monotonic() - t0 < 180
        time.sleep(0.5)
    pdf = tmp_path / "mid.pdf"
    pdf.write_bytes(op.get(job_url + f"/files/{A}-midterm.pdf").content)
    text = "".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split())
    assert "项目照片" in text and "1.入户探访独居老人（" in text and "2.志愿者培训现场（" in text
    assert "不该出现的说明" not in text
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    sizes = {(int(x.split()[3]), int(x.split()[4])) for x in listing if x.split()[2] == "image"}
    assert (640, 480) in sizes and (270, 480) in sizes, sizes  # the two thumbnails, embedded small

    # once submitted, the choice is frozen until an auditor returns it
    ev.save_narrative(srv.ws, sub.id, {k: "已填写" for k in ev.NARRATIVE_SECTIONS}, actor="op_a", role="operator")
    ev.submit(srv.ws, sub.id, actor="op_a")
    page = op.get(url).text
    assert "中期自评已提交，待审核，不能再修改报告照片；如需修改，请审核人退回" in page and "保存报告照片" not in page
    r = op.post(url, data={"csrf_token": csrf, "photo": [by_name["不选的.png"]]})
    assert r.status_code == 400 and "不能再修改报告照片" in r.text


def test_error_file_only_for_the_uploading_organisation_and_gone_after_30_days(
        srv: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The error file keeps the uploaded names in clear: the uploading organisation's accounts may
    download it, the auditor and the admin may not; 30 days after the upload the sweep (on the one
    clock) deletes the upload's folder, and the page and the download say it has expired."""
    import datetime as dt

    from tracker import accounts, clock, config, uploads

    accounts.add_account(srv.ws, "op_a2", "operator", PASSWORD, organisation="甲社会工作服务中心", projects=[A])
    c = srv.client("op_a")
    csrf = csrf_of(c.get(f"/projects/{A}/upload").text)
    loc = upload(c, csrf, "名册.csv", (ROSTER + "P3,王小五,无此人群,寿昌镇,2024-06-05\n").encode())
    token = loc.rsplit("/", 1)[-1]
    r = c.get(loc + "/errors.xlsx")
    assert r.status_code == 200
    cells = [[x.value for x in row] for row in load_workbook(io.BytesIO(r.content)).active.iter_rows()]
    assert [row[1] for row in cells[1:]] == ["张三", "李四", "王小五"]  # the uploaded cells, names in clear
    assert "王小五" not in c.get(loc).text  # the page shows the reasons, not the cells
    assert srv.client("op_a2").get(loc + "/errors.xlsx").status_code == 200  # the same organisation
    for login in ("auditor", "admin"):
        other = srv.client(login)
        r = other.get(loc + "/errors.xlsx")
        assert r.status_code == 403 and "王小五" not in r.text, login  # the auditor: no upload pages at all
        if login == "admin":  # the admin may upload and correct records, but not have this file
            assert "只有上传它的机构的账号可以下载" in r.text
            page = other.get(loc).text
            assert "/errors.xlsx" not in page and "只有上传它的机构的账号可以下载" in page
    folder = config.data_dir() / "uploads" / token
    assert folder.is_dir()

    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + dt.timedelta(days=29))
    assert uploads.sweep(srv.ws) == 0 and folder.is_dir()  # 29 days: kept
    monkeypatch.setattr(clock, "now", lambda: real() + dt.timedelta(days=30, minutes=1))
    assert uploads.sweep(srv.ws) == 1 and not folder.exists()
    monkeypatch.setattr(clock, "now", real)
    r = c.get(loc + "/errors.xlsx")
    assert r.status_code == 404 and "已过期" in r.text
    page = c.get(loc).text
    assert "30 天后删除" in page and "/confirm" not in page
    r = c.post(loc + "/confirm", data={"csrf_token": csrf})
    assert r.status_code == 400 and "已过期" in r.text
