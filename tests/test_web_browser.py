"""The web application in a real browser: Debian's chromium driven by selenium through the matching
chromium-driver, headless, against a real uvicorn on loopback (SQLite; the HTTP security tests cover
PostgreSQL): upload with errors, fix, confirm, the records behind a figure, a record's history, undo a
batch; judge with a photo, the report. Screenshots of every page at 1366×768 and at a phone's 390 px go to
``$TRACKER_SCREENSHOTS`` when set (docs/examples/ holds a few)."""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from web_support import PASSWORD, A, Server, start_server, web_workspace

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)) and not os.environ.get("CI"),
                                reason="chromium/chromedriver 未安装（scripts/system-deps 会安装）")

ROSTER = [["服务对象编号", "姓名", "人群", "乡镇街道", "建档日期"],
          ["P1", "张三", "留守独居老人", "寿昌镇", "2024-06-05"], ["P2", "李四", "留守独居老人", "新安江街道", "2024-06-05"]]
HEAD = ["记录编号", "日期", "活动类型", "服务对象编号", "备注"]
GOOD = [["V1", "2024-07-01", "上门探访", "P1", ""], ["V2", "2024-07-02", "上门探访", "P2", ""],
        ["V3", "2024-08-01", "上门探访", "P1", ""]]


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def photo(path: Path) -> Path:
    """A real PNG photo-like image (matplotlib)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.bar([1, 2, 3], [3, 1, 2], color="#4a7")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture
def srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    s = start_server(web_workspace(f"sqlite:///{tmp_path / 'web.db'}"))
    yield s
    s.stop()
    from tracker.db.connection import dispose_engines

    dispose_engines()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
              "--lang=zh-CN", "--window-size=1366,768", f"--user-data-dir={tmp_path / 'chrome'}"):
        opts.add_argument(a)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    d = webdriver.Chrome(options=opts, service=Service(executable_path=DRIVER))
    d.downloads = downloads  # type: ignore[attr-defined]
    yield d
    d.quit()


class Shots:
    def __init__(self, driver: object) -> None:
        self.d = driver
        out = os.environ.get("TRACKER_SCREENSHOTS")
        self.dir = Path(out) if out else None
        if self.dir:
            self.dir.mkdir(parents=True, exist_ok=True)

    def take(self, name: str) -> None:
        """The page at 1366×768 and at 390 px wide (full height), when screenshots are wanted."""
        if not self.dir:
            return
        d = self.d
        for label, width in (("desktop", 1366), ("phone", 390)):
            d.set_window_size(width, 768)  # type: ignore[attr-defined]
            height = d.execute_script("return Math.max(document.body.scrollHeight, 768)")  # type: ignore[attr-defined]
            d.set_window_size(width, min(int(height) + 100, 3000))  # type: ignore[attr-defined]
            time.sleep(0.2)
            d.save_screenshot(str(self.dir / f"web-{name}-{label}.png"))  # type: ignore[attr-defined]
        d.set_window_size(1366, 768)  # type: ignore[attr-defined]


def login(d, srv: Server, who: str, *, here: bool = False) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    if not here:
        d.get(srv.url + "/login")
    d.find_element(By.NAME, "login").send_keys(who)
    d.find_element(By.NAME, "password").send_keys(PASSWORD)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def wait_text(d, text: str, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    """Wait for the page a click led to (a click returns before the next page has loaded)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(d, timeout).until(lambda _d: text in _d.page_source)


def logout(d) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    d.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
    wait_text(d, 'name="password"')


def visits_cell(d) -> str:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    row = d.find_element(By.ID, f"kpi-{A}.2.visits_total")
    return row.find_elements(By.TAG_NAME, "td")[3].text


