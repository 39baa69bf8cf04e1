"""The audit trail: every write appends a hash-chained entry in its own transaction, and
``verify`` names the first row or entry changed, deleted or inserted with plain SQL (both databases)."""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from argon2 import PasswordHasher
from records_support import CODE

from tracker import accounts, audit
from tracker.records import amend, import_rows, void
from tracker.reports.notes import add_note
from tracker.scheduling.contacts import add_contact

accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))

ROWS = [{"记录编号": f"T{i}", "日期": f"2024-07-{i:02d}", "活动类型": "培训", "参与人数": 20 + i, "时长（小时）": 2}
        for i in range(1, 6)]


@pytest.fixture
def ws(roster_ws):  # type: ignore[no-untyped-def]
    """Roster (3 people), five trainings, one amended and one voided, a note, a contact, an
    organisation running the project, and accounts: added, password changed, role changed, disabled."""
    w = roster_ws
    assert import_rows(w, CODE, "activity", ROWS, source_name="培训签到.xlsx", entered_by="李四").imported == 5
    amend(w, CODE, "activity", "T2", {"参与人数": "30"}, reason="签到表复核", author="王五")
    void(w, CODE, "activity", "T3", reason="重复登记", author="王五")
    add_note(w, CODE, "plan", "下月开展两场培训", "赵六")
    add_contact(w, CODE, "ngo", "钱七", "qian@example.org", actor="admin")
    accounts.set_project_organisation(w, CODE, "星光社工", "boss")  # organisation + its project link
    accounts.add_account(w, "boss", "admin", "password-1", by="命令行")
    accounts.add_account(w, "ngo1", "auditor", "password-2", by="boss")
    accounts.set_password(w, "ngo1", "password-3")
    accounts.set_role(w, "ngo1", "operator", organisation="星光社工", by="boss")
    accounts.add_account(w, "old1", "operator", "password-4", organisation="月光社工", by="boss")
    accounts.set_active(w, "old1", False, by="boss")
    return w


def _sql(w, sql: str, **params) -> None:  # type: ignore[no-untyped-def]
    with w.engine.begin() as c:
        c.execute(text(sql), params)


def _one(w, sql: str, **params):  # type: ignore[no-untyped-def]
    with w.engine.connect() as c:
        return c.execute(text(sql), params).scalar()


def test_every_write_is_chained_and_verifies(ws) -> None:
    with ws.engine.connect() as c:
        entries = c.execute(text("SELECT seq, actor, action, entity, prev_hash, entry_hash FROM audit_entry "
                                 "ORDER BY seq")).all()
    # roster import, activity import, amend, void, note, contact, then users and roles
    assert [(e.action, e.entity, e.actor) for e in entries] == [
        ("import", "importbatch", "operator"), ("import", "importbatch", "李四"), ("amend", "correction", "王五"),
        ("void", "correction", "王五"), ("note", "explanation", "赵六"), ("contact.add", "contact", "admin"),
        ("organisation.add", "organisation", "boss"), ("project.organisation", "organisationproject", "boss"),
        ("account.add", "account", "命令行"), ("account.add", "account", "boss"),
        ("account.password", "account", "ngo1"), ("account.role", "account", "boss"),
        ("organisation.add", "organisation", "boss"), ("account.add", "account", "boss"),
        ("account.disable", "account", "boss")]
    assert [e.seq for e in entries] == list(range(1, 16))
    assert entries[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))
    r = audit.verify(ws)
    assert r.ok, r.summary()
    # 3 people + 6 activities (5 imported, 1 amended copy) + 2 batches + 2 corrections + note + contact
    # + 2 organisations + project link + 3 accounts
    assert r.rows_checked == 3 + 6 + 2 + 2 + 1 + 1 + 2 + 1 + 3
    assert r.entries == 15 and r.head_hash == entries[-1].entry_hash
    assert audit.head_of(ws) == audit.Head(15, entries[-1].entry_hash)


def test_a_failed_import_appends_nothing(ws) -> None:
    bad = [{"记录编号": "X1", "日期": "2024-13-01", "活动类型": "培训", "参与人数": 20}]
    assert import_rows(ws, CODE, "activity", bad, source_name="bad.xlsx").committed is False
    assert _one(ws, "SELECT count(*) FROM audit_entry") == 15
    assert audit.verify(ws).ok


