"""Every KPI kind on a hand-worked fixture (tests/fixtures/engine/specs/X001.yaml), on SQLite and
PostgreSQL. Expected figures are worked out by hand in each test.

Period 2024-06-01 … 2025-03-31 = 304 days; as of 2024-09-30, 122 days have elapsed."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from fixtures.engine.factory import CODE, SPECS, add, d, judgement, person, workspace

from tracker.measure.progress import (
    compute_progress,
    list_violations,
    monthly_series,
    per_person_distribution,
)
from tracker.records.privacy import mask_name as _mask_name

AS_OF = d("2024-09-30")
END = d("2025-03-31")


def kp(p, key):  # type: ignore[no-untyped-def]
    return next(k for k in p.kpis if k.key == key)


def _listings_agree(ws, *days: dt.date) -> None:  # type: ignore[no-untyped-def]
    """Each KPI's violation listing has as many rows as its figure counts, and a limited listing is
    the beginning of the whole one: the dashboard lists 20 rows and takes the total from the figures."""
    for day in days:
        p = compute_progress(ws, CODE, day)
        whole = list_violations(ws, CODE, None, day)
        assert Counter(r["kpi_id"] for r in whole) == {k.id: k.violations for k in p.kpis if k.violations}, day
        for n in (1, 3):
            assert list_violations(ws, CODE, None, day, limit=n) == whole[:n]


def _counting_records(ws):  # type: ignore[no-untyped-def]
    person(ws, "P1", town="北山街道", name="张三丰")
    person(ws, "P2", town="西溪街道", name="李四")
    person(ws, "P3", town="北山街道")
    person(ws, "P4", town="灵隐街道", enrolled_on=d("2024-10-15"))  # not on the roster yet on 09-30
    for pid, day, district in [("P1", "2024-06-05", "西湖区"), ("P1", "2024-07-05", "西湖区"),
                               ("P2", "2024-07-10", "上城区"), ("P1", "2024-10-02", "西湖区")]:
        add(ws, "activity", activity_type="visit", person_id=pid, date=d(day), district=district)
    for day, n, g in [("2024-08-01", 60, "G1"), ("2024-08-15", 30, "G1"), ("2024-09-01", 50, "G2")]:
        add(ws, "activity", activity_type="lecture", participants=n, date=d(day), group_name=g)
    for pid, day in [("P1", "2024-06-10"), ("P1", "2024-06-20"), ("P1", "2024-07-01"), ("P2", "2024-07-02")]:
        add(ws, "activity", activity_type="bath", person_id=pid, date=d(day))
    for lvl, day in [("市级", "2024-08-01"), ("区县", "2024-08-02"), ("国家级", "2024-08-03")]:
        add(ws, "deliverable", deliverable_type="publicity", level=lvl, date=d(day))


def test_counts_sums_averages_distinct_bounds_caps(db_url: str) -> None:
    ws = workspace(db_url)
    _counting_records(ws)
    p = compute_progress(ws, CODE, AS_OF)
    v = kp(p, "visits_total")  # 3 visits by 09-30 (the 10-02 one is later)
    assert (v.actual, v.evidence, v.violations) == (3, 3, 0)
    assert v.expected == 41  # 100 × 122/304 = 40.13 人次: whole units, rounded up (the status reads 40.13)
    assert v.forecast == 7  # 3 × 304/122 = 7.48 人次 at this pace: a whole unit, to the nearest
    assert v.status == "behind"
    big = kp(p, "big_lectures")  # 60 and 50 count; the 30-person lecture is under 50: a violation
    assert (big.actual, big.violations) == (2, 1)
    assert kp(p, "people_served").actual == 60 + 30 + 50 + 3  # a person-serving visit is 1 participant
    assert kp(p, "avg_size").actual == pytest.approx((60 + 30 + 50) / 3)
    assert kp(p, "visit_people").actual == 2  # P1, P2
    assert kp(p, "roster_towns").actual == 2  # 北山街道, 西溪街道 (P4 enrolled after as_of)
    baths = kp(p, "baths")  # P1's third bath is over the cap of 2
    assert (baths.actual, baths.violations) == (3, 1)
    news = kp(p, "city_news")  # 市级 and 国家级 count, 区县 does not; due at the end → expected 0
    assert (news.actual, news.expected, news.status) == (2, 0, "met")
    assert kp(p, "xihu_visits").actual == 2
    # Later: the 10-02 visit counts, and P4 is on the roster.
    p2 = compute_progress(ws, CODE, d("2024-10-31"))
    assert kp(p2, "visits_total").actual == 4 and kp(p2, "roster_towns").actual == 3

    viol = list_violations(ws, CODE, f"{CODE}.1.baths", AS_OF)
    assert [(r["date"], r["person"], r["name"]) for r in viol] == [(d("2024-07-01"), "P1", _mask_name("张三丰"))]
    assert viol[0]["name"] != "张三丰" and viol[0]["name"].startswith("张")
    assert "2" in viol[0]["reason"]
    viol = list_violations(ws, CODE, f"{CODE}.1.big_lectures", AS_OF)
    assert [r["date"] for r in viol] == [d("2024-08-15")]

    s = monthly_series(ws, CODE, f"{CODE}.1.visits_total", AS_OF)
    assert list(s["value"]) == [1, 2, 0, 0] and list(s["cumulative"]) == [1, 3, 3, 3]
    assert s["month"].iloc[0] == d("2024-06-01")
    _listings_agree(ws, AS_OF, END)


def test_per_person_over_whole_roster_and_elapsed_months(db_url: str) -> None:
    ws = workspace(db_url)
    _counting_records(ws)
    p = compute_progress(ws, CODE, AS_OF)
    per = kp(p, "per_elder")  # P1 2 visits, P2 1, P3 never visited, P4 not enrolled yet
    # A whole-period rule mid-period, judged on each member's pace (2 × (1 − 0.15) × days since the
    # member's start / days from it to the end): P1 (from its first visit 06-05) 1.7 × 118/300 = 0.67,
    # has 2; P2 (07-10) 1.7 × 83/265 = 0.53, has 1; P3 (no date, no visit: the period start)
    # 1.7 × 122/304 = 0.68, has 0. 2 of 3 on pace; nobody has broken it yet.
    assert (per.actual, per.violations, per.status, per.measure) == (pytest.approx(200 / 3), 0, "behind",
                                                                     "compliance_pct")
    assert per.detail == {"members": 3, "members_compliant": 2, "judged": 3, "missed": 0, "below_pace": 1,
                          "smallest": 0, "units": 3}
    assert per.expected is None and per.completion is None and per.target == 2
    assert list_violations(ws, CODE, f"{CODE}.2.per_elder", AS_OF) == []
    at_end = kp(compute_progress(ws, CODE, END), "per_elder")  # P1 3 visits; P2 1, P3 0, P4 0 (enrolled since)
    assert (at_end.actual, at_end.violations, at_end.status) == (25, 3, "missed")
    m = kp(p, "monthly")  # Jun–Sep elapsed; P1 judged from June (4), P2 from July (3), P3 from June (4)
    assert (m.actual, m.violations, m.detail["judged"]) == (pytest.approx(300 / 11), 11 - 3, 11)
    assert m.status == "missed"  # strict: a member-month gone by without a visit cannot be made up
    m29 = kp(compute_progress(ws, CODE, d("2024-09-29")), "monthly")  # September not over yet
    assert (m29.detail["units"], m29.violations) == (8, 5)
    g = kp(p, "per_group")  # G1 1 session ≥ 50 (one of 30 is a violation), G2 1: both on pace
    assert (g.actual, g.violations, g.detail["smallest"], g.status) == (100, 1, 1, "on_track")
    g_end = kp(compute_progress(ws, CODE, END), "per_group")  # at the end both groups are below 2
    assert (g_end.actual, g_end.violations, g_end.status) == (0, 2 + 1, "missed")
    assert kp(compute_progress(ws, CODE, d("2024-06-15")), "monthly").status == "pending"  # no month over

    dist = per_person_distribution(ws, CODE, f"{CODE}.2.per_elder", AS_OF)
    assert dict(zip(dist["count"], dist["people"], strict=True)) == {0: 1, 1: 1, 2: 1}
    viol = list_violations(ws, CODE, f"{CODE}.2.per_elder", END)
    assert sorted((r["person"], r["name"]) for r in viol) == [("P2", _mask_name("李四")), ("P3", None),
                                                             ("P4", None)]
    assert _mask_name("李四") != "李四"
    _listings_agree(ws, AS_OF, END)


def test_rates_need_denominators(db_url: str) -> None:
    ws = workspace(db_url)
    for pid in ("P1", "P2", "P3"):
        person(ws, pid)
    p0 = compute_progress(ws, CODE, AS_OF)  # no answers yet: pending, not 0% or 100%
    for key in ("satisfaction", "match_rate", "improvement", "participation"):
        assert kp(p0, key).status == "pending" or key == "participation"
    assert kp(p0, "satisfaction").actual is None
    assert kp(p0, "participation").actual == 0  # the roster is there: 0 of 3 answered
    for pid, sat, rt in [("P1", True, "client"), ("P2", False, "client"), ("P1", True, "client"),
                         ("X9", True, "client"), ("P3", False, "helper")]:
        add(ws, "survey", person_id=pid, satisfied=sat, respondent_type=rt, date=d("2024-09-01"))
    for ok in (True, True, False, True):
        add(ws, "assessment", instrument="match", passed=ok, date=d("2024-09-02"))
    for pid, phase, score in [("P1", "pre", 50), ("P1", "post", 70), ("P2", "pre", 60), ("P2", "post", 55),
                              ("P3", "pre", 40)]:
        add(ws, "assessment", instrument="skill", person_id=pid, phase=phase, score=score, date=d("2024-09-03"))
    p = compute_progress(ws, CODE, AS_OF)
    sat = kp(p, "satisfaction")  # client answers: 4, satisfied 3 (the helper's answer is not a client's)
    assert sat.actual == pytest.approx(75) and sat.detail == {"numerator": 3, "denominator": 4}
    assert sat.status == "behind" and sat.expected is None and sat.forecast is None
    part = kp(p, "participation")  # P1, P2 of the 3-person roster (X9 is not on it)
    assert part.actual == pytest.approx(200 / 3) and part.status == "on_track"
    assert kp(p, "match_rate").actual == pytest.approx(75)
    imp = kp(p, "improvement")  # P1 improved, P2 did not, P3 has no post test
    assert imp.actual == pytest.approx(50) and imp.detail == {"numerator": 1, "denominator": 2}
    assert kp(compute_progress(ws, CODE, END), "satisfaction").status == "missed"


def test_coverage_lists_uncovered_members(db_url: str) -> None:
    ws = workspace(db_url)
    for town, n in [("北山街道", 2), ("西溪街道", 1), ("翠苑街道", 3)]:
        for i in range(n):
            add(ws, "activity", activity_type="hub", participants=5, town=town, date=d(f"2024-07-0{i + 1}"))
    c = kp(compute_progress(ws, CODE, AS_OF), "hub_towns")
    assert c.actual == 1 and c.detail["uncovered"] == ["西溪街道", "灵隐街道"]  # in the spec's order
    assert c.detail["counts"] == {"北山街道": 2, "西溪街道": 1, "灵隐街道": 0}
    # expected 3 × 122/304 = 1.204; 1 < 1.204 × 0.85 = 1.023 → behind
    assert c.expected == 2 and c.status == "behind"  # 3 × 122/304 = 1.2 towns, shown rounded up
    _listings_agree(ws, AS_OF, END)


def test_duration_per_case(db_url: str) -> None:
    ws = workspace(db_url)
    for pid in ("C1", "C2", "C3"):
        person(ws, pid, population="cases")
    for pid, day in [("C1", "2024-06-03"), ("C1", "2024-09-10"), ("C1", "2024-12-03"),
                     ("C2", "2024-07-15"), ("C2", "2024-12-14")]:
        add(ws, "activity", activity_type="case_service", person_id=pid, date=d(day))
    mid = kp(compute_progress(ws, CODE, AS_OF), "case_duration")
    # C1 06-03→09-10 = 3 months, C2 one service = 0, C3 none = 0; no violations before the end;
    # every case can still reach 6 months by 2025-03-31 (C3 from 09-30: 6) → on track.
    assert (mid.actual, mid.violations, mid.status) == (0, 0, "on_track")
    end = kp(compute_progress(ws, CODE, END), "case_duration")
    # C1 06-03→12-03 = 6; C2 07-15→12-14 = 4 (a day short of 5); C3 0 → 2 cases below 6.
    assert (end.actual, end.violations, end.status) == (0, 2, "missed")
    _listings_agree(ws, AS_OF, END)


def test_approval_gate_dated_before_or_after(db_url: str) -> None:
    ws = workspace(db_url)
    assert kp(compute_progress(ws, CODE, AS_OF), "approval").status == "pending"  # nothing to judge
    add(ws, "approval", activity_type="visit", date=d("2024-06-10"), valid_from=d("2024-06-01"),
        valid_to=d("2024-12-31"))
    add(ws, "approval", activity_type=None, date=d("2024-08-20"))
    add(ws, "activity", activity_type="visit", person_id="P1", date=d("2024-06-05"))  # before any approval
    add(ws, "activity", activity_type="visit", person_id="P1", date=d("2024-07-05"))  # covered by the first
    add(ws, "activity", activity_type="lecture", participants=9, date=d("2024-08-01"))  # 2nd approval later
    add(ws, "activity", activity_type="lecture", participants=9, date=d("2024-08-21"))  # covered by the 2nd
    add(ws, "activity", activity_type="visit", person_id="P1", date=d("2025-01-05"))  # 1st expired; 2nd covers
    g = kp(compute_progress(ws, CODE, END), "approval")  # 3 of the 5 activities covered: 60 %
    assert (g.actual, g.violations, g.evidence, g.target, g.status) == (60, 2, 5, None, "missed")
    assert (g.measure, g.detail) == ("covered_pct", {"records": 5, "covered": 3, "uncovered": 2})
    from tracker.reports.scoring import describe_gap

    assert describe_gap(g) == "第5条 事前审批：5 项中 3 项事先经审批（60%），未经事先审批 2 项"
    assert g.to_json()["actual"] == 60 and g.actual_unit == "%"
    viol = list_violations(ws, CODE, f"{CODE}.5.approval", END)
    assert [r["date"] for r in viol] == [d("2024-06-05"), d("2024-08-01")]
    _listings_agree(ws, AS_OF, END)


def test_per_person_with_a_field_sums_it_per_member(db_url: str) -> None:
    """"督导不少于80学时/人": a per-person rule with ``field: hours`` sums the hours of each member,
    it does not count sessions. C1: 2.5 + 4 = 6.5 h (meets 6); C2: three 1-hour sessions = 3 h."""
    ws = workspace(db_url)
    person(ws, "C1", population="cases", name="周一")
    person(ws, "C2", population="cases", name="吴二")
    add(ws, "activity", activity_type="case_service", person_id="C1", hours=2.5, date=d("2024-07-01"))
    add(ws, "activity", activity_type="case_service", person_id="C1", hours=4, date=d("2024-08-01"))
    for day in ("2024-07-02", "2024-07-09", "2024-07-16"):
        add(ws, "activity", activity_type="case_service", person_id="C2", hours=1, date=d(day))
    k = kp(compute_progress(ws, CODE, END), "case_hours")
    assert (k.actual, k.violations, k.evidence) == (50, 1, 5)  # C1 meets it, C2 does not
    assert k.detail["smallest"] == 3  # counting sessions would give 2
    assert per_person_distribution(ws, CODE, f"{CODE}.2.case_hours", AS_OF).to_dict("records") == [
        {"count": 3.0, "people": 1}, {"count": 6.5, "people": 1}]
    viol = list_violations(ws, CODE, f"{CODE}.2.case_hours", END)
    assert [(r["person"], r["reason"]) for r in viol] == [("C2", "仅 3 小时，规则为每人不少于 6 小时")]
    _listings_agree(ws, AS_OF, END)


def test_approval_gate_over_deliverables(db_url: str) -> None:
    """"所有理论成果、公开发布的信息均需经审核": a deliverable needs an approval covering its type (or
    every type) dated on or before it; activities are not this gate's business."""
    ws = workspace(db_url)
    add(ws, "approval", activity_type="publicity", date=d("2024-09-01"))
    add(ws, "deliverable", deliverable_type="publicity", title="一", date=d("2024-08-15"))  # before: violation
    add(ws, "deliverable", deliverable_type="publicity", title="二", date=d("2024-09-01"))  # same day: fine
    add(ws, "activity", activity_type="visit", person_id="P1", date=d("2024-06-05"))  # unapproved activity
    g = kp(compute_progress(ws, CODE, AS_OF), "publication_approval")
    assert (g.actual, g.violations, g.evidence, g.status) == (50, 1, 2, "missed")  # 1 of 2 covered
    assert kp(compute_progress(ws, CODE, AS_OF), "approval").violations == 1  # the activity gate's own
    viol = list_violations(ws, CODE, f"{CODE}.5.publication_approval", AS_OF)
    assert [(r["table"], r["date"], r["what"]) for r in viol] == [("deliverable", d("2024-08-15"), "publicity")]


