"""Per-project reports (issue 5) on SQLite and PostgreSQL: the figures in the HTML are the engine's
and the hand-worked values of tests/fixtures/reports/seed.py; regeneration is byte-identical; a
report as known on the mid-term date ignores records entered later; the PDF embeds Noto Sans CJK
and carries the Chinese text and the charts; an empty project renders."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "reports"))

import seed
from support import SPECS, raw, render_warnings_fail, verdict_rows  # noqa: F401

from tracker.measure.progress import compute_progress
from tracker.reports import render_project_report
from tracker.reports.notes import add_note
from tracker.reports.project import build_project_report
from tracker.workspace import open_workspace

MID = dt.date(2024, 11, 15)
# The end of the mid-term day, Beijing time: the late records (entered 2024-12-05) are not yet known.
KNOWN_MID = dt.datetime(2024, 11, 15, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))
GEN = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.fixture
def ws(db_url: str):  # type: ignore[no-untyped-def]
    w = open_workspace(db_url, SPECS)
    seed.seed(w.engine)
    return w


def test_midterm_figures_are_the_engines_and_the_hand_worked_ones(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = render_project_report(ws, seed.CODE, "midterm", None, tmp_path, generated_at=GEN)
    assert files.html == tmp_path / "2099B001-midterm.html"
    assert files.pdf == tmp_path / "2099B001-midterm.pdf"
    html = files.html.read_text("utf-8")
    rows = verdict_rows(html)
    engine = compute_progress(ws, seed.CODE, MID)
    assert list(rows) == [k.id for k in engine.kpis]
    for k in engine.kpis:
        r = rows[k.id]
        assert r["status"] == k.status, k.id
        assert r["actual_value"] == raw(k.actual), k.id
        assert r["target_value"] == raw(k.target), k.id
        assert r["violations_text"] == str(k.violations), k.id
        assert r["evidence_text"] == str(k.evidence), k.id
    # Hand-worked (seed.py): 99 visits by 20 people in 3 towns, 3 valid trainings of 4, 9/10 satisfied.
    by_key = {k.split(".")[-1]: r for k, r in rows.items()}
    assert by_key["visits_total"]["actual_value"] == "99"
    assert by_key["visits_total"]["completion_text"] == "49.5%"
    assert by_key["visit_people"]["actual_value"] == "20"
    assert by_key["towns_covered"]["status"] == "met"
    assert by_key["trainings"]["actual_value"] == "3"
    assert by_key["trainings"]["violations_text"] == "1"
    assert by_key["satisfaction"]["actual_value"] == "90"
    assert by_key["visits_monthly"]["violations_text"] == "1"  # P020 had no visit in September
    assert by_key["experience"]["status_text"] == "待评定"
    # Header, verbatim clause text, funds (12 000 + 8 000.50 + 3 000 of 300 000), missing evidence.
    assert '<html lang="zh-CN">' in html
    assert "测试社会工作服务中心" in html and "建德市、淳安县" in html
    assert "探访对象不少于20人，每月上门不少于1次，总数不少于200人次" in html
    assert "支出 <strong>23,000.5</strong> 元" in html and "执行率 <strong>7.7%</strong>" in html
    assert "成果“中期调研报告”（调研报告，2024-10-01）未提交文件" in html
    assert "上门探访：9 条活动记录没有签到表或照片等佐证" in html  # every 10th of 99 visits
    # Violations appendix: names masked, never in clear.
    for name in seed.NAMES:
        assert name not in html
    assert "2024-09" in html and "P020" in html
    # Summary: only clause 1 is met (2: monthly rule missed, P020's September cannot be made up; 3: trainings behind; 4 and 5 on track
    # until the end; 6: the manual KPI is still pending).
    assert 'id="clauses-met">1</strong> / 6' in html
    clauses = build_project_report(ws, seed.CODE, "midterm", with_charts=False).clauses
    assert [c.status for c in clauses] == ["met", "missed", "behind", "on_track", "on_track", "pending"]
    # Charts: burn-ups for visits_total and trainings, monthly volume, per-person, satisfaction.
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) == 5
    assert "生成时间：" not in html and "2025-01-02" not in html  # the generation time lives only in the PDF


def test_fund_use_by_budget_line(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Hand-worked from the fixture's budget (2099B001.yaml) and seed.py's three expenses of September:
    人员费用 12 000 of 200 000 = 6.0 %; 活动费用 8 000.50 of 6 000 = 133.3 %, over by 2 000.50;
    办公费用 0 of 94 000 = 0.0 %; 宣传费用 3 000 outside the budget; 23 000.50 of 300 000 = 7.7 %."""
    r = build_project_report(ws, seed.CODE, "midterm", with_charts=False)
    got = [(b.category, b.approved, b.spent, b.count, None if b.rate is None else round(b.rate, 1), b.over)
           for b in r.funds.budget]
    D = Decimal
    assert got == [("人员费用", D("200000.00"), D("12000.00"), 1, 6.0, D("0.00")),
                   ("活动费用", D("6000.00"), D("8000.50"), 1, 133.3, D("2000.50")),
                   ("办公费用", D("94000.00"), D("0.00"), 0, 0.0, D("0.00")),
                   ("宣传费用", None, D("3000.00"), 1, None, D("3000.00"))]
    assert r.funds.approved == D("300000.00") and round(r.funds.budget_rate, 1) == 7.7
    files = render_project_report(ws, seed.CODE, "midterm", None, tmp_path, generated_at=GEN)
    text = subprocess.run(["pdftotext", "-layout", str(files.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "人员费用 200,000.00 12,000.00 1 6.0% 未超支" in lines
    assert "活动费用 6,000.00 8,000.50 1 133.3% 超支 2,000.50 元" in lines
    assert "办公费用 94,000.00 0.00 0 0.0% 未超支" in lines
    assert any(x.startswith("宣传费用 — 3,000.00 1 — 预算外支出") for x in lines), text
    assert "合计 300,000.00 23,000.50 3 7.7%" in lines
    flat = "".join(text.split())
    assert "核定预算合计300,000.00元，已支出23,000.50元，预算执行率7.7%；2个科目超支或在预算外" in flat


def test_a_deliverable_type_of_hundreds_is_summarised_not_listed_file_by_file(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """一户一档 gives one deliverable per household, hundreds in a project: the appendix gives such a
    type by its counts and the records page lists the files, so the PDF stays a few pages (a 592-file
    list made one report 20 pages and 6.9 s). Hand-worked: seed.py's one 调研报告 without a file plus
    31 more, for P001…P020 in turn (20 people), the 6 of i % 5 == 0 (i = 5, 10, …, 30) without a file:
    32 reports, 25 with a file, 7 without; 32 > 30, so not itemised."""
    from tracker.db.models import Deliverable
    from tracker.reports.query import DELIVERABLES_ITEMISED

    assert DELIVERABLES_ITEMISED == 30
    seed._insert(ws.engine, {Deliverable: [
        {**seed._base(100 + i, "d"), "date": dt.date(2024, 9, 1), "deliverable_type": "report",
         "title": f"档案{i}", "person_id": f"P{(i - 1) % 20 + 1:03d}", "file": None if i % 5 == 0 else f"档案{i}.pdf"}
        for i in range(1, 32)]})
    r = build_project_report(ws, seed.CODE, "midterm", with_charts=False)
    [t] = r.deliverable_types
    assert (t["type_label"], t["count"], t["with_file"], t["without_file"], t["people"], t["itemised"]) == (
        "调研报告", 32, 25, 7, 20, False)
    assert r.deliverables == [] and r.missing_deliverables == []
    html = render_project_report(ws, seed.CODE, "midterm", None, tmp_path, generated_at=GEN).html.read_text("utf-8")
    row = re.search(r'<tr data-type="report">(.*?)</tr>', html).group(1)
    assert re.findall(r"<td[^>]*>(.*?)</td>", row)[:5] == ["调研报告", "32", "25", "7", "20"]
    assert "不逐份列出" in row and 'id="deliverables"' not in html and "档案1" not in html
    assert "调研报告：7 份成果记录未提交文件（逐份清单见系统的“记录”页面，记录类型选“成果”）" in html
    assert "成果“中期调研报告”" not in html


def test_a_budget_over_the_funding_or_with_a_repeated_line_is_refused(tmp_path: Path) -> None:
    import yaml
    from pydantic import ValidationError

    from tracker.kpispec.model import Spec

    d = yaml.safe_load((SPECS / "2099B001.yaml").read_text("utf-8"))
    d["budget"] = [{"科目": "人员费用", "金额": 250000}, {"科目": "活动费用", "金额": 60000}]
    with pytest.raises(ValidationError, match=re.escape("预算合计 310,000.00 元超过资助金额 300,000.00 元")):
        Spec.model_validate(d)
    d["budget"] = [{"科目": "人员费用", "金额": 1000}, {"科目": "人员 费用", "金额": 1000}]
    with pytest.raises(ValidationError, match="预算科目 “人员 费用” 重复"):
        Spec.model_validate(d)


def test_html_is_byte_identical_on_regeneration(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = render_project_report(ws, seed.CODE, "final", None, tmp_path / "a",
                              generated_at=dt.datetime(2025, 4, 1, tzinfo=dt.UTC))
    b = render_project_report(ws, seed.CODE, "final", None, tmp_path / "b",
                              generated_at=dt.datetime(2025, 5, 9, 8, 7, tzinfo=dt.UTC))
    assert a.html.read_bytes() == b.html.read_bytes()
    assert a.fingerprint == b.fingerprint
    # The generation time is in the PDF (footer), so the PDFs differ.
    ta = subprocess.run(["pdftotext", str(a.pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "生成时间：2025-04-01 08:00:00" in ta


def test_as_known_on_midterm_keeps_midterm_figures_after_later_records(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = render_project_report(ws, seed.CODE, "midterm", MID, tmp_path / "before", KNOWN_MID, pdf=False)
    seed.seed_late(ws.engine)  # 10 visits dated 2024-11-10, entered 2024-12-05, and an expense
    now = render_project_report(ws, seed.CODE, "midterm", MID, tmp_path / "now", pdf=False)
    again = render_project_report(ws, seed.CODE, "midterm", MID, tmp_path / "again", KNOWN_MID, pdf=False)
    h_before, h_now, h_again = (f.html.read_text("utf-8") for f in (before, now, again))
    assert h_again == h_before
    assert "按 2024-11-15 已录入的记录计算" in h_again
    assert "按 2024-11-15 已录入的记录计算" not in h_now
    total = next(k for k in verdict_rows(h_again) if k.endswith("visits_total"))
    assert verdict_rows(h_again)[total]["actual_value"] == "99"
    assert verdict_rows(h_now)[total]["actual_value"] == "109"
    assert now.fingerprint != before.fingerprint and again.fingerprint == before.fingerprint
    assert "支出 <strong>28,000.5</strong> 元" in h_now and "支出 <strong>23,000.5</strong> 元" in h_again


def test_notes_appear_with_author_and_date_and_as_known_on_hides_later_ones(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    t1 = dt.datetime(2024, 11, 10, 2, tzinfo=dt.UTC)
    add_note(ws, seed.CODE, "reason", "部分志愿者培训因台风取消", "王社工", kpi="trainings", at=t1)
    add_note(ws, seed.CODE, "remedy", "十二月起每月加开两场", "王社工", kpi="2099B001.3.trainings", at=t1)
    add_note(ws, seed.CODE, "plan", "下半周期完成调研报告定稿", "李主任", at=t1)
    add_note(ws, seed.CODE, "plan", "后补的计划", "李主任", at=dt.datetime(2024, 12, 1, tzinfo=dt.UTC))
    h = render_project_report(ws, seed.CODE, "midterm", MID, tmp_path, KNOWN_MID, pdf=False).html.read_text("utf-8")
    assert "<strong>未完成原因：</strong>部分志愿者培训因台风取消" in h
    assert "<strong>改进措施：</strong>十二月起每月加开两场" in h
    assert "王社工，2024-11-10" in h
    assert "下半周期完成调研报告定稿" in h and "后补的计划" not in h
    final = render_project_report(ws, seed.CODE, "final", None, tmp_path, pdf=False).html.read_text("utf-8")
    assert "下一步计划" not in final  # the plan belongs to the mid-term report only


def test_note_rejects_bad_input_in_chinese(ws) -> None:  # type: ignore[no-untyped-def]
    from tracker.errors import TrackerError

    with pytest.raises(TrackerError, match="topic 只能是"):
        add_note(ws, seed.CODE, "excuse", "x", "a", kpi="trainings")
    with pytest.raises(TrackerError, match="须针对某个指标"):
        add_note(ws, seed.CODE, "reason", "x", "a")
    with pytest.raises(TrackerError, match=r"没有指标 “trainingz”.*trainings"):
        add_note(ws, seed.CODE, "reason", "x", "a", kpi="trainingz")
    with pytest.raises(TrackerError, match="不能为空"):
        add_note(ws, seed.CODE, "plan", "  ", "a")


def test_pdf_embeds_cjk_font_and_has_text_and_figures(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = render_project_report(ws, seed.CODE, "final", None, tmp_path, generated_at=GEN)
    fonts = subprocess.run(["pdffonts", str(files.pdf)], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "Noto-Sans-CJK-SC" in line]
    assert cjk and all(line.split()[-5] == "yes" for line in cjk), fonts  # emb column
    text = subprocess.run(["pdftotext", "-layout", str(files.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for s in ("终期评估报告", "逐条核查", "探访总人次", "资金使用", "附录三 成果清单", "不合格",
              "图1"):
        assert s in text, s
    assert re.search(r"第\s*1\s*页\s*/\s*共\s*\d+\s*页", text)
    images = subprocess.run(["pdfimages", "-list", str(files.pdf)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    images = [line for line in images if line.split()[2] == "image"]  # not the alpha masks
    assert len(images) == 5


def test_a_project_quiet_last_month_says_so_on_page_one(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """seed.py's records end in October: as of 2024-12-31 December is the last elapsed month and has
    nothing dated in it; at the mid-term (October has records) nothing is said."""
    as_of = dt.date(2024, 12, 31)
    assert compute_progress(ws, seed.CODE, as_of).silence == "quiet_last_month"
    html = render_project_report(ws, seed.CODE, "midterm", as_of, tmp_path, generated_at=GEN).html.read_text("utf-8")
    page_one = html[:html.index('id="verdict"')]
    assert "最近一个完整月份（2024年12月）没有任何记录" in page_one
    mid = render_project_report(ws, seed.CODE, "midterm", None, tmp_path, generated_at=GEN).html.read_text("utf-8")
    assert compute_progress(ws, seed.CODE, MID).silence is None and 'id="silence"' not in mid


def test_empty_project_renders_every_kpi(db_url: str, tmp_path: Path) -> None:
    ws = open_workspace(db_url, SPECS)
    for which in ("midterm", "final"):
        files = render_project_report(ws, seed.EMPTY, which, None, tmp_path, generated_at=GEN)
        html = files.html.read_text("utf-8")
        engine = compute_progress(ws, seed.EMPTY, MID if which == "midterm" else dt.date(2025, 3, 31))
        rows = verdict_rows(html)
        assert [(k, r["status"]) for k, r in rows.items()] == [(k.id, k.status) for k in engine.kpis]
        if which == "midterm":  # nothing entered yet: every KPI 待评定, none judged behind
            assert {k.status for k in engine.kpis} == {"pending"}
            assert html.count("待评定") >= len(engine.kpis)
        # page one says so, before the verdict box; it never says nothing is behind
        assert engine.silence == "no_records"
        page_one = html[:html.index('id="verdict"')]
        assert 'id="silence"' in page_one and "本项目尚无服务记录" in page_one
        assert "没有进度滞后或未达标的指标" not in html
        # Burn-ups still show the pacing line; nothing else has records to draw.
        assert "每月活动记录数" not in html and "各类调查对象满意率" not in html
        assert "没有违规记录" in html and "没有成果记录" in html
        assert "—（无支出记录）" in html
        assert files.pdf.stat().st_size > 10_000
    assert "<span class=\"grade\" id=\"grade\">不合格</span>" in html  # final: nothing delivered


def test_evidence_files_are_listed_in_the_appendix(ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Evidence attached to a record, a judgement and the project: 附录四 lists each with its type,
    size, what it belongs to (the KPI's label for a judgement), uploader and checksum; names are
    escaped and ID numbers masked; a report as known before an upload leaves that file out."""
    import hashlib
    import io

    from tracker import files
    from tracker.db.accounts import EvidenceFile

    sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
    from records_support import id_number

    idn = id_number(birth="19450312", seq="011")
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048
    pdf = b"%PDF-1.4\n" + b"0" * 1000 + b"\n%%EOF\n"
    files.store_evidence(ws, seed.CODE, "<script>x</script>签到表.png", io.BytesIO(png), "ngo1",
                         attached_to="record", attached_id="V1", description=f"7月1日探访签到 {idn}")
    files.store_evidence(ws, seed.CODE, "经验总结.pdf", io.BytesIO(pdf), "审核员甲",
                         attached_to="judgement", attached_id=f"{seed.CODE}.6.experience")
    with ws.session() as s:  # one file uploaded long ago, before the mid-term
        s.add(EvidenceFile(project_code=seed.CODE, sha256="ab" * 32, file_name="开班照片.jpg", content_type="image/jpeg",
                           size=5120, uploaded_by="ngo1", uploaded_at=dt.datetime(2024, 10, 1, 2, 0, tzinfo=dt.UTC)))
        s.commit()
    html = build_and_render(ws, tmp_path / "now", None)
    part = html[html.index("附录四 佐证材料"):]
    rows = re.findall(r"<tr><td class=\"nowrap\">(\d+)</td>(.*?)</tr>", part)
    assert len(rows) == 3
    text = [re.sub(r"<[^>]+>", "|", r[1]) for r in rows]
    assert "开班照片.jpg" in text[0] and "|照片|" in text[0] and "|5.0|" in text[0] and "abababababab" in text[0]
    assert "签到表.png" in text[1] and "|记录 V1|" in text[1] and "|2.0|" in text[1]
    assert idn not in html and idn[:17] not in html and "7月1日探访签到" in text[1]
    assert hashlib.sha256(png).hexdigest()[:12] in text[1]
    assert "|PDF|" in text[2] and "评定 第6条 形成可复制的经验" in text[2] and "审核员甲" in text[2]
    assert "<script>" not in html
    # as known at the end of the mid-term day: only the file uploaded before it
    html = build_and_render(ws, tmp_path / "mid", KNOWN_MID)
    part = html[html.index("附录四 佐证材料"):]
    assert "开班照片.jpg" in part and "签到表.png" not in part and "经验总结" not in part and "共 1 份" in part


def build_and_render(ws, out: Path, known_on: dt.datetime | None) -> str:  # type: ignore[no-untyped-def]
    files = render_project_report(ws, seed.CODE, "midterm", MID, out, known_on, pdf=False)
    return files.html.read_text("utf-8")
