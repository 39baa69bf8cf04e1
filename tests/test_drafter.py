"""The spec drafter: what it drafts from clause texts in several layouts (checked by hand), that a
drafted spec validates and lists its KPIs to review, ``spec draft`` on a Word table, ``spec new`` for a
project in no table, the second programme beside 2024, and the comparison with the 2024 specs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tracker.kpispec.draft import draft_spec
from tracker.kpispec.loader import parse_spec_text
from tracker.kpispec.model import Spec
from tracker.kpispec.release_generic import Line, split_numbered
from tracker.kpispec.release_table import ReleaseProject

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=180, input=stdin)


def drafted(text: str, target_groups: str = "社区老人") -> Spec:
    clauses, _ = split_numbered([Line(t, i) for i, t in enumerate(text.split("\n"), 1)])
    p = ReleaseProject(code="T2025-01", name="测试项目", category_text="为老服务类", header_name=None,
                       header_funding_wan=None, funding_wan=20, summary="", target_groups=target_groups,
                       service_scale="", area_text="测试区", period_text="", period=None, eligibility="",
                       clauses=clauses, line=1, category_label="为老服务类")
    return Spec.model_validate(draft_spec(p))


def kpis(spec: Spec, clause: int | str) -> list[tuple]:
    c = next(c for c in spec.clauses if c.clause == clause)
    return [(k.kind.value, k.target, k.unit, k.comparator.value,
             tuple((b.field.value, b.min, b.max) for b in k.each)) for k in c.kpis]


def test_counts_sums_people_rates_and_per_record_rules() -> None:
    s = drafted("1. 探访对象不少于1500人，每月上门不少于1次，总数不少于1.5万人次\n"
                "2. 开展社区教育活动3次，每次人数不少于30人\n"
                "3. 开展小组活动10场，每场人数5-10人\n"
                "4. 形成1份不少于10000字的成果报告\n"
                "5. 服务对象满意度不低于85％\n"
                "6. 培训人次不少于200人次")
    assert kpis(s, 1) == [("distinct", 1500, "人", ">=", ()), ("per_person", 1, "次/月", ">=", ()),
                          ("count", 15000, "人次", ">=", ())]
    assert kpis(s, 2) == [("count", 3, "次", ">=", (("participants", 30, None),))]
    assert kpis(s, 3) == [("count", 10, "场", ">=", (("participants", 5, 10),))]
    assert kpis(s, 4) == [("count", 1, "份", ">=", (("words", 10000, None),))]
    assert kpis(s, 5) == [("rate", 85, "%", ">=", ())]
    assert kpis(s, 6) == [("sum", 200, "人次", ">=", ())]
    per = next(k for c in s.clauses for k in c.kpis if k.kind.value == "per_person")
    assert per.per.value == "month" and per.where.population == "clients"
    assert all(k.draft == "needs review" for _, k in s.iter_kpis())


def test_chinese_numerals_caps_places_and_rules() -> None:
    s = drafted("一、開展三個成長小組，每週至少兩次活動\n"
                "二、覆盖不少于5个乡镇；服务不超过200户\n"
                "三、单个服务对象体验不多于2次\n"
                "四、所有活动方案须经区民政局审核后方可开展\n"
                "五、不得引起负面舆情事件、有责投诉\n"
                "六、工作人员须持有无犯罪记录证明\n"
                "七、资金执行率不低于90%，支出不超过预算\n"
                "八、建立健全工作制度")
    assert kpis(s, 1) == [("distinct", 3, "个", ">=", ()), ("per_person", 2, "次/周", ">=", ())]
    assert kpis(s, 2) == [("distinct", 5, "个乡镇", ">=", ()), ("distinct", 200, "户", "<=", ())]
    assert [k.kind.value for k in s.clauses[3].kpis] == ["approval_gate"]
    z = s.clauses[4].kpis[0]
    assert (z.kind.value, z.incident_types) == ("zero_incident", ["negative_publicity", "liable_complaint"])
    st = s.clauses[5].kpis[0]
    assert (st.kind.value, st.rule.value, st.credential) == ("staff", "all_have", "no_criminal_record")
    # What the drafter cannot measure is a manual KPI that says why.
    money = s.clauses[6].kpis  # 资金执行率 of the funding; 支出不超过预算: at most 100% of the budget
    assert [(k.kind.value, k.target, k.comparator.value, k.against) for k in money] == [
        ("expense", 90, ">=", "funding"), ("expense", 100, "<=", "budget")]
    m = s.clauses[7].kpis[0]
    assert (m.kind.value, m.draft, m.excerpt) == ("manual", "needs review", "建立健全工作制度")
    assert "没有数量" in m.draft_reason
    cap = drafted("1. 开展体验活动不少于100次，单个服务对象体验不多于2次").clauses[0].kpis
    assert [(k.kind.value, k.target, k.cap_per_person) for k in cap] == [("count", 100, 2)]


def test_rules_before_their_count_minutes_and_per_person_amounts() -> None:
    s = drafted("1. 每节课不少于15分钟，总数不少于15节课\n"
                "2. 开展亲职教育课程不少于10次，每次课时不少于45分钟\n"
                "3. 每位需参与西部五县市服务不少于5天；开展督导不少于80学时/人\n"
                "4. 制作10个短视频（每个2分钟以内）\n"
                "5. 探访对象不少于1000人，项目周期内上门探访不少于2次")
    assert kpis(s, 1) == [("count", 15, "节", ">=", (("hours", 0.25, None),))]
    assert kpis(s, 2) == [("count", 10, "次", ">=", (("hours", 0.75, None),))]
    assert kpis(s, 3) == [("per_person", 5, "天/人", ">=", ()), ("per_person", 80, "学时/人", ">=", ())]
    assert [k.field.value for k in s.clauses[2].kpis] == ["days", "hours"]
    assert kpis(s, 4) == [("count", 10, "个", ">=", (("minutes", None, 2),))]
    assert kpis(s, 5) == [("distinct", 1000, "人", ">=", ()), ("per_person", 2, "次", ">=", ())]


def test_an_either_or_length_drafts_any_of() -> None:
    """"服务时长不少于3天（或24小时）" after a count of camps: one either/or rule on each camp, not a
    count of 3 天 and a sum of 24 小时; a total length stays a sum."""
    s = drafted("1. 开展家庭成长营不少于2期，每个成长营参与家庭不少于35户，服务时长不少于3天（或24小时）\n"
                "2. 志愿服务时长不少于1000小时")
    (camps,) = next(c for c in s.clauses if c.clause == 1).kpis
    assert (camps.kind.value, camps.target, camps.unit) == ("count", 2, "期")
    assert [(b.field.value, b.min) for b in camps.each[0].leaves] == [("participants", 35)]
    assert [(b.field.value, b.min) for b in camps.each[1].leaves] == [("days", 3), ("hours", 24)]
    assert kpis(s, 2) == [("sum", 1000, "小时", ">=", ())]


def test_time_limits_draft_timeliness() -> None:
    s = drafted("1. 接到服务需求后3天（或24小时）内上门服务，服务及时率不低于90%\n"
                "2. 接到求助后24小时内响应\n"
                "3. 受理后5个工作日内办结，及时率达到95%\n"
                "4. 开展活动不少于3天")
    t = s.clauses[0].kpis
    assert [(k.kind.value, k.target, k.unit, k.reference, k.within.days if k.within else None) for k in t] == [
        ("timeliness", 90, "%", "requested_on", 3)]
    assert "24小时" in (t[0].draft_reason or "")  # the alternative limit is named, not silently dropped
    assert s.activity_type(t[0].where.types[0]).label == "上门服务"  # type: ignore[index,union-attr]
    r = s.clauses[1].kpis[0]  # a limit without a rate: every record within it
    assert (r.kind.value, r.target, r.within.hours if r.within else None) == ("timeliness", 100, 24)
    w = s.clauses[2].kpis  # working days cannot be counted from dates: one manual KPI saying so
    assert [k.kind.value for k in w] == ["manual"] and "工作日" in (w[0].draft_reason or "")
    assert kpis(s, 4) == [("count", 3, "天", ">=", ())]  # a duration without 内 is not a time limit


def test_per_quarter_year_and_day() -> None:
    s = drafted("1. 每季度上门探访不少于1次\n2. 每人每年参加活动不少于4次\n3. 每年开展活动不少于48次\n"
                "4. 每天送餐不少于1次")
    got = [(k.kind.value, k.target, k.unit, k.per.value) for _, k in s.iter_kpis()]
    assert got == [("per_person", 1, "次/季度", "quarter"), ("per_person", 4, "次/年", "year"),
                   ("count", 48, "次", "period"),  # 每年 alone: the whole period of a one-year project
                   ("per_person", 1, "次/天", "day")]


def test_staff_headcounts() -> None:
    s = drafted("1. 配备5名全职社工，其中1名督导\n2. 专职社工不少于3名\n3. 招募志愿者不少于50名")
    got = [(k.kind.value, k.target, k.where.roles, k.where.employment) for _, k in s.iter_kpis()]
    assert got == [("headcount", 5, ["社工"], ["专职"]), ("headcount", 1, ["督导"], None),
                   ("headcount", 3, ["社工"], ["专职"]),
                   ("distinct", 50, None, None)]  # recruiting volunteers is people reached, not staff in post


def test_money_clauses_draft_expense_kpis() -> None:
    s = drafted("1. 宣传费不超过总经费10%\n2. 人员经费占总支出不超过60%\n3. 用于购买服务的支出不少于5万元\n"
                "4. 配套资金不少于2万元\n5. 人员经费支出不超过预算")
    got = [(k.kind.value, k.target, k.comparator.value, k.unit, k.against, k.where.categories)
           for _, k in s.iter_kpis()]
    assert got == [("expense", 10, "<=", "%", "funding", ["宣传费"]), ("expense", 60, "<=", "%", "spend", ["人员经费"]),
                   ("expense", 50000, ">=", "元", None, None),
                   ("manual", None, ">=", "元", None, None),  # matching funds are not spending: a person judges
                   ("expense", 100, "<=", "%", "budget", ["人员经费"])]


def test_ages_and_years_are_not_targets() -> None:
    s = drafted("1. 为8周岁以下儿童开展活动不少于20场")
    assert kpis(s, 1) == [("count", 20, "场", ">=", ())]
    assert [n.value for n in s.clauses[0].not_targets] == ["8周岁以下"]


def test_a_drafted_spec_validates_and_lists_its_drafts(tmp_path: Path) -> None:
    out = tmp_path / "drafts"
    r = run_cli("spec", "draft", "examples/shifanqu-2025/release-table.docx",
                "--programme", "examples/shifanqu-2025/programme.yaml", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "已起草 3 个项目" in r.stdout and "草稿校验通过" in r.stdout
    text = (out / "SF2025-01.yaml").read_text("utf-8")
    spec, problems = parse_spec_text(text)
    assert problems == [] and spec is not None
    assert [c.clause for c in spec.clauses] == [1, 2, 3, 4]
    assert spec.project.period.end.isoformat() == "2026-02-28" and spec.project.funding.amount_wan == 30
    v = run_cli("spec", "validate", str(out))
    assert v.returncode == 0, v.stderr
    assert "待复核的起草指标" in v.stdout and "SF2025-01.1.distinct_1" in v.stdout
    assert "计划 示范区民政局 示范区2025年政府购买社会工作服务项目发布表：3 个项目；已核对：编号格式与项目类别、条款号" in v.stderr
    again = run_cli("spec", "draft", "examples/shifanqu-2025/release-table.docx", "--out", str(out))
    assert again.returncode == 1 and "已存在" in again.stderr


def test_second_programme_validates_beside_2024(tmp_path: Path) -> None:
    root = tmp_path / "kpi_specs"
    shutil.copytree(REPO / "kpi_specs" / "2024", root / "2024")
    shutil.copytree(REPO / "examples" / "shifanqu-2025", root / "shifanqu-2025")
    v = run_cli("spec", "validate", str(root))
    assert v.returncode == 0, v.stderr
    assert "校验通过：46 个项目" in v.stdout
    assert "计划 杭州市民政局 2024年杭州市市级公益创投项目发布表：43 个项目" in v.stderr
    assert "计划 示范区民政局 示范区2025年政府购买社会工作服务项目发布表：3 个项目" in v.stderr
    assert "覆盖缺口" not in v.stderr
    # A changed clause text in the second programme's spec is caught against its Word table.
    f = root / "shifanqu-2025" / "SF2025-03.yaml"
    f.write_text(f.read_text("utf-8").replace("培训人次不少于300人次", "培训人次不少于30人次"), "utf-8")
    bad = run_cli("spec", "validate", str(root))
    assert bad.returncode == 1 and "与发布表第5.2条原文不一致" in bad.stderr


def test_spec_new_outside_any_table() -> None:
    r = run_cli("spec", "new", "X2025-07", "--clauses", "-",
                stdin="1. 开展小组活动不少于10场，每场不少于8人；2. 服务对象满意度不低于90%\n3. 建立服务档案\n")
    assert r.returncode == 0, r.stderr
    spec, problems = parse_spec_text(r.stdout)
    assert problems == [] and spec is not None
    assert [(c.clause, c.text) for c in spec.clauses] == [
        (1, "开展小组活动不少于10场，每场不少于8人"), (2, "服务对象满意度不低于90%"), (3, "建立服务档案")]
    assert "项目不在任何发布表中" in r.stdout
    table = run_cli("spec", "new", "2024B004E")
    assert table.returncode == 0 and "留守独居等困难老人探访对象不少于1500人" in table.stdout
    bad = run_cli("spec", "new", "坏编号")
    assert bad.returncode == 1 and "格式不对" in bad.stderr


@pytest.mark.slow
def test_drafter_recovers_at_least_90_percent_of_the_2024_targets(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import drafter_comparison
    finally:
        sys.path.pop(0)
    rows = drafter_comparison.main(tmp_path / "cmp.md")
    with_target = sum(r.with_target for r in rows)
    recovered = sum(r.target_kind for r in rows)
    assert with_target == 433  # 422, the ten file-per-member KPIs and A005's project-wide monthly rule
    assert recovered / with_target >= 0.90
    b004e = next(r for r in rows if r.code == "2024B004E")
    assert (b004e.committed, b004e.with_target, b004e.target_kind) == (9, 6, 6)


def test_files_for_every_member_and_staff_experience() -> None:
    s = drafted("1. 为服务对象建立一户一档，包含基本信息\n2. 对不少于200家机构开展实地测评，各形成一份反馈报告\n"
                "3. 助教教师要求工作经验三年以上\n4. 督导须具备5年以上社会工作经验")
    got = [(k.kind.value, k.source.value, k.target, k.min_experience_years) for _, k in s.iter_kpis()
           if k.kind.value in ("per_person", "staff")]
    assert got == [("per_person", "deliverable", 1, None), ("per_person", "deliverable", 1, None),
                   ("staff", "activity", None, 3), ("staff", "activity", None, 5)]
    files = [k for _, k in s.iter_kpis() if k.kind.value == "per_person"]
    assert [s.deliverable_types[[d.key for d in s.deliverable_types].index(k.where.types[0])].label
            for k in files] == ["一户一档服务档案", "反馈报告"]
    assert all(k.where.population == "clients" for k in files)