def test_zero_incident_staff_and_manual(db_url: str) -> None:
    ws = workspace(db_url)
    p = compute_progress(ws, CODE, AS_OF)
    # A project with no record at all during its period: every KPI is pending.
    assert {k.status for k in p.kpis} == {"pending"}
    assert kp(p, "no_incident").detail["reason"] == "尚无任何记录"
    at_end = kp(compute_progress(ws, CODE, END), "no_incident")  # no evidence is not compliance
    assert (at_end.status, at_end.detail["reason"]) == ("pending", "尚无任何记录")
    add(ws, "incident", incident_type="safety_accident", date=d("2024-08-01"))  # not this KPI's type
    p = compute_progress(ws, CODE, AS_OF)
    assert kp(p, "no_incident").actual == 0 and kp(p, "no_incident").status == "on_track"
    assert kp(p, "crc").status == "pending" and kp(p, "rules").status == "pending"
    add(ws, "incident", incident_type="negative_publicity", date=d("2024-08-02"))
    z = kp(compute_progress(ws, CODE, AS_OF), "no_incident")
    assert (z.actual, z.violations, z.status, z.measure) == (1, 1, "missed", "incident_count")
    assert z.detail == {"incidents": 1, "incident_types": ["negative_publicity"]}

    add(ws, "staff", staff_id="S1", name="王五", works_with_children=True)
    add(ws, "staff", staff_id="S2", name="赵六", works_with_children=True)
    add(ws, "staff", staff_id="S3", name="钱七", works_with_children=False)
    add(ws, "credential", staff_id="S1", credential="no_criminal_record")
    add(ws, "credential", staff_id="S2", credential="no_criminal_record", expires_on=d("2024-08-31"))  # expired
    add(ws, "credential", staff_id="S1", credential="social_worker")
    add(ws, "credential", staff_id="S3", credential="social_worker")
    p = compute_progress(ws, CODE, AS_OF)
    crc = kp(p, "crc")  # in scope (the clause is about children): S1, S2; S2's certificate expired
    assert (crc.actual, crc.violations, crc.evidence, crc.status) == (1, 1, 2, "behind")
    assert kp(compute_progress(ws, CODE, END), "crc").status == "missed"
    assert [r["name"] for r in list_violations(ws, CODE, f"{CODE}.5.crc", AS_OF)] == [_mask_name("赵六")]
    sw = kp(p, "social_workers")
    assert (sw.actual, sw.status) == (2, "met")

    t1 = dt.datetime(2024, 9, 15, 8, tzinfo=dt.UTC)
    judgement(ws, f"{CODE}.5.rules", "met", t1)
    assert kp(compute_progress(ws, CODE, AS_OF), "rules").status == "met"
    before = kp(compute_progress(ws, CODE, AS_OF, known_on=t1 - dt.timedelta(hours=1)), "rules")
    assert before.status == "pending"
    judgement(ws, f"{CODE}.5.rules", "missed", t1 + dt.timedelta(days=1))
    assert kp(compute_progress(ws, CODE, AS_OF), "rules").status == "missed"
    _listings_agree(ws, AS_OF, END)


