"""Amend and void are append-only: the old row is retired, a Correction records why and who, and
what the record said before stays queryable through visibility.visible()."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, ROSTER, counts, workspace

from tracker.db.models import Activity, Correction, Person
from tracker.errors import TrackerError
from tracker.records import amend, import_rows, void
from tracker.records.privacy import hash_id
from tracker.records.visibility import visible


@pytest.fixture
def ws(roster_ws):  # type: ignore[no-untyped-def]
    return roster_ws


def _participants(ws, known_on: dt.datetime | None = None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    t = Activity.__table__
    with ws.session() as s:
        rows = s.execute(select(t.c.record_id, t.c.participants).where(visible(Activity, known_on))).all()
    return dict(rows)


def test_amend_and_void_keep_history(ws) -> None:
    rows = [{"记录编号": "T1", "日期": "2024-07-01", "活动类型": "培训", "参与人数": 30},
            {"记录编号": "T2", "日期": "2024-07-02", "活动类型": "培训", "参与人数": 40}]
    assert import_rows(ws, CODE, "activity", rows, source_name="t").imported == 2
    time.sleep(0.01)
    before_amend = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    new_id = amend(ws, CODE, "activity", "T1", {"参与人数": "35", "备注": "签到表复核"}, reason="签到表复核后更正",
                   author="王五")
    time.sleep(0.01)
    before_void = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    void(ws, CODE, "activity", "T2", reason="重复登记", author="王五")

    assert _participants(ws) == {"T1": 35}
    assert _participants(ws, before_amend) == {"T1": 30, "T2": 40}
    assert _participants(ws, before_void) == {"T1": 35, "T2": 40}
    with ws.session() as s:
        all_rows = s.execute(select(Activity).order_by(Activity.id)).scalars().all()
        assert len(all_rows) == 3
        by = {(a.record_id, a.retired_at is None): a for a in all_rows}
        old, voided, new = by[("T1", False)], by[("T2", False)], by[("T1", True)]
        assert old.retired_at is not None and voided.retired_at is not None and new.retired_at is None
        assert new.id == new_id and new.supersedes == old.id and new.record_id == "T1"
        assert new.notes == "签到表复核" and new.entered_by == "王五" and new.date == dt.date(2024, 7, 1)
        cs = s.execute(select(Correction).order_by(Correction.id)).scalars().all()
        assert [(c.action, c.old_id, c.new_id, c.reason, c.author) for c in cs] == [
            ("amend", old.id, new.id, "签到表复核后更正", "王五"), ("void", voided.id, None, "重复登记", "王五")]
    # the same rows again: the voided and the pre-amendment record stay corrected
    again = import_rows(ws, CODE, "activity", rows, source_name="t")
    assert (again.imported, again.changed, again.unchanged, again.corrected_earlier) == (0, 0, 0, 2)
    assert _participants(ws) == {"T1": 35}


def test_amend_is_validated_and_needs_a_reason(ws) -> None:
    import_rows(ws, CODE, "activity", [{"记录编号": "T1", "日期": "2024-07-01", "活动类型": "上门探访", "服务对象编号": "P001"}],
                source_name="t")
    before = counts(ws)
    with pytest.raises(TrackerError, match="不在项目 2099B901 的服务对象名册中"):
        amend(ws, CODE, "activity", "T1", {"服务对象编号": "P404"}, reason="改对象", author="王五")
    with pytest.raises(TrackerError, match="原因"):
        amend(ws, CODE, "activity", "T1", {"服务对象编号": "P002"}, reason=" ", author="王五")
    with pytest.raises(TrackerError, match="没有记录编号“T9”的当前记录"):
        void(ws, CODE, "activity", "T9", reason="x", author="王五")
    with pytest.raises(TrackerError, match="与原记录相同"):
        amend(ws, CODE, "activity", "T1", {"日期": "2024/7/1"}, reason="x", author="王五")
    assert counts(ws) == before
    amend(ws, CODE, "activity", "T1", {"服务对象编号": "P002"}, reason="登记错对象", author="王五")
    with pytest.raises(TrackerError, match="没有库内编号 1的当前记录"):
        void(ws, CODE, "activity", "T1", reason="x", author="王五", row_id=1)


def test_amend_roster_keeps_the_id_hash(ws) -> None:
    amend(ws, CODE, "roster", "P001", {"村社": "城西村"}, reason="搬迁", author="王五")
    with ws.session() as s:
        p = s.execute(select(Person).where(Person.person_id == "P001", visible(Person))).scalar_one()
    assert p.village == "城西村" and p.id_hash == hash_id(ROSTER[1][2]) and p.name == "张三"
    assert p.birth_date == dt.date(1945, 3, 12)


def test_imported_and_orm_timestamps_are_stored_alike_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """As-known-on compares entered_at as text on SQLite: the bulk path must store what the ORM does."""
    import sqlite3

    from sqlmodel import select as sm_select

    from tracker.db.models import ImportBatch

    ws = workspace(f"sqlite:///{tmp_path / 'ts.db'}")
    import_rows(ws, CODE, "roster", [{"person_id": "P900", "name": "张三", "population": "elders"}],
                source_name="t")
    with ws.session() as s:
        batch = s.exec(sm_select(ImportBatch)).first()
    con = sqlite3.connect(tmp_path / "ts.db")
    entered = con.execute("SELECT entered_at FROM person").fetchone()[0]
    started = con.execute("SELECT started_at FROM importbatch").fetchone()[0]
    assert len(entered) == len(started) == len("2024-11-15 08:00:00.000000")
    assert "+" not in entered
    assert batch is not None and batch.started_at.tzinfo is not None