@dataclass(frozen=True)
class Tamper:
    """One plain-SQL tampering: ``find`` (run before, or after when ``after``) gives the row id bound
    as ``:i`` and put in ``{i}`` of the message verify must name first."""

    name: str
    sql: tuple[str, ...]
    expected: str
    find: str | None = None
    after: bool = False


_ACT = "SELECT id FROM activity WHERE record_id = '{}' AND retired_at IS {} NULL"
_ACCOUNT = "SELECT id FROM account WHERE login = 'ngo1'"
_ORG = "SELECT id FROM organisation WHERE name = '星光社工'"
_CHANGED = "在 tracker 之外被修改（与审计记录第 {seq} 条不符；不同的字段：{fields}）"

TAMPERS = [
    # record tables
    Tamper("edit", ("UPDATE activity SET participants = 99 WHERE id = :i",),
           "“活动记录”库内第 {i} 条记录（来自 培训签到.xlsx 第 4 行）在 tracker 之外被修改", _ACT.format("T4", "")),
    Tamper("delete", ("DELETE FROM activity WHERE id = :i",),
           "“活动记录”库内第 {i} 条记录（导入批次 2）在 tracker 之外被删除", _ACT.format("T5", "")),
    Tamper("insert", ("INSERT INTO activity (project_code, record_id, dedupe_key, attributes, entered_at, entered_by, "
                      "source_file, source_row, batch_id, date, activity_type, participants) "
                      "SELECT project_code, 'T9', 'x', attributes, entered_at, entered_by, source_file, 9, batch_id, "
                      "date, activity_type, 50 FROM activity WHERE record_id = 'T1'",),
           "“活动记录”库内第 {i} 条记录（来自 培训签到.xlsx 第 9 行）不是经 tracker 写入的", _ACT.format("T9", ""), True),
    Tamper("retire", ("UPDATE activity SET retired_at = entered_at WHERE id = :i",),
           "“活动记录”库内第 {i} 条记录（来自 培训签到.xlsx 第 1 行）在 tracker 之外被作废", _ACT.format("T1", "")),
    Tamper("unvoid", ("UPDATE activity SET retired_at = NULL WHERE id = :i",),
           "“活动记录”库内第 {i} 条记录（来自 培训签到.xlsx 第 3 行）已被更正或作废，但其作废时间在 tracker 之外被清除",
           _ACT.format("T3", "NOT")),
    Tamper("amended_copy", ("UPDATE activity SET participants = 31 WHERE id = :i",),
           "“活动记录”库内第 {i} 条记录（来自 tracker amend）在 tracker 之外被修改（与更正的审计记录不符）",
           _ACT.format("T2", "")),
    Tamper("roster", ("UPDATE person SET town = '新安江街道' WHERE id = :i",),
           "“服务对象名册”库内第 {i} 条记录（来自 roster.csv 第 3 行）在 tracker 之外被修改",
           "SELECT id FROM person WHERE person_id = 'P002'"),
    # plain audited tables
    Tamper("note", ("UPDATE explanation SET text = '已完成' WHERE id = :i",),
           "“说明（未完成原因、改进措施、下一步计划）”第 {i} 条" + _CHANGED.format(seq=5, fields="text"),
           "SELECT id FROM explanation"),
    Tamper("note_deleted", ("DELETE FROM explanation WHERE id = :i",),
           "“说明（未完成原因、改进措施、下一步计划）”第 {i} 条在 tracker 之外被删除（审计记录第 5 条记有它）",
           "SELECT id FROM explanation"),
    Tamper("contact_inserted", ("INSERT INTO contact (project_code, role, name, email, active, created_at) "
                                f"VALUES ('{CODE}', 'ngo', '孙八', 'sun@example.org', true, CURRENT_TIMESTAMP)",),
           "“联系人”第 {i} 条不是经 tracker 写入的", "SELECT id FROM contact WHERE name = '孙八'", True),
    Tamper("batch", ("UPDATE importbatch SET rows_imported = 4 WHERE id = 2",),
           "“导入批次”第 2 条" + _CHANGED.format(seq=2, fields="rows_imported")),
    # users and roles (7–15: organisation, its project link, two accounts, password, role, a second organisation,
    # a third account in it, disabled)
    Tamper("account_role", ("UPDATE account SET role = 'admin' WHERE id = :i",),
           "“账号”第 {i} 条" + _CHANGED.format(seq=12, fields="role"), _ACCOUNT),
    Tamper("account_enabled", ("UPDATE account SET active = true WHERE login = 'old1'",),
           "“账号”第 {i} 条" + _CHANGED.format(seq=15, fields="active"), "SELECT id FROM account WHERE login = 'old1'"),
    Tamper("account_password", ("UPDATE account SET password_hash = (SELECT password_hash FROM account "
                                "WHERE login = 'boss') WHERE id = :i",),
           "“账号”第 {i} 条" + _CHANGED.format(seq=12, fields="password_hash"), _ACCOUNT),
    Tamper("account_deleted", ("DELETE FROM account WHERE login = 'old1'",),
           "“账号”第 {i} 条在 tracker 之外被删除（审计记录第 15 条记有它）", "SELECT id FROM account WHERE login = 'old1'"),
    Tamper("account_inserted", ("INSERT INTO account (login, role, password_hash, active, created_at, "
                                "password_changed_at) SELECT 'mole', 'admin', password_hash, true, created_at, "
                                "password_changed_at FROM account WHERE login = 'boss'",),
           "“账号”第 {i} 条不是经 tracker 写入的", "SELECT id FROM account WHERE login = 'mole'", True),
    Tamper("organisation_renamed", ("UPDATE organisation SET name = '星光社会工作服务中心' WHERE id = :i",),
           "“组织”第 {i} 条" + _CHANGED.format(seq=7, fields="name"), _ORG),
    Tamper("project_moved", ("UPDATE organisationproject SET organisation_id = (SELECT id FROM organisation "
                             "WHERE name = '月光社工')",),
           "“项目的承接组织”第 " + CODE + " 条" + _CHANGED.format(seq=8, fields="organisation_id")),
    # the chain itself
    Tamper("entry_content", ("UPDATE audit_entry SET content = replace(content, '王五', '张三') WHERE seq = 3",),
           "审计记录第 3 条（"),
    Tamper("entry_actor", ("UPDATE audit_entry SET actor = '张三' WHERE seq = 4",),
           "被改动（时间、操作人、操作或对象与哈希不符）"),
    Tamper("entry_actor_of_role_change", ("UPDATE audit_entry SET actor = 'ngo1' WHERE seq = 12",),
           "审计记录第 12 条（"),
    Tamper("entry_deleted", ("DELETE FROM audit_entry WHERE seq = 2",), "审计记录第 2 条缺失（被删除），下一条是第 3 条"),
    # deleting the last entry leaves a valid chain, but the account it recorded is now unaccounted for
    Tamper("entry_rechained", ("DELETE FROM audit_entry WHERE seq = (SELECT max(seq) FROM audit_entry)",),
           "“账号”第 {i} 条" + _CHANGED.format(seq=14, fields="active"), "SELECT id FROM account WHERE login = 'old1'"),
    Tamper("entry_inserted", ("UPDATE audit_entry SET seq = seq + 100 WHERE seq >= 5",
                              "UPDATE audit_entry SET seq = seq - 99 WHERE seq >= 105",
                              "INSERT INTO audit_entry (seq, at, actor, action, entity, entity_id, content, content_hash, "
                              "prev_hash, entry_hash) SELECT 5, at, actor, action, entity, entity_id, content, "
                              "content_hash, prev_hash, entry_hash FROM audit_entry WHERE seq = 4"),
           "审计记录第 5 条（"),
]