def test_staff_scoped_by_activity_types(db_url: str) -> None:
    """"助教教师持教师资格证" (``where.types: [tutoring]``) covers only the staff named on 助教
    activities: the social worker who never assists a class is not a violation."""
    ws = workspace(db_url)
    add(ws, "staff", staff_id="S1", name="孙老师")
    add(ws, "staff", staff_id="S2", name="周社工")  # a social worker, no teacher's certificate
    add(ws, "credential", staff_id="S2", credential="social_worker")
    add(ws, "activity", activity_type="tutoring", participants=12, staff="孙老师", date=d("2024-07-01"))
    add(ws, "activity", activity_type="lecture", participants=30, staff="S2", date=d("2024-07-02"))
    t = kp(compute_progress(ws, CODE, AS_OF), "tutors_certified")
    # in scope: S1 only (named by name on a 助教 activity); S1 lacks the certificate and assisted a
    # class on 07-01 without it: a finding, missed
    assert (t.actual, t.evidence, t.violations, t.status) == (1, 1, 1, "missed")
    assert [r["what"] for r in list_violations(ws, CODE, f"{CODE}.6.tutors_certified", AS_OF)] == ["S1"]
    add(ws, "credential", staff_id="S1", credential="teacher")
    t = kp(compute_progress(ws, CODE, AS_OF), "tutors_certified")
    assert (t.actual, t.evidence, t.violations, t.status) == (0, 1, 0, "on_track")
    assert list_violations(ws, CODE, f"{CODE}.6.tutors_certified", AS_OF) == []
    # S2 named (by staff number) on a 助教 activity later: in scope from then on, and lacking it
    add(ws, "activity", activity_type="tutoring", participants=8, staff="S2", date=d("2024-10-08"))
    assert kp(compute_progress(ws, CODE, AS_OF), "tutors_certified").evidence == 1  # not yet on 09-30
    t = kp(compute_progress(ws, CODE, d("2024-10-31")), "tutors_certified")
    assert (t.evidence, t.violations, t.status) == (2, 1, "missed")
    assert [r["name"] for r in list_violations(ws, CODE, f"{CODE}.6.tutors_certified", d("2024-10-31"))] == [
        _mask_name("周社工")]


def test_no_evidence_is_not_compliance(db_url: str) -> None:
    """A gate with nothing under it and a staff rule with no staff recorded stay pending, with a
    reason, even after the period; a count with nothing delivered is still missed then."""
    ws = workspace(db_url)
    add(ws, "incident", incident_type="safety_accident", date=d("2024-08-01"))  # a record, not of these
    p = compute_progress(ws, CODE, END)
    for key, reason in [("approval", "尚无活动记录：请先登记活动"),
                        ("publication_approval", "尚无成果记录：请先登记成果"),
                        ("crc", "尚未登记工作人员：请先导入在此指标范围内的工作人员名单")]:
        k = kp(p, key)
        assert (k.evidence, k.status, k.detail["reason"]) == (0, "pending", reason)
    assert kp(p, "no_incident").status == "met"  # the project has records; none of these types
    assert kp(p, "visits_total").status == "missed"
    add(ws, "activity", activity_type="visit", person_id="P1", date=d("2024-06-05"))  # no approval
    assert kp(compute_progress(ws, CODE, END), "approval").status == "missed"


def test_silent_projects_are_flagged_and_first(db_url: str) -> None:
    from tracker.measure.progress import last_elapsed_month, portfolio_order

    ws = workspace(db_url)
    spec = ws.spec(CODE)
    assert last_elapsed_month(spec, d("2024-09-30")) == (d("2024-09-01"), d("2024-09-30"))
    assert last_elapsed_month(spec, d("2024-09-29")) == (d("2024-08-01"), d("2024-08-31"))
    assert last_elapsed_month(spec, d("2024-06-15")) is None  # no month of the period is over
    assert compute_progress(ws, CODE, AS_OF).silence == "no_records"
    add(ws, "activity", activity_type="visit", person_id="P1", date=d("2024-06-05"))
    assert compute_progress(ws, CODE, AS_OF).silence == "quiet_last_month"  # nothing dated in September
    assert compute_progress(ws, CODE, d("2024-06-30")).silence is None  # June had a record
    assert compute_progress(ws, CODE, AS_OF).to_json()["silence"] == "quiet_last_month"
    add(ws, "activity", activity_type="lecture", participants=20, date=d("2024-09-12"))
    quiet = compute_progress(ws, CODE, d("2024-10-31"))  # October: nothing
    busy = compute_progress(ws, CODE, AS_OF)
    assert (quiet.silence, busy.silence) == ("quiet_last_month", None)
    empty = compute_progress(ws, CODE, AS_OF)
    empty.silence, empty.project = "no_records", "2099Z999"
    for k in empty.kpis:  # by its statuses alone it would come last
        k.status = "met"
    ranked = sorted([busy, quiet, empty], key=portfolio_order)
    assert [r.silence for r in ranked] == ["no_records", "quiet_last_month", None]