def upload(d, srv: Server, path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    d.get(f"{srv.url}/projects/{A}/upload")
    d.find_element(By.NAME, "file").send_keys(str(path))
    d.find_element(By.CSS_SELECTOR, f"form[action='/projects/{A}/upload'] button").click()
    wait_text(d, "检查结果")


def test_operator_and_auditor_in_a_browser(srv: Server, browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d = browser
    shots = Shots(d)
    d.get(srv.url + f"/projects/{A}")  # type: ignore[attr-defined]
    assert "/login" in d.current_url  # type: ignore[attr-defined]
    shots.take("login")
    login(d, srv, "op_a", here=True)  # and back to the page asked for
    wait_text(d, "探访总人次")
    assert d.find_element(By.TAG_NAME, "h1").text == "测试农村老人探访项目（报告）"  # type: ignore[attr-defined]
    assert visits_cell(d) == "0"

    upload(d, srv, write_xlsx(tmp_path / "名册.xlsx", ROSTER))
    d.find_element(By.CSS_SELECTOR, "form[action$='/confirm'] button").click()  # type: ignore[attr-defined]
    wait_text(d, "导入完成：新增 2 条")

    bad = write_xlsx(tmp_path / "七月活动.xlsx", [HEAD, *GOOD, ["V4", "2024-13-01", "上门探访", "P2", ""],
                                                   ["V5", "2024-09-01", "跳广场舞", "P2", ""]])
    upload(d, srv, bad)
    rows = d.find_elements(By.CSS_SELECTOR, "table.errors tbody tr")  # type: ignore[attr-defined]
    table = [[td.text for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]
    assert [r[:2] for r in table] == [["第5行", "日期"], ["第6行", "活动类型"]]
    assert "不是真实存在的日期" in table[0][2] and "上门探访" in table[1][2]  # says what is allowed
    shots.take("upload-errors")

    fixed = write_xlsx(tmp_path / "七月活动（改）.xlsx", [HEAD, *GOOD, ["V4", "2024-12-01", "上门探访", "P2", ""],
                                                          ["V5", "2024-09-01", "上门探访", "P2", ""]])
    upload(d, srv, fixed)
    assert "全部行检查通过" in d.page_source  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, "form[action$='/confirm'] button").click()  # type: ignore[attr-defined]
    wait_text(d, "导入完成")
    d.get(f"{srv.url}/projects/{A}?as_of=2024-12-31")  # type: ignore[attr-defined]
    assert visits_cell(d) == "5"  # V1–V5, as hand-counted
    imgs = d.find_elements(By.CSS_SELECTOR, ".charts img")  # type: ignore[attr-defined]
    assert imgs
    for i in imgs:  # every chart arrives as a real image (they load lazily, each drawn on request)
        d.execute_script("arguments[0].scrollIntoView()", i)  # type: ignore[attr-defined]
        WebDriverWait(d, 60).until(lambda _d, i=i: _d.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", i))
    d.execute_script("window.scrollTo(0, 0)")  # type: ignore[attr-defined]
    shots.take("dashboard")
    d.get(f"{srv.url}/projects/{A}/records/new")  # type: ignore[attr-defined]
    shots.take("record-form")

    # the records behind the figure: click it on the dashboard
    d.get(f"{srv.url}/projects/{A}?as_of=2024-12-31")  # type: ignore[attr-defined]
    d.find_element(By.ID, f"kpi-{A}.2.visits_total").find_elements(By.TAG_NAME, "td")[3].find_element(  # type: ignore[attr-defined]
        By.TAG_NAME, "a").click()
    wait_text(d, "记录列表")
    assert "共 5 条" in d.page_source  # type: ignore[attr-defined]
    rows = d.find_elements(By.CSS_SELECTOR, "table.records tbody tr")  # type: ignore[attr-defined]
    assert sorted(r.find_elements(By.TAG_NAME, "td")[1].text for r in rows) == ["V1", "V2", "V3", "V4", "V5"]
    assert "七月活动（改）.xlsx" in rows[0].text
    shots.take("records")
    rows[0].find_element(By.LINK_TEXT, "历史").click()
    wait_text(d, "的历史")
    assert "导入" in d.find_element(By.CSS_SELECTOR, "table tbody").text  # type: ignore[attr-defined]
    shots.take("history")
    # undo the July batch: the figure goes back to 0
    d.get(f"{srv.url}/projects/{A}/batches")  # type: ignore[attr-defined]
    newest = d.find_elements(By.CSS_SELECTOR, "table.batches tbody tr")[0]  # type: ignore[attr-defined]
    assert "七月活动（改）.xlsx" in newest.text
    newest.find_element(By.NAME, "reason").send_keys("上传了错误的月份")
    shots.take("batches")
    newest.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait_text(d, "已撤销导入批次")
    assert "5 条记录退回" in d.page_source  # type: ignore[attr-defined]
    d.get(f"{srv.url}/projects/{A}?as_of=2024-12-31")  # type: ignore[attr-defined]
    assert visits_cell(d) == "0"
    logout(d)

    login(d, srv, "auditor")
    WebDriverWait(d, 60).until(lambda _d: _d.current_url.endswith("/portfolio"))
    shots.take("portfolio")
    d.get(f"{srv.url}/projects/{A}?as_of=2024-12-31")  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, f"a[href='/projects/{A}/kpis/{A}.6.experience/judge']").click()  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, "input[name=verdict][value=met]").click()  # type: ignore[attr-defined]
    d.find_element(By.NAME, "comment").send_keys("经验总结材料齐全，现场核实")  # type: ignore[attr-defined]
    d.find_element(By.NAME, "photo").send_keys(str(photo(tmp_path / "现场照片.png")))  # type: ignore[attr-defined]
    shots.take("judge")
    d.find_element(By.CSS_SELECTOR, "form[action$='/judge'] button").click()  # type: ignore[attr-defined]
    wait_text(d, "图表")
    row = d.find_element(By.ID, f"kpi-{A}.6.experience")  # type: ignore[attr-defined]
    assert "达标" in row.text
    d.get(f"{srv.url}/projects/{A}/evidence")  # type: ignore[attr-defined]
    assert "现场照片.png" in d.page_source  # type: ignore[attr-defined]

    d.get(f"{srv.url}/projects/{A}/reports")  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, f"form[action='/projects/{A}/reports'] button").click()  # type: ignore[attr-defined]
    wait_text(d, "job-state")
    t0 = time.monotonic()
    while not d.find_elements(By.CSS_SELECTOR, "a.download"):  # type: ignore[attr-defined]
        assert "失败" not in d.find_element(By.ID, "job-state").text  # type: ignore[attr-defined]
        assert time.monotonic() - t0 < 180, "report not done in 3 minutes"
        time.sleep(1)
        d.refresh()  # type: ignore[attr-defined]
    shots.take("report-done")
    link = next(a for a in d.find_elements(By.CSS_SELECTOR, "a.download") if a.text.endswith(".pdf"))  # type: ignore[attr-defined]
    link.click()
    pdf = d.downloads / f"{A}-midterm.pdf"  # type: ignore[attr-defined]
    t0 = time.monotonic()
    while not pdf.exists():
        assert time.monotonic() - t0 < 30, list(d.downloads.iterdir())  # type: ignore[attr-defined]
        time.sleep(0.2)
    assert pdf.read_bytes().startswith(b"%PDF")