@pytest.mark.parametrize("t", TAMPERS, ids=[t.name for t in TAMPERS])
def test_verify_names_the_first_tampering(ws, t: Tamper) -> None:
    assert audit.verify(ws).ok
    i = None if t.find is None or t.after else _one(ws, t.find)
    for sql in t.sql:
        _sql(ws, sql, **({"i": i} if ":i" in sql else {}))
    if t.after:
        i = _one(ws, t.find)
    r = audit.verify(ws)
    assert not r.ok
    assert t.expected.format(i=i) in str(r.first), str(r.first)


def test_every_table_is_audited_or_says_why_not() -> None:
    from tracker.audit.verify import PLAIN_TABLES, UNAUDITED_TABLES
    from tracker.db.models import RECORD_TABLES, all_tables

    records = {m.__table__.name for m in RECORD_TABLES.values()}
    assert set(all_tables().tables) == records | set(PLAIN_TABLES) | set(UNAUDITED_TABLES)
    assert not (set(PLAIN_TABLES) & set(UNAUDITED_TABLES))
    assert all(len(why) > 8 for why in UNAUDITED_TABLES.values())


def test_cli_audit_verify_exit_status(env, tmp_path: Path) -> None:
    import subprocess

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True, env={
            **__import__("os").environ, **env})

    csv = tmp_path / "a.csv"
    csv.write_text("日期,科目,金额（元）\n2024-07-01,活动经费,200\n", encoding="utf-8")
    ok = run("import", str(csv), "--project", "2024B004E", "--kind", "expense")
    assert ok.returncode == 0, ok.stderr
    r = run("audit", "verify")
    assert r.returncode == 0, r.stderr
    assert "审计记录完整：共 1 条" in r.stdout
    from sqlalchemy import create_engine

    e = create_engine(env["TRACKER_DB_URL"])
    with e.begin() as c:
        c.execute(text("UPDATE expense SET amount = 2000"))
    e.dispose()
    r = run("audit", "verify")
    assert r.returncode == 1
    assert "发现 1 处不一致" in r.stderr and "在 tracker 之外被修改" in r.stderr