def test_a_one_off_deliverable_is_due_at_the_end(db_url: str) -> None:
    """A count of 1 of whole units without pacing in the spec ("形成1份报告") expects nothing before
    the period end and 1 at it, never 0.4 of a report."""
    from tracker.kpispec.model import KPI, PacingMode

    one = KPI.model_validate({"key": "r", "kind": "count", "label": "报告", "source": "deliverable",
                              "target": 1, "unit": "份"})
    assert (one.default_pacing().mode, one.default_pacing().due) == (PacingMode.due, "end")
    two = KPI.model_validate({**one.model_dump(), "target": 2})
    assert two.default_pacing().mode is PacingMode.linear
    staff = KPI.model_validate({"key": "s", "kind": "staff", "label": "社工", "rule": "count_with",
                                "credential": "c", "target": 1, "unit": "人"})
    assert staff.default_pacing().mode is PacingMode.linear  # a post to fill throughout, not a deliverable


def test_forecasts_stay_within_the_universe(db_url: str) -> None:
    """A distinct count of a roster population never forecasts beyond the roster, a coverage beyond
    its set."""
    ws = workspace(db_url)
    _counting_records(ws)
    e = kp(compute_progress(ws, CODE, AS_OF), "elders_reached")
    # P1, P2 visited by 09-30; 2 × 304/122 = 4.98, but the roster holds 3 (P4 enrols on 10-15)
    assert e.actual == 2 and e.forecast == 3
    assert kp(compute_progress(ws, CODE, AS_OF), "visit_people").forecast == 5  # 2 × 304/122 = 4.98 人 → 5
    for town, n in [("北山街道", 2), ("西溪街道", 1)]:
        for i in range(n):
            add(ws, "activity", activity_type="hub", participants=5, town=town, date=d(f"2024-07-0{i + 1}"))
    c = kp(compute_progress(ws, CODE, d("2024-07-31")), "hub_towns")
    # 61 days elapsed: 1 × 304/61 = 4.98 towns, but the set has 3
    assert c.actual == 1 and c.forecast == 3


def test_a_distinct_town_forecast_stays_within_the_towns_of_the_area(db_url: str) -> None:
    """Issue 13 item 4: where the project's area is known, the towns universe of a distinct count of
    towns is the area's towns (X001's area is 西湖区: its 11 towns and 街道 plus 西湖街道, which the
    gazetteer lets 西湖区 name too: 12)."""
    from tracker.records.gazetteer import places_within

    assert len(places_within(("西湖区",), "town") or ()) == 12
    ws = workspace(db_url)
    for i, town in enumerate(["北山街道", "西溪街道", "灵隐街道", "翠苑街道", "文新街道"]):
        person(ws, f"T{i}", town=town, enrolled_on=d("2024-06-10"))
    r = kp(compute_progress(ws, CODE, d("2024-06-30")), "roster_towns")
    # 30 days elapsed: 5 × 304/30 = 50.7 towns forecast, but the area has 12
    assert r.actual == 5 and r.forecast == 12
    r = kp(compute_progress(ws, CODE, d("2024-12-31")), "roster_towns")
    # 214 days elapsed: 5 × 304/214 = 7.1, under the cap; towns are whole: 7
    assert r.forecast == 7


def test_timeliness_within_days_or_hours_of_the_reference_date(db_url: str) -> None:
    """"接到需求后3天（或24小时）内上门，及时率不低于90%": visits done within 3 days (24 hours: whole
    days, so at most 1) of their 需求登记日期. Seven visits by 09-30:
    06-01→06-03 2 days, 06-10→06-13 3, 06-20→06-21 1, 07-01→07-08 7, no date→07-10, 07-20→07-19 (done
    before it was requested), 08-01→08-01 0. Within 3 days: 4 of 7 = 57.14 %; within 24 hours: 2 of 7."""
    ws = workspace(db_url)
    for req, done in [("2024-06-01", "2024-06-03"), ("2024-06-10", "2024-06-13"), ("2024-06-20", "2024-06-21"),
                      ("2024-07-01", "2024-07-08"), (None, "2024-07-10"), ("2024-07-20", "2024-07-19"),
                      ("2024-08-01", "2024-08-01"), ("2024-09-25", "2024-10-02")]:
        add(ws, "activity", activity_type="visit", person_id="P1", date=d(done),
            requested_on=d(req) if req else None)
    add(ws, "activity", activity_type="lecture", participants=20, date=d("2024-08-20"),
        requested_on=d("2024-08-01"))  # not a visit: outside the KPI
    p = compute_progress(ws, CODE, AS_OF)
    t = kp(p, "timely_visits")
    assert t.actual == pytest.approx(400 / 7) and t.detail == {"numerator": 4, "denominator": 7}
    assert (t.evidence, t.violations, t.status) == (7, 3, "behind")
    h = kp(p, "visits_24h")  # 06-20→06-21 and 08-01→08-01
    assert h.actual == pytest.approx(200 / 7) and h.violations == 5
    viol = list_violations(ws, CODE, f"{CODE}.7.timely_visits", AS_OF)
    assert [(r["date"], r["reason"]) for r in viol] == [
        (d("2024-07-08"), "距需求登记日期（2024-07-01）7天，要求3天内"),
        (d("2024-07-10"), "未填写需求登记日期，无法判断是否及时：请补填"),
        (d("2024-07-19"), "日期早于需求登记日期（2024-07-20）：请核对")]
    end = kp(compute_progress(ws, CODE, END), "timely_visits")  # 09-25→10-02 is 7 days: 4 of 8
    assert (end.actual, end.status) == (50, "missed")
    assert kp(compute_progress(ws, CODE, d("2024-05-31")), "timely_visits").status == "pending"  # no visits yet
    _listings_agree(ws, AS_OF, END)


def test_per_week_quarter_year_and_day(db_url: str) -> None:
    """Visits of _counting_records: P1 06-05, 07-05, 10-02; P2 07-10; roster P1-P3 (P4 from 10-15)."""
    ws = workspace(db_url)
    _counting_records(ws)
    # per week (whole weeks from 06-01): as of 06-30 four weeks are over (06-01 … 06-28); 3 members × 4
    # weeks = 12 cells (P2 has no record yet by 06-30: judged from the period start), only P1's first
    # week (06-05) has a visit: 1/12 comply
    w = kp(compute_progress(ws, CODE, d("2024-06-30")), "weekly")
    assert (w.actual, w.detail["units"], w.violations) == (pytest.approx(100 / 12), 12, 11)
    # per calendar quarter: by 09-30 Q2 (June only) and Q3 are over: P1 (from 06-05) 1+1, P2 (from its
    # first visit 07-10: Q3 only) 1, P3 0+0 → 5 judged, 2 below 1
    q = kp(compute_progress(ws, CODE, AS_OF), "quarterly")
    assert (q.actual, q.detail["units"], q.violations) == (60, 5, 2)
    # at the end: P1 Q2-Q4 met, 2025 Q1 not (4 judged); P2 Q3 met, Q4 and Q1 not (3); P3 none of 4;
    # P4 (enrolled 10-15) Q4 and Q1 not (2): 13 judged, 4 met
    qe = kp(compute_progress(ws, CODE, END), "quarterly")
    assert (qe.detail["units"], qe.violations) == (13, 9)
    viol = list_violations(ws, CODE, f"{CODE}.2.quarterly", AS_OF)
    assert [(r["person"], r["what"], r["reason"]) for r in viol] == [
        ("P3", "2024年第2季度", "本季度 0 次，规则为每季度不少于 1 次"), ("P3", "2024年第3季度", "本季度 0 次，规则为每季度不少于 1 次")]
    # per service year (from 06-01; the period cuts the first year short at 2025-03-31): nothing over by
    # 09-30; at the end P1 3 visits, P2 1, P3 and P4 0 → three below 2
    assert kp(compute_progress(ws, CODE, AS_OF), "yearly").status == "pending"
    y = kp(compute_progress(ws, CODE, END), "yearly")
    assert (y.actual, y.detail["units"], y.violations, y.status) == (25, 4, 3, "missed")
    assert {r["what"] for r in list_violations(ws, CODE, f"{CODE}.2.yearly", END)} == {"第1年（2024-06-01起）"}
    _listings_agree(ws, AS_OF, END)


def test_per_day_three_meals(db_url: str) -> None:
    """"一日三餐": as of 06-02 two days are over; P1 eats 3 then 2 meals, P2 3 and 3."""
    ws = workspace(db_url)
    person(ws, "P1")
    person(ws, "P2")
    for pid, day, n in [("P1", "2024-06-01", 3), ("P1", "2024-06-02", 2), ("P2", "2024-06-01", 3),
                        ("P2", "2024-06-02", 3), ("P2", "2024-06-03", 1)]:
        for _ in range(n):
            add(ws, "activity", activity_type="meal", person_id=pid, date=d(day))
    m = kp(compute_progress(ws, CODE, d("2024-06-02")), "daily_meals")
    assert (m.actual, m.detail["units"], m.violations, m.evidence) == (75, 4, 1, 11)
    assert m.detail["smallest"] == 2
    assert [(r["person"], r["what"], r["reason"]) for r in list_violations(
        ws, CODE, f"{CODE}.2.daily_meals", d("2024-06-02"))] == [("P1", "2024-06-02", "本日 2 次，规则为每日不少于 3 次")]
    m3 = kp(compute_progress(ws, CODE, d("2024-06-03")), "daily_meals")  # 06-03: P1 none, P2 one
    assert (m3.detail["units"], m3.violations, m3.actual) == (6, 3, 50)


