"""The monthly email leads with what to act on, read from the email a real loopback SMTP server
received: the month's change, what is needed per month to finish on time, a warning for a month with
no records; the bureau's digest lists silent projects first (both databases)."""

from __future__ import annotations

from schedule_support import FAST, P1, SPECS, LoopbackSmtp, add_visits, d

from tracker.scheduling.contacts import add_contact
from tracker.scheduling.facts import months_left
from tracker.scheduling.tick import tick
from tracker.workspace import open_workspace


def _text(r) -> str:  # type: ignore[no-untyped-def]
    return next(p for p in r.msg.walk() if p.get_content_type() == "text/plain").get_content()


def _html(r) -> str:  # type: ignore[no-untyped-def]
    return next(p for p in r.msg.walk() if p.get_content_type() == "text/html").get_content()


def test_months_left() -> None:
    assert months_left(d("2024-07-31"), d("2025-03-31")) == 8
    assert months_left(d("2025-03-15"), d("2025-03-31")) == 1
    assert months_left(d("2025-03-31"), d("2025-03-31")) == 0


def test_monthly_email_says_what_to_do(db_url: str, smtp: LoopbackSmtp, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    ws = open_workspace(db_url, SPECS)
    # June: 3 visits to 2 people; July: 2 visits, one new person; August: nothing.
    add_visits(ws, P1, [("2024-06-03", "E001"), ("2024-06-10", "E002"), ("2024-06-20", "E001"),
                        ("2024-07-02", "E003"), ("2024-07-15", "E002")])
    add_contact(ws, P1, "ngo", "王小明", "ngo@example.org", since=d("2024-06-01"))
    add_contact(ws, None, "bureau", "赵六", "digest@example.org", since=d("2024-06-01"))
    tick(ws, d("2024-09-01"), smtp=smtp.settings(), settings=FAST)
    mails = {(r.rcpt_tos[0], str(r.msg["Subject"])[-7:]): r for r in smtp.received}

    july = _text(mails[("ngo@example.org", "2024年7月")])
    assert july.startswith("王小明：")
    # July: +2 visits (5 in all), +1 person (3 in all)
    assert "- 第1条 探访总人次：本月 +2 人次（累计 5）" in july
    assert "- 第1条 探访对象人数：本月 +1 人（累计 3）" in july
    # behind: 1000 − 5 = 995 visits and 100 − 3 = 97 people in the 8 months Aug–Mar: ⌈995/8⌉ = 125, ⌈97/8⌉ = 13
    assert "- 第1条 探访总人次：还差 995 人次，剩余 8 个月，每月须完成 125 人次" in july
    assert "- 第1条 探访对象人数：还差 97 人，剩余 8 个月，每月须完成 13 人" in july
    assert "尚未导入任何记录" not in july
    # the five visits have no sign-in sheet or photo
    assert "- 上门探访：5 条活动记录没有签到表或照片" in july

    # June, the period's first month: all it has done is its change (3 visits to 2 people)
    june = _text(mails[("ngo@example.org", "2024年6月")])
    assert "- 第1条 探访总人次：本月 +3 人次（累计 3）" in june
    assert "- 第1条 探访对象人数：本月 +2 人（累计 2）" in june
    assert "本月各项指标没有新增完成量" not in june

    august = mails[("ngo@example.org", "2024年8月")]
    assert "注意：本月（8月）尚未导入任何记录" in _text(august)
    assert 'id="silent"' in _html(august) and "本月各项指标没有新增完成量" in _html(august)
    for r in smtp.received:
        body = _text(r) + _html(r)
        assert "tracker " not in body and "--" not in body  # no command line in any email

    digest = _text(mails[("digest@example.org", "全市公益创投项目2024年8月"[-7:])])
    assert digest.startswith("赵六：")
    assert f"本月没有录入任何记录的项目（1 个，请督促）：{P1} 农村困难老人探访项目（测试县）" in digest
    june_digest = _text(mails[("digest@example.org", "全市公益创投项目2024年6月"[-7:])])
    assert "本月没有录入任何记录" not in june_digest
    assert f"有指标滞后或未达标的项目（1 个）：{P1}" in june_digest


def test_new_violations_and_what_is_due_in_60_days(db_url: str, smtp: LoopbackSmtp, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The fixture project with a training clause (each session ≥ 20 people; 5 sessions due by the
    mid-term, 2024-11-15): September's email, sent as of 2024-09-30, names the session of 12 imported
    that month as a new violation and lists what falls due within 60 days (the training target, 0 of
    5 done since the session of 12 does not count, and the mid-term itself); October's has no new
    violation and 1 of 5 (the session of 25)."""
    import yaml

    from tracker.records.importer import import_rows

    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    spec = yaml.safe_load((SPECS / "D901.yaml").read_text("utf-8"))
    spec["activity_types"].append({"key": "training", "label": "志愿者培训", "serves": "group"})
    spec["clauses"].append({"clause": 3, "text": "中期前开展志愿者培训不少于5场，每场不少于20人", "kpis": [
        {"key": "trainings", "kind": "count", "label": "志愿者培训场次", "excerpt": "志愿者培训不少于5场",
         "where": {"types": ["training"]}, "each": [{"field": "participants", "min": 20}], "target": 5, "unit": "场",
         "pacing": {"mode": "due", "due": "midterm"}}]})
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "D901.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), "utf-8")
    ws = open_workspace(db_url, specs)
    add_visits(ws, P1, [("2024-06-03", "E001"), ("2024-09-10", "E002")])
    r = import_rows(ws, P1, "activity", [{"记录编号": "T1", "日期": "2024-09-20", "活动类型": "志愿者培训", "参与人数": "12"},
                                         {"记录编号": "T2", "日期": "2024-10-08", "活动类型": "志愿者培训", "参与人数": "25"}],
                    source_name="培训.xlsx", entered_by="test")
    assert r.imported == 2, r.invalid
    add_contact(ws, P1, "ngo", "王小明", "ngo@example.org", since=d("2024-09-01"))
    tick(ws, d("2024-11-01"), smtp=smtp.settings(), settings=FAST)
    mails = {str(r.msg["Subject"]).rsplit("）", 1)[1]: r for r in smtp.received if r.rcpt_tos == ["ngo@example.org"]}
    assert {"2024年9月", "2024年10月"} <= set(mails)
    september = _text(mails["2024年9月"])
    (tmp_path / "september.txt").write_text(september, "utf-8")
    assert "【新增违规记录】" in september
    assert "- 第3条 志愿者培训场次：本月新增 1 条违规记录（累计 1 条）" in september
    assert "【未来 60 天内到期】" in september
    # the session of 12 breaks the rule and is not counted: none of the 5 done yet
    assert "- 第3条 志愿者培训场次：须在 2024-11-15 前完成（目前 0 / 5）" in september
    assert "- 中期评估：2024-11-15（请提前准备自评报告与佐证材料）" in september
    assert 'id="violations"' in _html(mails["2024年9月"]) and 'id="due"' in _html(mails["2024年9月"])
    october = _text(mails["2024年10月"])
    assert "本月新增" not in october  # T2 has 25 people: nothing new
    assert "- 第3条 志愿者培训场次：须在 2024-11-15 前完成（目前 1 / 5）" in october
    for body in (september, october):
        assert body.startswith("王小明：") and "tracker " not in body and "--" not in body


def test_a_deliverable_type_of_hundreds_is_one_line_in_the_email(db_url: str, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """一户一档 files are one per household: the email gives a type of more than 30 by its count of
    files missing (here 35 files, the 7 of i % 5 == 0 without one), and still names each file of a
    small type (2 reports, one without its file)."""
    import yaml

    from tracker.measure.progress import compute_progress
    from tracker.records.importer import import_rows
    from tracker.scheduling.facts import month_facts

    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    spec = yaml.safe_load((SPECS / "D901.yaml").read_text("utf-8"))
    spec["deliverable_types"] = [{"key": "household_file", "label": "一户一档"}, {"key": "report", "label": "调研报告"}]
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "D901.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), "utf-8")
    ws = open_workspace(db_url, specs)
    rows = [{"日期": "2024-07-01", "成果类型": "一户一档", "标题": f"档案{i}", "文件": "" if i % 5 == 0 else f"档案{i}.pdf"}
            for i in range(1, 36)]
    rows += [{"日期": "2024-07-02", "成果类型": "调研报告", "标题": "需求调研", "文件": ""},
             {"日期": "2024-07-03", "成果类型": "调研报告", "标题": "中期小结", "文件": "小结.pdf"}]
    r = import_rows(ws, P1, "deliverable", rows, source_name="成果.xlsx", entered_by="test")
    assert r.imported == 37, r.invalid
    p = compute_progress(ws, P1, d("2024-07-31"))
    facts = month_facts(ws, p, None, d("2024-07-01"))
    files = [x for x in facts.missing_evidence if "成果" in x]
    assert files == ["成果“需求调研”（2024-07-02）未提交文件", "一户一档：7 份成果记录未提交文件"]