def test_operator_chooses_report_photos_in_a_browser(srv: Server, browser: object, tmp_path: Path) -> None:
    """The 报告照片 page: upload two photos on 佐证材料, tick both, caption one, save; the thumbnails load."""
    from PIL import Image, ImageDraw
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tracker import evaluation as ev

    d = browser
    shots = Shots(d)
    login(d, srv, "op_a")
    wait_text(d, "我的项目")
    for name, colour, size, description in [("入户探访.jpg", (190, 80, 60), (1600, 1200), "入户探访独居老人"),
                                            ("志愿者培训.jpg", (60, 90, 180), (1200, 1600), "")]:
        im = Image.new("RGB", size, colour)
        draw = ImageDraw.Draw(im)
        draw.rectangle((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill=(245, 240, 220))
        draw.ellipse((size[0] // 3, size[1] // 3, size[0] * 2 // 3, size[1] * 2 // 3), fill=(40, 40, 40))
        im.save(tmp_path / name, "JPEG", quality=88)
        d.get(f"{srv.url}/projects/{A}/evidence")  # type: ignore[attr-defined]
        d.find_element(By.NAME, "file").send_keys(str(tmp_path / name))  # type: ignore[attr-defined]
        if description:
            d.find_element(By.NAME, "description").send_keys(description)  # type: ignore[attr-defined]
        d.find_element(By.CSS_SELECTOR, f"form[action='/projects/{A}/evidence'] button").click()  # type: ignore[attr-defined]
        wait_text(d, name)
    d.get(f"{srv.url}/projects/{A}/reports")  # type: ignore[attr-defined]
    d.find_element(By.LINK_TEXT, "中期报告照片").click()  # type: ignore[attr-defined]
    wait_text(d, "中期自评报告照片")
    boxes = d.find_elements(By.CSS_SELECTOR, "input[name=photo]")  # type: ignore[attr-defined]
    assert len(boxes) == 2
    for img in d.find_elements(By.CSS_SELECTOR, ".photos img"):  # type: ignore[attr-defined]
        WebDriverWait(d, 30).until(lambda _d, i=img: _d.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", i))
    for b in boxes:
        b.click()
    fig = d.find_elements(By.CSS_SELECTOR, ".photos figure")[0]  # type: ignore[attr-defined]
    assert "志愿者培训.jpg" in fig.text  # newest first
    fig.find_element(By.CSS_SELECTOR, "input[name^=caption_]").send_keys("志愿者培训现场")
    d.find_element(By.XPATH, "//button[text()='保存报告照片']").click()  # type: ignore[attr-defined]
    wait_text(d, "已保存报告照片选择：2 张")
    assert len(d.find_elements(By.CSS_SELECTOR, ".photos figure.chosen")) == 2  # type: ignore[attr-defined]
    shots.take("report-photos")
    sub = ev.find_submission(srv.ws, A, "midterm")
    assert sub is not None
    assert [p["caption"] for p in sub.narrative["photos"]] == ["志愿者培训现场", "入户探访独居老人"]


def test_review_cycle_in_a_browser(srv: Server, browser: object) -> None:
    """The 中期自评 page: the operator writes the four sections and submits; the auditor opens 逐项指标意见,
    comments one KPI and returns it; the operator sees the comment, fixes and resubmits; the auditor's view
    (the narrative, the history, the forms to return or approve) is the screenshot; approving locks."""
    from selenium.webdriver.common.by import By

    from tracker import evaluation as ev

    d = browser
    shots = Shots(d)
    login(d, srv, "op_a")
    wait_text(d, "我的项目")
    d.get(f"{srv.url}/projects/{A}")  # type: ignore[attr-defined]
    d.find_element(By.LINK_TEXT, "评估审核").click()  # type: ignore[attr-defined]
    wait_text(d, "评估与报送")
    d.find_element(By.LINK_TEXT, "中期自评").click()  # type: ignore[attr-defined]
    wait_text(d, "尚未开始填写")
    texts = ["截至10月底累计上门探访 186 人次，覆盖寿昌镇、新安江街道 2 个乡镇街道。",
             "建立“一老一档”，志愿者结对 18 对。", "探访对象 16 人，距 20 人的目标还差 4 人。",
             "11月起在更楼街道新建档 6 人，每月上门不少于 1 次。"]
    for i, t in enumerate(texts):
        d.find_element(By.NAME, f"section_{i}").send_keys(t)  # type: ignore[attr-defined]
    d.find_element(By.XPATH, "//button[text()='保存并提交审核']").click()  # type: ignore[attr-defined]
    wait_text(d, "已提交。")
    logout(d)

    login(d, srv, "auditor", here=True)
    wait_text(d, "auditor（审核员")  # logged in (the login page says 项目 too)
    d.get(f"{srv.url}/projects/{A}/evaluation/midterm")  # type: ignore[attr-defined]
    wait_text(d, "逐项指标意见")
    d.find_element(By.CSS_SELECTOR, "details summary").click()  # type: ignore[attr-defined]
    d.find_element(By.NAME, f"kpi:{A}.2.visit_people").send_keys("探访对象 16 人，请附新建档老人的名册")  # type: ignore[attr-defined]
    d.find_element(By.XPATH, "//form[.//input[@value='return']]//button").click()  # type: ignore[attr-defined]
    wait_text(d, "已退回修改。")
    logout(d)

    login(d, srv, "op_a", here=True)
    wait_text(d, "我的项目")
    d.get(f"{srv.url}/projects/{A}/evaluation/midterm")  # type: ignore[attr-defined]
    wait_text(d, "审核意见")
    assert "探访对象 16 人，请附新建档老人的名册" in d.find_element(By.ID, "returned").text  # type: ignore[attr-defined]
    box = d.find_element(By.NAME, "section_2")  # type: ignore[attr-defined]
    box.send_keys("新建档老人名册已于11月10日导入。")
    d.find_element(By.XPATH, "//button[text()='保存并提交审核']").click()  # type: ignore[attr-defined]
    wait_text(d, "已提交。")
    logout(d)

    login(d, srv, "auditor", here=True)
    wait_text(d, "auditor（审核员")  # logged in (the login page says 项目 too)
    d.get(f"{srv.url}/projects/{A}/evaluation/midterm")  # type: ignore[attr-defined]
    wait_text(d, "第 2 次提交")
    body = d.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
    assert "新建档老人名册已于11月10日导入。" in body and "op_a（社会组织填报人）" in body
    shots.take("evaluation-auditor")
    d.find_element(By.XPATH, "//form[.//input[@value='approve']]//button").click()  # type: ignore[attr-defined]
    wait_text(d, "已批准。")
    assert "期内记录已锁定" in d.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
    sub = ev.find_submission(srv.ws, A, "midterm")
    assert sub is not None and (sub.state, sub.round, sub.locked) == ("approved", 2, True)