def test_per_person_judges_members_from_enrolment_to_exit(db_url: str) -> None:
    """"每人每月探访不少于1次" over a roster enrolled over several months, with members who leave.
    As of 2024-12-31, June–December are over. Judged member-months (✓ visited, ✗ not):
    E1 enrolled 06-01: Jun–Dec, all but September ✓ → 7 judged, 1 ✗;
    E2 enrolled 09-15: Sep–Dec ✓ (June–August are before its enrolment) → 4, 0 ✗;
    E3 enrolled 11-03: Nov ✓, Dec ✗ → 2, 1 ✗;
    E4 enrolled 06-10, 结案 08-20: Jun ✓, Jul ✓, Aug ✗, nothing judged after → 3, 1 ✗;
    E6 no 建档日期, first visit 10-05: Oct ✓, Nov ✗, Dec ✓ → 3, 1 ✗;
    E5 enrolled 2025-01-10 (after as-of) and E7 (left 2024-05-31, before the period): not judged.
    19 member-months judged, 15 meet the rule: 15/19 = 78.95%; only E2 fully compliant."""
    ws = workspace(db_url)
    person(ws, "E1", enrolled_on=d("2024-06-01"), name="陈一")
    person(ws, "E2", enrolled_on=d("2024-09-15"))
    person(ws, "E3", enrolled_on=d("2024-11-03"))
    person(ws, "E4", enrolled_on=d("2024-06-10"), exit_on=d("2024-08-20"), name="林四")
    person(ws, "E5", enrolled_on=d("2025-01-10"))
    person(ws, "E6")
    person(ws, "E7", enrolled_on=d("2024-03-01"), exit_on=d("2024-05-31"))
    visits = {"E1": ["06-03", "07-03", "08-03", "10-03", "11-03", "12-03"],
              "E2": ["09-20", "10-20", "11-20", "12-20"], "E3": ["11-05"], "E4": ["06-12", "07-12"],
              "E6": ["10-05", "12-05"], "E5": [], "E7": []}
    for pid, days in visits.items():
        for day in days:
            add(ws, "activity", activity_type="visit", person_id=pid, date=d(f"2024-{day}"))
    as_of = d("2024-12-31")
    p = compute_progress(ws, CODE, as_of)
    m = kp(p, "monthly")
    assert m.actual == pytest.approx(100 * 15 / 19)
    assert m.detail == {"members": 5, "members_compliant": 1, "judged": 19, "missed": 4, "below_pace": 0,
                        "smallest": 0, "units": 19}
    assert (m.violations, m.status, m.target, m.measure) == (4, "missed", 1, "compliance_pct")
    j = m.to_json()
    assert (j["actual"], j["target"], j["measure"], j["expected"]) == (78.95, 1, "compliance_pct", None)
    from tracker.reports.scoring import describe_gap

    assert describe_gap(m) == ("第2条 每人每月探访：要求每个对象 ≥ 1次/月；判定 19 个对象·期，78.95% 达到，"
                               "4 个未达到；1/5 个对象全部达到")
    lenient = kp(p, "monthly_75")  # the same rule, the bureau accepting 75% of member-months
    assert (lenient.actual, lenient.status) == (pytest.approx(100 * 15 / 19), "on_track")
    assert lenient.detail["compliance_target"] == 75
    assert kp(compute_progress(ws, CODE, END), "monthly_75").status == "missed"  # Jan–Mar: nobody visited
    viol = list_violations(ws, CODE, f"{CODE}.2.monthly", as_of)
    assert sorted((r["person"], r["what"]) for r in viol) == [
        ("E1", "2024-09"), ("E3", "2024-12"), ("E4", "2024-08"), ("E6", "2024-11")]
    dist = per_person_distribution(ws, CODE, f"{CODE}.2.monthly", as_of)  # judged member-months only
    assert dict(zip(dist["count"], dist["people"], strict=True)) == {0: 4, 1: 15}


def _staffing(ws):  # type: ignore[no-untyped-def]
    for sid, role, emp, start, left in [
            ("S1", "社工", "专职", None, "2024-08-15"), ("S2", "社工", "专职", "2024-06-01", None),
            ("S3", "督导", "专职", "2024-06-10", "2024-12-01"), ("S4", "社工", "兼职", None, None),
            ("S5", "社工", "专职", "2024-08-20", None), ("S6", "社工", "志愿者", None, None)]:
        add(ws, "staff", staff_id=sid, name=f"员工{sid}", role=role, employment=emp,
            started_on=d(start) if start else None, left_on=d(left) if left else None)


def test_headcount_in_post_on_every_day(db_url: str) -> None:
    """"配备专职社工不少于3名": full-time 社工/督导 S1 (left 08-15), S2 (from 06-01), S3 (06-10 to
    12-01), S5 (from 08-20); S4 is part-time, S6 a volunteer. In post: 06-01 S1 S2 = 2; 06-10 +S3 = 3;
    08-15 S1 gone = 2; 08-20 +S5 = 3; (after 09-30) 12-01 S3 gone = 2."""
    ws = workspace(db_url)
    assert kp(compute_progress(ws, CODE, AS_OF), "fulltime_sw").actual == 0  # nobody registered: none in post
    _staffing(ws)
    k = kp(compute_progress(ws, CODE, AS_OF), "fulltime_sw")
    assert (k.actual, k.violations, k.evidence, k.status) == (2, 2, 3, "behind")  # 3 in post on 09-30
    viol = list_violations(ws, CODE, f"{CODE}.8.fulltime_sw", AS_OF)
    assert [(r["date"], r["reason"]) for r in viol] == [
        (d("2024-06-01"), "2024-06-01 起在岗专职社工、督导 2 名，要求不少于 3 名"),
        (d("2024-08-15"), "2024-08-15 起在岗专职社工、督导 2 名，要求不少于 3 名")]
    end = kp(compute_progress(ws, CODE, END), "fulltime_sw")
    assert (end.actual, end.violations, end.evidence, end.status) == (2, 3, 2, "missed")
    sup = kp(compute_progress(ws, CODE, AS_OF), "supervisor")  # 督导 S3 only from 06-10
    assert (sup.actual, sup.violations) == (0, 1)
    assert kp(compute_progress(ws, CODE, d("2024-05-31")), "supervisor").status == "pending"  # not begun
    # a part-time 督导 in post since before the period: the supervisor rule holds so far
    add(ws, "staff", staff_id="S7", role="督导", employment="兼职", started_on=d("2024-05-20"))
    sup = kp(compute_progress(ws, CODE, AS_OF), "supervisor")
    assert (sup.actual, sup.violations, sup.status) == (1, 0, "on_track")
    _listings_agree(ws, AS_OF, END)


def test_staff_count_with_by_employment_and_in_post(db_url: str) -> None:
    """"持社工证的专职人员不少于1名": S1 (full-time, left 08-15) and S4 (part-time) hold 社工证."""
    ws = workspace(db_url)
    _staffing(ws)
    add(ws, "credential", staff_id="S1", credential="social_worker")
    add(ws, "credential", staff_id="S4", credential="social_worker")
    assert kp(compute_progress(ws, CODE, d("2024-07-31")), "certified_fulltime").actual == 1  # S1 in post
    k = kp(compute_progress(ws, CODE, AS_OF), "certified_fulltime")  # S1 has left; S4 is part-time
    assert (k.actual, k.status) == (0, "behind")
    assert kp(compute_progress(ws, CODE, AS_OF), "social_workers").actual == 1  # unfiltered: S4 still counts


