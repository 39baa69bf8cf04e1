"""A report an evaluator would sign: page one names the organisation, period, evaluation date,
evaluators and verdict; the narrative, review comments, manual verdicts with their evidence, the
sources of violations, a sign-off block and the audit chain head appear; no command line appears;
the signed report regenerates byte-identical (HTML and PDF) after later writes (both databases)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "reports"))

import seed
from support import SPECS

from tracker import audit
from tracker import evaluation as ev
from tracker.errors import TrackerError
from tracker.measure.judgements import record_judgement
from tracker.reports import render_project_report
from tracker.reports.evaluation import render_signed_report
from tracker.workspace import open_workspace

REPO = Path(__file__).resolve().parent.parent
NARRATIVE = {"项目进展概述": "累计探访99人次，覆盖三个乡镇。", "亮点与成效": "服务对象满意率90%。",
             "存在问题": "培训场次滞后，一场不足15人。", "下一步计划": "十二月起每月加开两场培训。"}


@pytest.fixture
def ws(db_url: str):  # type: ignore[no-untyped-def]
    w = open_workspace(db_url, SPECS)
    seed.seed(w.engine)
    return w


def _pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-layout"] + (["-f", str(first), "-l", str(last)] if first else []) + [str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def test_signed_midterm_report(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kpi = f"{seed.CODE}.3.trainings"
    manual = next(ws.spec(seed.CODE).kpi_id(c, k) for c, k in ws.spec(seed.CODE).iter_kpis() if k.kind.value == "manual")
    record_judgement(ws, manual, "met", "抽查档案5份，3份未更新近况，其余完整", "周审核")
    sub = ev.open_submission(ws, seed.CODE, "midterm", actor="王社工", role="operator", narrative=NARRATIVE)
    ev.submit(ws, sub.id, actor="王社工")
    ev.return_submission(ws, sub.id, actor="周审核", comment="请补充培训签到表", kpi_comments={kpi: "一场只有12人，请说明"})
    ev.submit(ws, sub.id, actor="王社工")
    ev.approve(ws, sub.id, actor="周审核", comment="同意通过中期评估，培训须在下半周期补足")
    signed = render_signed_report(ws, sub.id, tmp_path / "a")
    html = signed.html.read_text("utf-8")

    page1 = _pdf_text(signed.pdf, 1, 1)
    assert "测试社会工作服务中心" in page1  # 承接组织
    assert "2024-06-01 至" in page1 and "评估日期" in page1
    assert "周审核" in page1 and "评估结论" in page1
    assert re.search(r'id="evaluators">周审核</td>', html)
    assert "中期自评：已批准（第 2 次提交）；期内记录已锁定" in html
    for title, text in NARRATIVE.items():
        assert f"<h3>{title}</h3>\n<p>{text}</p>" in html
    assert "退回修改意见：</strong>请补充培训签到表" in html and "第3条" in html and "一场只有12人，请说明" in html
    assert "人工评定：<strong>达标</strong>；依据：抽查档案5份，3份未更新近况，其余完整；评定人：周审核" in html
    assert 'class="num expected"' in html and "<th class=\"num\">应完成</th>" in html
    assert "由 <strong>周审核</strong> 批准签署" in html and "评估专家（签字）" in html
    head = audit.head_at(ws.engine.connect(), sub.approved_at or ev.get_submission(ws, sub.id).approved_at)
    assert head is not None and f'id="chain-head">{head.hash[:16]}</span>' in html
    text = _pdf_text(signed.pdf)
    assert "审计链" in text and head.hash[:16] in text
    assert "tracker " not in html and "--project" not in html and "--topic" not in html

    # later writes (a record after the period, an unlock and an amendment inside it) change nothing
    from tracker.records import import_rows

    ev.unlock(ws, sub.id, actor="周审核", reason="补录")
    import_rows(ws, seed.CODE, "expense", [{"日期": "2024-11-12", "科目": "活动费用", "金额（元）": "999"}],
                source_name="补录.xlsx")
    again = render_signed_report(ws, sub.id, tmp_path / "b")
    assert again.html.read_bytes() == signed.html.read_bytes()
    assert again.pdf.read_bytes() == signed.pdf.read_bytes()
    live = render_project_report(ws, seed.CODE, "midterm", None, tmp_path / "c", pdf=False).html.read_text("utf-8")
    assert live != html


def test_violations_in_chinese_with_value_rule_and_source(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A training of 12 (the rule: at least 20 a session) imported from row 3 of sheet 培训台账, and
    seed.py's P020 with no visit in September, read back from the PDF's text."""
    from openpyxl import Workbook

    from tracker.records import import_file

    wb = Workbook()
    sh = wb.active
    sh.title = "培训台账"
    sh.append(["记录编号", "日期", "活动类型", "参与人数", "时长（小时）"])
    sh.append(["T-9", "2024-10-28", "志愿者培训", 21, 2])
    sh.append(["T-10", "2024-10-29", "志愿者培训", 12, 2])
    wb.save(tmp_path / "培训.xlsx")
    assert import_file(ws, tmp_path / "培训.xlsx", seed.CODE, "activity").imported == 2
    files = render_project_report(ws, seed.CODE, "midterm", None, tmp_path)
    text = subprocess.run(["pdftotext", str(files.pdf), "-"], capture_output=True, text=True, check=True).stdout
    appendix = "".join(text.split("附录一", 1)[1].split("附录二", 1)[0].split())
    assert ("2024-10-29志愿者培训（记录编号T-10）：参与人数12人，规则为每条记录参与人数不少于20人"
            "（来源：培训.xlsx工作表“培训台账”第3行）") in appendix, appendix
    assert "2024-09P020张**每人每月上门次数：本月0次，规则为每月不少于1次（来源：服务对象名册" in appendix, appendix
    assert "第3条志愿者培训场次（2条）" in appendix  # seed's training of 15 and this one
    full = files.html.read_text("utf-8")
    html = full.split("附录一", 1)[1].split("附录二", 1)[0]
    for english in ("participants", ">=", "≥", "roster", "home_visit"):
        assert english not in html, english
    # the per-person chart of a monthly rule says it plots person-months
    assert "每人每月上门次数：各人各月实际数量的分布" in full
    assert "记录 " not in html  # no database ids