KINDS_ROWS = {
    "survey": [["记录编号", "日期", "调查对象类型", "服务对象编号", "是否满意", "评分", "访谈员"],
               ["S1", "2024-07-01", "服务对象", "P001", "是", "95", "甲"], ["S2", "2024-07-02", "家属", "", "否", "60", ""]],
    "deliverable": [["记录编号", "日期", "成果类型", "标题", "字数", "时长（分钟）", "数量", "文件"],
                    ["D1", "2024-08-01", "调研报告", "农村留守老人调研", "12000", "", "", "报告.pdf"],
                    ["D2", "2024-08-02", "宣传视频", "探访纪实", "", "5.5", "1", ""]],
    "approval": [["记录编号", "审批日期", "活动类型", "起始日期", "截止日期", "审批文号", "备注"],
                 ["AP1", "2024-05-20", "", "2024-06-01", "2025-03-31", "杭民〔2024〕1号", "总体方案"]],
    "incident": [["记录编号", "日期", "事件类型", "事件描述"], ["I1", "2024-09-01", "有责投诉", "服务迟到"]],
    "staff": [["工作人员编号", "姓名", "岗位", "是否接触儿童", "入职日期"], ["W1", "王五", "社工", "是", "2024-05-01"]],
    "credential": [["工作人员编号", "资质类型", "取得日期", "有效期至", "证书编号"],
                   ["W1", "无犯罪记录证明", "2024-05-10", "2025-05-10", "NCR-001"]],
    "assessment": [["记录编号", "日期", "评估工具", "服务对象编号", "阶段", "评分", "是否合格"],
                   ["E1", "2024-07-01", "前后测", "P001", "前测", "55", "否"]],
    "expense": [["记录编号", "日期", "科目", "金额（元）", "备注", "报销人"],
                ["X1", "2024-07-31", "人员经费", "12,000.50", "7月补贴", "甲"], ["X2", "2024-08-31", "活动经费", "800", "", ""]],
}


def test_every_kind_and_its_corrections_verify(roster_ws) -> None:
    """The fingerprint verify recomputes is the importer's, for every kind, with and without extra
    columns, and for amended copies (roster included: its ID number lives only as a keyed hash)."""
    w = roster_ws
    for kind, rows in KINDS_ROWS.items():
        frame = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
        assert import_rows(w, CODE, kind, frame, source_name=f"{kind}.xlsx").imported == len(frame)
    amend(w, CODE, "expense", "X1", {"金额（元）": "12000"}, reason="票据复核", author="王五")
    amend(w, CODE, "roster", "P002", {"村社": "城东村"}, reason="搬家", author="王五")
    amend(w, CODE, "staff", "W1", {"岗位": "督导"}, reason="岗位调整", author="王五")
    r = audit.verify(w)
    assert r.ok, r.summary()
    _sql(w, "UPDATE expense SET amount = 1200 WHERE record_id = 'X1' AND retired_at IS NULL")
    assert "“经费支出”库内第" in str(audit.verify(w).first)