def test_superseded_clauses_and_kpis_are_kept_but_not_counted(db_url: str) -> None:
    """Clause 9 (500人次) is replaced by clause 9a (300人次, 更正公告); KPI 7.timely_old (2 days, 95%) by
    7.timely_visits. Two meals: 9a counts them against 300; 9 and timely_old are not computed."""
    from tracker.kpispec.history import orphans
    from tracker.reports.scoring import clause_results, superseded_rows

    ws = workspace(db_url)
    for day in ("2024-06-03", "2024-06-04"):
        add(ws, "activity", activity_type="meal", person_id="P1", date=d(day))
    p = compute_progress(ws, CODE, AS_OF)
    ids = {k.id for k in p.kpis}
    assert f"{CODE}.9a.meals_total" in ids and f"{CODE}.7.timely_visits" in ids
    assert f"{CODE}.9.meals_total" not in ids and f"{CODE}.7.timely_old" not in ids
    m = next(k for k in p.kpis if k.id == f"{CODE}.9a.meals_total")
    assert (m.actual, m.target, m.clause) == (2, 300, 9)  # the contract's integer clause number
    j = next(k for k in p.to_json()["kpis"] if k["id"] == m.id)
    assert (j["clause"], j["clause_label"]) == (9, "9a")  # and the release table's own number beside it
    assert all("clause_label" not in k for k in p.to_json()["kpis"] if k["id"] != m.id)
    spec = ws.spec(CODE)
    judged = [c.clause for c in clause_results(spec, p)]
    assert judged[judged.index(8):judged.index(10) + 1] == [8, "9a", 10]  # clause 9 is not judged
    assert superseded_rows(spec) == [
        {"clause": "7", "what": "第7条 探访及时率（原）（目标 95%）", "by": "第7条 探访及时率（目标 90%）",
         "correction": "2024年7月更正公告"},
        {"clause": "9", "what": "第9条：开展助餐服务不少于500人次", "by": "第9a条：开展助餐服务不少于300人次",
         "correction": "2024年9月5日更正公告"}]
    from tracker.reports.project import build_project_report, html_for

    html = html_for(build_project_report(ws, CODE, "midterm", AS_OF))
    assert "已被更正的条款和指标" in html and "2024年9月5日更正公告" in html
    assert 'data-clause="9a"' in html and '<tbody class="clause-group" data-clause="9">' not in html
    assert f'data-kpi="{CODE}.7.timely_old"' not in html  # never in the verdict table
    judgement(ws, f"{CODE}.9.meals_total", "met", dt.datetime(2024, 9, 1, tzinfo=dt.UTC))  # history of the old one
    with ws.session() as s:
        assert orphans(s, [spec]) == []  # kept in history: not an orphan


def test_expense_totals_execution_rates_caps_and_shares(db_url: str) -> None:
    """Funding 10万元 = 100,000 元; budget 人员经费 50,000, 宣传费 8,000, 活动经费 42,000. By 09-30:
    人员经费 20,000 + 15,000.50 + 5,000 (written “人员 经费”) = 40,000.50; 宣传费 12,000; 活动经费 8,000.25;
    all 60,000.75. After 09-30: 人员经费 3,000 more (10-15)."""
    from decimal import Decimal

    ws = workspace(db_url)
    for cat, amount, day in [("人员经费", "20000.00", "2024-07-01"), ("人员经费", "15000.50", "2024-08-01"),
                             ("人员 经费", "5000", "2024-09-01"), ("宣传费", "12000", "2024-08-15"),
                             ("活动经费", "8000.25", "2024-09-10"), ("人员经费", "3000", "2024-10-15")]:
        add(ws, "expense", category=cat, amount=Decimal(amount), date=d(day))
    p = compute_progress(ws, CODE, AS_OF)
    ex = kp(p, "execution")  # 60,000.75 / 100,000; paced 90 × 122/304 = 36.1 → on track
    assert ex.actual == pytest.approx(60.00075) and (ex.evidence, ex.status) == (5, "on_track")
    assert ex.expected == pytest.approx(90 * 122 / 304) and ex.detail["spent"] == 60000.75
    cap = kp(p, "publicity_cap")  # 12,000 / 100,000 = 12% > 10%: spending cannot come back down
    assert (cap.actual, cap.evidence, cap.status) == (pytest.approx(12), 1, "missed")
    line = kp(p, "staff_budget")  # 40,000.50 / 50,000
    assert (line.actual, line.evidence, line.status) == (pytest.approx(80.001), 3, "on_track")
    total = kp(p, "spent_total")  # in 万元
    assert total.actual == pytest.approx(6.000075) and total.status == "on_track"
    share = kp(p, "staff_share")  # 40,000.50 / 60,000.75 = 66.67% > 60%: a share can still fall
    assert share.actual == pytest.approx(100 * 40000.50 / 60000.75) and share.status == "behind"
    end = compute_progress(ws, CODE, END)  # + 3,000 人员经费
    assert kp(end, "execution").actual == pytest.approx(63.00075) and kp(end, "execution").status == "missed"
    assert kp(end, "staff_share").actual == pytest.approx(100 * 43000.50 / 63000.75)
    assert kp(end, "staff_share").status == "missed" and kp(end, "staff_budget").status == "met"


def test_expense_without_a_denominator_is_pending_with_the_reason() -> None:
    from tracker.kpispec.loader import load_spec
    from tracker.measure.kinds.expense import denominator

    spec = load_spec(SPECS, CODE).spec
    k = next(k for _, k in spec.iter_kpis() if k.key == "staff_budget")
    assert denominator(spec, k) == (50000, None)
    nobudget = spec.model_copy(update={"budget": []})
    assert "没有核定预算" in (denominator(nobudget, k)[1] or "")
    other = k.model_copy(update={"where": k.where.model_copy(update={"categories": ["差旅费"]})})
    assert "核定预算中没有科目 差旅费" in (denominator(spec, other)[1] or "")
    funding = next(k for _, k in spec.iter_kpis() if k.key == "execution")
    unknown = spec.model_copy(update={"project": spec.project.model_copy(update={
        "funding": spec.project.funding.model_copy(update={"amount_wan": None})})})
    assert "资助金额未定" in (denominator(unknown, funding)[1] or "")


def test_a_child_protection_rule_broken_in_practice_is_missed(db_url: str) -> None:
    """"所有参与儿童工作的人员须有无犯罪记录证明": a certificate still to come is behind; once the
    person took part in an activity without a valid one, it is a finding (missed), listed.
    S1 valid throughout; S2's expired 08-31; S4's obtained 08-01. Activities naming them: S2 on 07-10
    (valid then) and 09-10 (expired), S4 on 07-15 (before it had one), S1 on 07-20."""
    ws = workspace(db_url)
    for sid, name in [("S1", "王五"), ("S2", "赵六"), ("S4", "孙八")]:
        add(ws, "staff", staff_id=sid, name=name, works_with_children=True)
    add(ws, "credential", staff_id="S1", credential="no_criminal_record")
    add(ws, "credential", staff_id="S2", credential="no_criminal_record", expires_on=d("2024-08-31"))
    add(ws, "credential", staff_id="S4", credential="no_criminal_record", obtained_on=d("2024-08-01"))
    add(ws, "activity", activity_type="lecture", participants=20, staff="S2", date=d("2024-07-10"))
    add(ws, "activity", activity_type="lecture", participants=20, staff="孙八", date=d("2024-07-15"))
    add(ws, "activity", activity_type="lecture", participants=20, staff="S1", date=d("2024-07-20"))
    before = kp(compute_progress(ws, CODE, d("2024-07-12")), "crc")  # S4 has none yet, no activity yet
    assert (before.actual, before.violations, before.status) == (1, 1, "behind")
    assert before.detail["acted_without"] == 0
    p = kp(compute_progress(ws, CODE, d("2024-07-31")), "crc")  # S4 took part on 07-15 without it
    assert (p.actual, p.violations, p.status, p.measure) == (1, 1, "missed", "lacking_count")
    add(ws, "activity", activity_type="lecture", participants=20, staff="S2", date=d("2024-09-10"))
    k = kp(compute_progress(ws, CODE, AS_OF), "crc")  # S2 lacks it now and worked without it on 09-10
    assert (k.actual, k.violations, k.status) == (1, 2, "missed")
    assert k.detail == {"staff": 3, "lacking": 1, "acted_without": 2}
    viol = list_violations(ws, CODE, f"{CODE}.5.crc", AS_OF)
    assert [(r["what"], r["date"], r["reason"]) for r in viol] == [
        ("S2", d("2024-09-10"), "缺少有效的无犯罪记录证明；2024-09-10 起在没有有效无犯罪记录证明的情况下参与了活动"),
        ("S4", d("2024-07-15"), "2024-07-15 起在没有有效无犯罪记录证明的情况下参与了活动")]
    _listings_agree(ws, AS_OF, END)