def _photo(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (1600, 1200)) -> Path:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", size, colour)
    d = ImageDraw.Draw(im)
    d.rectangle((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill=(250, 250, 250))
    d.ellipse((size[0] // 3, size[1] // 3, size[0] * 2 // 3, size[1] * 2 // 3), fill=(20, 20, 20))
    im.save(path, "JPEG", quality=90)
    return path


def test_signed_report_shows_the_chosen_photos_as_thumbnails(ws, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tracker import files

    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))

    def upload(name: str, path: Path, description: str | None = None, code: str = seed.CODE) -> int:
        with path.open("rb") as f:
            return files.store_evidence(ws, code, name, f, "王社工", description=description).id

    a = upload("入户.jpg", _photo(tmp_path / "a.jpg", (200, 60, 60)), "入户探访独居老人")
    b = upload("培训.jpg", _photo(tmp_path / "b.jpg", (60, 60, 200), (900, 1600)))
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    c = upload("签到表.pdf", pdf)
    other = upload("别的项目.jpg", _photo(tmp_path / "d.jpg", (0, 120, 0)), code=seed.EMPTY)
    sub = ev.open_submission(ws, seed.CODE, "midterm", actor="王社工", role="operator", narrative=NARRATIVE)
    with pytest.raises(TrackerError, match="不是照片：报告只附 JPG、PNG 照片"):
        ev.choose_photos(ws, sub.id, [(c, None)], actor="王社工", role="operator")
    with pytest.raises(TrackerError, match=f"项目 {seed.CODE} 没有编号为 {other} 的证据文件"):
        ev.choose_photos(ws, sub.id, [(other, None)], actor="王社工", role="operator")
    with pytest.raises(TrackerError, match="报告照片由社会组织选择"):
        ev.choose_photos(ws, sub.id, [(a, None)], actor="周审核", role="auditor")
    ev.choose_photos(ws, sub.id, [(a, None), (b, "志愿者培训现场")], actor="王社工", role="operator")
    ev.submit(ws, sub.id, actor="王社工")
    with pytest.raises(TrackerError, match="不能再修改报告照片"):
        ev.choose_photos(ws, sub.id, [], actor="王社工", role="operator")
    ev.approve(ws, sub.id, actor="周审核", comment="同意")
    signed = render_signed_report(ws, sub.id, tmp_path / "r")
    html = signed.html.read_text("utf-8")
    assert len(re.findall(r'<img src="data:image/jpeg;base64,', html.split('id="photos"', 1)[1].split("</div>", 1)[0])) == 2
    text = "".join(_pdf_text(signed.pdf).split())
    assert "项目照片" in text and "1.入户探访独居老人（" in text and "2.志愿者培训现场（" in text
    # embedded small: at most 640×480 pixels each, whatever the size uploaded
    listing = subprocess.run(["pdfimages", "-list", str(signed.pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    sizes = {(int(x.split()[3]), int(x.split()[4])) for x in listing if x.split()[2] == "image"}
    assert (640, 480) in sizes and (270, 480) in sizes, sizes
    # the choice is an audited change of the submission (seed.py's rows are written around tracker)
    checked = audit.verify(ws)
    assert checked.total_problems == len(checked.problems)
    assert not [x for x in checked.problems if x.where.startswith("submission")]
    again = render_signed_report(ws, sub.id, tmp_path / "r2")
    assert again.pdf.read_bytes() == signed.pdf.read_bytes()


def test_templates_print_no_command_line() -> None:
    for path in (REPO / "tracker" / "reports" / "assets").glob("*.j2"):
        text = path.read_text("utf-8")
        assert not re.search(r"tracker [a-z]", text), path.name
        assert "--project" not in text and "--topic" not in text, path.name


@pytest.mark.parametrize("combine", ["average", "chair"])
def test_evaluators_scores_beside_the_pre_score(ws, tmp_path: Path, monkeypatch, combine: str) -> None:  # type: ignore[no-untyped-def]
    from tracker.errors import TrackerError
    from tracker.evaluation.scores import record_score
    from tracker.reports.project import build_project_report

    text = (REPO / "tracker" / "reports" / "assets" / "scoring.yaml").read_text("utf-8").replace("use: plain", "use: score_60")
    text = text.replace("combine: average", f"combine: {combine}")
    (tmp_path / "scoring.yaml").write_text(text, "utf-8")
    monkeypatch.setenv("TRACKER_SCORING", str(tmp_path / "scoring.yaml"))
    sub = ev.open_submission(ws, seed.CODE, "midterm", actor="王社工", role="operator", narrative=NARRATIVE)
    ev.submit(ws, sub.id, actor="王社工")
    record_score(ws, sub.id, evaluator="周审核", dimension="项目实施", score=30, comment="探访进度偏慢",
                 evidence="抽查档案5份")
    record_score(ws, sub.id, evaluator="吴专家", dimension="项目实施", score=36, chair=True, comment="总体按计划")
    for dim, s in (("项目成效", 25), ("资金使用", 10), ("项目管理", 12)):
        record_score(ws, sub.id, evaluator="周审核", dimension=dim, score=s)
    with pytest.raises(TrackerError, match="“资金使用”的分数应在 0 到 15 之间，收到 20"):
        record_score(ws, sub.id, evaluator="周审核", dimension="资金使用", score=20)
    with pytest.raises(TrackerError, match="没有评分维度“宣传”"):
        record_score(ws, sub.id, evaluator="周审核", dimension="宣传", score=1)
    r = build_project_report(ws, seed.CODE, "midterm", with_charts=False)
    es = r.evaluated
    impl = es.dimensions[0]
    # average: (30 + 36) / 2 = 33 → 33 + 25 + 10 + 12 = 80; chair: 36 → 83
    assert impl.score == (33 if combine == "average" else 36)
    assert impl.how == ("2 位专家平均" if combine == "average" else "组长 吴专家 决定")
    assert es.total == (80 if combine == "average" else 83) and es.grade == "合格" and es.complete
    assert impl.pre_score == r.score.dimensions[0].score and es.pre_total == r.score.total
    html = render_project_report(ws, seed.CODE, "midterm", None, tmp_path / "o", pdf=False).html.read_text("utf-8")
    assert f"专家评分 {es.total:g} 分；按记录预评" in html
    assert "吴专家（组长）：36 分；总体按计划" in html and "周审核：30 分；探访进度偏慢；依据：抽查档案5份" in html
    assert re.search(r'id="evaluators">周审核、吴专家</td>', html)
    ev.approve(ws, sub.id, actor="周审核")
    with pytest.raises(TrackerError, match="已批准签署，不能再修改评分"):
        record_score(ws, sub.id, evaluator="周审核", dimension="项目成效", score=20)


def test_signed_final_report_has_what_an_evaluator_signs(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 item 5, read back from the signed final report's PDF text: page one (承接组织, period,
    evaluation date, evaluators, verdict), every clause with target, 应完成, actual, status and evidence
    count, a manual verdict with its evidence, evaluator and date, the narrative, fund use by budget
    line, the mid-term findings followed up, the sign-off block; no command line, option or English
    key anywhere in the text."""
    from tracker import clock

    manual = next(ws.spec(seed.CODE).kpi_id(c, k) for c, k in ws.spec(seed.CODE).iter_kpis() if k.kind.value == "manual")
    record_judgement(ws, manual, "met", "抽查档案5份，3份未更新近况，其余完整", "周审核")
    mid = ev.open_submission(ws, seed.CODE, "midterm", actor="王社工", role="operator", narrative=NARRATIVE)
    ev.submit(ws, mid.id, actor="王社工")
    ev.return_submission(ws, mid.id, actor="周审核", comment="请补充培训签到表",
                         kpi_comments={f"{seed.CODE}.3.trainings": "一场只有12人，请说明"})
    ev.submit(ws, mid.id, actor="王社工")
    ev.approve(ws, mid.id, actor="周审核", comment="培训须在下半周期补足")
    final_text = {"项目进展概述": "全周期探访一百余人次。", "亮点与成效": "建立了邻里守望小组。",
                  "存在问题": "志愿者流动较大。", "下一步计划": "与镇街共建长效机制。"}
    fin = ev.open_submission(ws, seed.CODE, "final", actor="王社工", role="operator", narrative=final_text)
    ev.submit(ws, fin.id, actor="王社工")
    ev.approve(ws, fin.id, actor="李专家", comment="同意结项")
    approved_on = clock.local_date(ev.get_submission(ws, fin.id).approved_at)
    signed = render_signed_report(ws, fin.id, tmp_path / "final")

    page1 = "".join(_pdf_text(signed.pdf, 1, 1).split())
    assert "承接组织测试社会工作服务中心" in page1
    assert "项目周期2024-06-01至2025-03-31" in page1
    assert f"评估日期{approved_on}" in page1
    assert re.search(r"评估专家(周审核、李专家|李专家)", page1), page1
    verdict = re.search(r"评估结论(\S{2,6}?)（?", page1)
    assert verdict and verdict[1] and not verdict[1].startswith("（"), page1
    text = _pdf_text(signed.pdf)
    flat = "".join(text.split())
    # every clause: target, 应完成, actual, 完成率, status, violations, evidence count
    assert "指标目标应完成实际完成率状态违规佐证" in flat
    assert f"人工评定：达标；依据：抽查档案5份，3份未更新近况，其余完整；评定人：周审核；评定日期：{clock.today()}" in flat
    for title, body in final_text.items():
        assert title in flat and body in flat, title
    assert "中期评估意见及整改情况" in flat and "中期退回意见：请补充培训签到表" in flat and "一场只有12人，请说明" in flat
    assert "中期评估意见：培训须在下半周期补足" in flat
    for line in ("人员费用", "活动费用", "办公费用", "预算执行率"):
        assert line in flat, line
    assert "评估专家（签字）" in flat and "由李专家批准签署" in flat
    # no command line, no option, no English key
    assert "tracker " not in text and "--" not in text
    keys = set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", text)) | set(re.findall(r"\b(?:midterm|final|met|missed|"
                                                                         r"behind|on_track|pending|roster|activity)\b", text))
    assert not keys, keys