def test_every_member_has_a_file_from_enrolment_to_exit(db_url: str) -> None:
    """"一户一档" (``per_person`` over a roster, ``source: deliverable``): every elder has a 服务档案
    naming it. Roster enrolled over several months, one member leaving:
    H1 enrolled 06-01, file 06-20; H2 enrolled 08-10, file 12-05; H3 enrolled 10-01, 结案 11-30,
    no file; H4 enrolled 2025-01-10, file 2025-02-01; H5 enrolled 07-01, no file (only a 宣传报道
    naming it, another type). A 服务档案 naming nobody and one of a 个案 (not an elder) count for no one.
    ``household_files`` is due at the end (the default), ``files_by_midterm`` at the midterm (11-15)."""
    ws = workspace(db_url)
    person(ws, "H1", enrolled_on=d("2024-06-01"), name="陈一")
    person(ws, "H2", enrolled_on=d("2024-08-10"))
    person(ws, "H3", enrolled_on=d("2024-10-01"), exit_on=d("2024-11-30"), name="林三")
    person(ws, "H4", enrolled_on=d("2025-01-10"))
    person(ws, "H5", enrolled_on=d("2024-07-01"), name="黄五")
    person(ws, "C1", population="cases", enrolled_on=d("2024-06-01"))
    for pid, day in [("H1", "2024-06-20"), ("H2", "2024-12-05"), ("H4", "2025-02-01"), (None, "2024-07-01"),
                     ("C1", "2024-07-02")]:
        add(ws, "deliverable", deliverable_type="service_file", person_id=pid, title="服务档案", date=d(day))
    add(ws, "deliverable", deliverable_type="publicity", person_id="H5", title="报道", date=d("2024-07-03"))

    # 09-30: on the roster H1, H2, H5 (H3, H4 not enrolled yet); H1 has its file: 1/3, nobody
    # broke it (not due yet): on track, no violation
    p = compute_progress(ws, CODE, AS_OF)
    f = kp(p, "household_files")
    assert (f.actual, f.violations, f.status, f.measure, f.target) == (pytest.approx(100 / 3), 0, "on_track",
                                                                       "compliance_pct", 1)
    assert f.detail == {"members": 3, "members_compliant": 1, "judged": 3, "missed": 0, "below_pace": 2,
                        "smallest": 0, "units": 3}
    m = kp(p, "files_by_midterm")
    assert (m.actual, m.violations, m.status) == (pytest.approx(100 / 3), 0, "on_track")
    assert list_violations(ws, CODE, f"{CODE}.21.household_files", AS_OF) == []

    # 11-20: the midterm (11-15) is past: H2, H3, H5 have none → 1/4, 3 violations, missed
    m = kp(compute_progress(ws, CODE, d("2024-11-20")), "files_by_midterm")
    assert (m.actual, m.violations, m.status) == (25, 3, "missed")

    # 12-31: H2's file (12-05) is in; H3 left on 11-30 without one: broken for good although the
    # end is still to come; H5 is still in the service and may still get one
    p = compute_progress(ws, CODE, d("2024-12-31"))
    f = kp(p, "household_files")
    assert (f.actual, f.violations, f.status) == (50, 1, "missed")
    assert (f.detail["members"], f.detail["missed"], f.detail["below_pace"]) == (4, 1, 1)
    viol = list_violations(ws, CODE, f"{CODE}.21.household_files", d("2024-12-31"))
    assert [(r["person"], r["name"], r["reason"]) for r in viol] == [
        ("H3", _mask_name("林三"), "没有“服务档案”（要求每人不少于 1 份）（2024-11-30 已结案）")]
    m = kp(p, "files_by_midterm")  # H2 late but in; H3, H5 without
    assert (m.actual, m.violations, m.status) == (50, 2, "missed")

    # the end: H1, H2, H4 have one; H3 (left) and H5 do not: 3/5
    f = kp(compute_progress(ws, CODE, END), "household_files")
    assert (f.actual, f.violations, f.status) == (60, 2, "missed")
    viol = list_violations(ws, CODE, f"{CODE}.21.household_files", END)
    assert sorted((r["person"], r["name"]) for r in viol) == [("H3", _mask_name("林三")), ("H5", _mask_name("黄五"))]
    assert [r["reason"] for r in viol if r["person"] == "H5"] == ["没有“服务档案”（要求每人不少于 1 份）"]

    # "每家测评机构各形成一份反馈报告" (``members_served_by: [visit]``): only the members a visit
    # served are judged: H1 (visited 06-05, has its file) and H5 (visited 07-10, none) of five
    for pid, day in [("H1", "2024-06-05"), ("H5", "2024-07-10"), ("H2", "2024-10-20")]:
        add(ws, "activity", activity_type="visit", person_id=pid, date=d(day))
    s = kp(compute_progress(ws, CODE, AS_OF), "served_files")  # H2's visit is after 09-30
    assert (s.actual, s.detail["members"], s.violations, s.status) == (50, 2, 0, "on_track")
    s = kp(compute_progress(ws, CODE, END), "served_files")  # H1, H2 have theirs, H5 not
    assert (s.actual, s.detail["members"], s.violations, s.status) == (pytest.approx(200 / 3), 3, 1, "missed")
    assert [r["person"] for r in list_violations(ws, CODE, f"{CODE}.21.served_files", END)] == ["H5"]

    # every member with a file before the end: met early
    add(ws, "deliverable", deliverable_type="service_file", person_id="H5", title="服务档案", date=d("2024-09-01"))
    f = kp(compute_progress(ws, CODE, AS_OF), "household_files")  # H1, H5 of H1, H2, H5
    assert (f.actual, f.status) == (pytest.approx(200 / 3), "on_track")
    add(ws, "deliverable", deliverable_type="service_file", person_id="H2", title="服务档案", date=d("2024-09-02"))
    f = kp(compute_progress(ws, CODE, AS_OF), "household_files")
    assert (f.actual, f.violations, f.status) == (100, 0, "met")


def test_staff_rules_scoped_by_role_with_minimum_experience(db_url: str) -> None:
    """"助教教师具有3年以上工作经验" (``where.roles: [助教教师]``, ``min_experience_years: 3``),
    judged on the day each started on the project (入职日期, else the period start 2024-06-01):
    T1 from 06-01, 从业 2021-06-01: 36 months, 3 years ✓; T2 from 07-15, 从业 2021-08-01: 35 months ✗;
    T3 no 入职日期, 工作年限 5 ✓; T4 工作年限 2 ✗; T5 nothing recorded ✗; T6 is a 社工 (not in scope).
    "督导须具备社工证及5年以上经验": U1 从业 2019-06-01 (60 months) with 社工证 ✓; U2 工作年限 6 without
    社工证 ✗; U3 从业 2020-01-01, 53 months at the period start, with 社工证 ✗."""
    ws = workspace(db_url)
    add(ws, "staff", staff_id="T6", name="周社工", role="社工", practice_since=d("2024-01-01"))
    a = kp(compute_progress(ws, CODE, AS_OF), "aide_experience")  # no 助教教师 recorded: no evidence
    assert (a.status, a.detail["reason"]) == ("pending", "尚未登记工作人员：请先导入在此指标范围内的工作人员名单")
    for sid, name, start, since, years in [
            ("T1", "王老师", "2024-06-01", "2021-06-01", None), ("T2", "李老师", "2024-07-15", "2021-08-01", None),
            ("T3", "赵老师", None, None, 5), ("T4", "钱老师", None, None, 2), ("T5", "孙老师", None, None, None)]:
        add(ws, "staff", staff_id=sid, name=name, role="助教教师", started_on=d(start) if start else None,
            practice_since=d(since) if since else None, experience_years=years)
    for sid, name, since, years, cert in [("U1", "吴督导", "2019-06-01", None, True), ("U2", "郑督导", None, 6, False),
                                          ("U3", "冯督导", "2020-01-01", None, True)]:
        add(ws, "staff", staff_id=sid, name=name, role="督导", started_on=d("2024-06-01"),
            practice_since=d(since) if since else None, experience_years=years)
        if cert:
            add(ws, "credential", staff_id=sid, credential="social_worker")

    p = compute_progress(ws, CODE, AS_OF)
    a = kp(p, "aide_experience")  # T2, T4, T5 lack it; nobody took part in an activity yet: behind
    assert (a.actual, a.violations, a.evidence, a.status, a.measure) == (3, 3, 5, "behind", "lacking_count")
    assert a.detail == {"staff": 5, "lacking": 3, "acted_without": 0}
    assert kp(compute_progress(ws, CODE, END), "aide_experience").status == "missed"
    s = kp(p, "supervisor_qualified")
    assert (s.actual, s.violations, s.evidence, s.status) == (2, 2, 3, "behind")
    viol = list_violations(ws, CODE, f"{CODE}.22.supervisor_qualified", AS_OF)
    assert [(r["what"], r["name"], r["reason"]) for r in viol] == [
        ("U2", _mask_name("郑督导"), "缺少有效的社工证"),
        ("U3", _mask_name("冯督导"), "工作经验不足5年（从业起始日期 2020-01-01，入项时满 4 年）")]

    # T2 assists a class on 08-01 without the experience: a finding, missed at once
    add(ws, "activity", activity_type="tutoring", participants=10, staff="李老师", date=d("2024-08-01"))
    add(ws, "activity", activity_type="lecture", participants=30, staff="U3", date=d("2024-09-10"))
    p = compute_progress(ws, CODE, AS_OF)
    a = kp(p, "aide_experience")
    assert (a.actual, a.violations, a.status, a.detail["acted_without"]) == (3, 3, "missed", 1)
    viol = list_violations(ws, CODE, f"{CODE}.22.aide_experience", AS_OF)
    assert [(r["what"], r["name"], r["date"], r["reason"]) for r in viol] == [
        ("T2", _mask_name("李老师"), d("2024-08-01"),
         "工作经验不足3年（从业起始日期 2021-08-01，入项时满 2 年）；2024-08-01 起在工作经验不足3年的情况下参与了活动"),
        ("T4", _mask_name("钱老师"), None, "工作经验不足3年（登记的工作年限 2 年）"),
        ("T5", _mask_name("孙老师"), None, "缺少工作经验记录：未登记从业起始日期或工作年限（要求3年以上）")]
    s = kp(p, "supervisor_qualified")
    assert (s.violations, s.status) == (2, "missed")
    assert [r["reason"] for r in list_violations(ws, CODE, f"{CODE}.22.supervisor_qualified", AS_OF)
            if r["what"] == "U3"] == ["工作经验不足5年（从业起始日期 2020-01-01，入项时满 4 年）；"
                                      "2024-09-10 起在工作经验不足5年的情况下参与了活动"]


def test_either_or_bounds_any_of(db_url: str) -> None:
    """"服务时长不少于3天（或24小时）": a camp counts when it lasts 3 days or 24 hours (and has 10
    people); a camp short on both is a violation naming both values."""
    ws = workspace(db_url)
    for day, n, days, hours in [("2024-07-01", 30, 3, None),   # 3 days: counts
                                ("2024-07-15", 30, 2, 24),     # 2 days but 24 hours: counts
                                ("2024-08-01", 30, 2, 20),     # 2 days, 20 hours: too short
                                ("2024-08-10", 8, 3, None),    # long enough, 8 people: too few
                                ("2024-09-01", 20, None, None)]:  # no length recorded: too short
        add(ws, "activity", activity_type="camp", participants=n, days=days, hours=hours, date=d(day))
    camps = kp(compute_progress(ws, CODE, AS_OF), "camps")
    assert (camps.actual, camps.evidence, camps.violations) == (2, 2, 3)
    assert (camps.expected, camps.status) == (1, "met")  # 2 × 122/304 = 0.80 → 1; 2 of 2 reached
    viol = list_violations(ws, CODE, f"{CODE}.11.camps", AS_OF)
    rule = "规则为每条记录参与人数不少于 10 人，时长不少于 3 天或 24 小时"
    assert [(r["date"], r["reason"]) for r in viol] == [
        (d("2024-08-01"), f"时长不足（天数 2 天、时长 20 小时），{rule}"),
        (d("2024-08-10"), f"参与人数 8 人，{rule}"),
        (d("2024-09-01"), f"时长不足（天数未填写、时长未填写），{rule}"),
    ]


def test_project_wide_rule_per_month_and_quarter(db_url: str) -> None:
    """"每月开展融合活动不少于1次" for the project as a whole (``per_person`` with ``by: project``):
    every ended month of the period is judged once, months before the start and the running month are
    not; ``actual`` is the share of months that meet it, each month missed is a violation named in
    Chinese. With a numeric field the month's (quarter's) sum is judged."""
    ws = workspace(db_url)
    for day, n in [("2024-03-20", 50),   # before the period: no month judged for it
                   ("2024-07-03", 15), ("2024-07-20", 20), ("2024-08-08", 10),
                   ("2024-10-05", 30)]:  # after the as-of date
        add(ws, "activity", activity_type="inclusion", participants=n, date=d(day))
    p = compute_progress(ws, CODE, AS_OF)
    m = kp(p, "inclusion_monthly")  # June 0, July 2, August 1, September 0: 2 of 4 months
    assert (m.actual, m.evidence, m.violations, m.measure) == (50.0, 3, 2, "compliance_pct")
    assert m.detail == {"members": 1, "members_compliant": 0, "judged": 4, "missed": 2, "below_pace": 0,
                        "smallest": 0, "units": 4}
    assert m.status == "missed"  # a month gone by without one: broken for good under the strict reading
    viol = list_violations(ws, CODE, f"{CODE}.11.inclusion_monthly", AS_OF)
    assert [(r["what"], r["date"], r["person"], r["reason"]) for r in viol] == [
        ("2024年6月", d("2024-06-30"), None, "2024年6月 0 次，规则为项目每月不少于 1 次"),
        ("2024年9月", d("2024-09-30"), None, "2024年9月 0 次，规则为项目每月不少于 1 次"),
    ]
    # October is running on 10-15 (not judged yet, though it has a record); judged once it has ended.
    assert kp(compute_progress(ws, CODE, d("2024-10-15")), "inclusion_monthly").detail["judged"] == 4
    later = kp(compute_progress(ws, CODE, d("2024-10-31")), "inclusion_monthly")
    assert (later.actual, later.detail["judged"], later.violations) == (60.0, 5, 2)  # 3 of 5 months
    q = kp(p, "inclusion_quarterly")  # Q2 (June only): 0 人次; Q3: 15 + 20 + 10 = 45 ≥ 40
    assert (q.actual, q.violations, q.detail["judged"], q.detail["smallest"]) == (50.0, 1, 2, 0)
    viol = list_violations(ws, CODE, f"{CODE}.11.inclusion_quarterly", AS_OF)
    assert [r["reason"] for r in viol] == ["2024年第2季度 0 人次，规则为项目每季度不少于 40 人次"]


def test_per_place_rules_by_location_and_by_town(db_url: str) -> None:
    """"每个落地社区不少于2场" (``by: location``) and "每个镇街每月至少1场" (``by: town``, ``per: month``):
    the places are those the records name, each judged from its first record. Hub sessions:
    社区A (北山街道) 06-05, 07-10; 社区B (北山街道) 08-15; 社区C (西溪街道) 06-20, 07-02, 09-03.
    By location at the end: A 2, B 1, C 3 → 2 of 3 sites comply (66.67%), B is the violation.
    By town and month, June–September on 09-30: 北山 1, 1, 1, 0 and 西溪 1, 1, 0, 1 → 6 of 8
    town-months (75%), two missed."""
    ws = workspace(db_url)
    for day, town, site in [("2024-06-05", "北山街道", "社区A"), ("2024-07-10", "北山街道", "社区A"),
                            ("2024-08-15", "北山街道", "社区B"), ("2024-06-20", "西溪街道", "社区C"),
                            ("2024-07-02", "西溪街道", "社区C"), ("2024-09-03", "西溪街道", "社区C")]:
        add(ws, "activity", activity_type="hub", participants=5, town=town, location=site, date=d(day))
    s = kp(compute_progress(ws, CODE, END), "per_site")
    assert (s.violations, s.status, s.measure) == (1, "missed", "compliance_pct")
    assert s.actual == pytest.approx(200 / 3)
    assert (s.detail["members"], s.detail["members_compliant"], s.detail["smallest"]) == (3, 2, 1)
    [v] = list_violations(ws, CODE, f"{CODE}.23.per_site", END)
    assert (v["what"], v["reason"]) == ("社区B", "仅 1 次，规则为每个地点不少于 2 次")
    t = kp(compute_progress(ws, CODE, AS_OF), "per_town_monthly")
    assert (t.actual, t.violations, t.detail["judged"], t.detail["missed"]) == (75.0, 2, 8, 2)
    assert (t.detail["members"], t.detail["members_compliant"], t.detail["smallest"]) == (2, 0, 0)
    missed = [(r["what"], r["reason"]) for r in list_violations(ws, CODE, f"{CODE}.23.per_town_monthly", AS_OF)]
    assert missed == [("北山街道 2024-09", "本月 0 次，规则为每个镇街每月不少于 1 次"),
                      ("西溪街道 2024-08", "本月 0 次，规则为每个镇街每月不少于 1 次")]
