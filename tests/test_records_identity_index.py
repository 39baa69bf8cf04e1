"""The activity identity index is ordered by date (``IDENTITY_ORDER``, migration 0002): lookups by
identity go through it, a record id still finds its record whatever the date, and uniqueness is
what it was."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE

from tracker.db.models import Activity, Correction
from tracker.errors import TrackerError
from tracker.records import amend, import_rows
from tracker.records.insert import current_by_identity
from tracker.records.visibility import visible


def _current(ws) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    t = Activity.__table__
    with ws.session() as s:
        return [tuple(r) for r in s.execute(select(t.c.record_id, t.c.date, t.c.participants)
                                            .where(visible(Activity)).order_by(t.c.date))]


def test_a_record_id_row_whose_date_changed_is_an_amendment_not_a_second_record(roster_ws) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    first = [{"记录编号": "T1", "日期": "2024-07-01", "活动类型": "培训", "参与人数": 30},
             {"记录编号": "T2", "日期": "2024-07-02", "活动类型": "培训", "参与人数": 40}]
    assert import_rows(ws, CODE, "activity", first, source_name="台账").imported == 2
    # the ledger again, T1's date corrected from 7月1日 to 7月3日: T1 is the same record, changed
    again = [{**first[0], "日期": "2024-07-03"}, first[1]]
    r = import_rows(ws, CODE, "activity", again, source_name="台账")
    assert (r.imported, r.changed, r.unchanged) == (0, 1, 1)
    assert _current(ws) == [("T2", dt.date(2024, 7, 2), 40), ("T1", dt.date(2024, 7, 3), 30)]
    with ws.session() as s:
        assert s.execute(select(Correction.action)).scalars().all() == ["import-amend"]


def test_amend_finds_a_clash_with_another_record_through_the_date(roster_ws) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    rows = [{"日期": "2024-07-01", "活动类型": "培训", "地点": "文化礼堂", "参与人数": 30},
            {"日期": "2024-07-05", "活动类型": "培训", "地点": "文化礼堂", "参与人数": 20}]
    assert import_rows(ws, CODE, "activity", rows, source_name="台账").imported == 2
    t = Activity.__table__
    with ws.session() as s:
        later = s.execute(select(t.c.id).where(t.c.date == dt.date(2024, 7, 5))).scalar_one()
    # moved to 7月1日 it would be the 7月1日 training a second time: refused, nothing changed
    with pytest.raises(TrackerError, match="同一条记录"):
        amend(ws, CODE, "activity", None, {"日期": "2024-07-01"}, reason="日期登记错误", author="王五", row_id=later)
    assert _current(ws) == [(None, dt.date(2024, 7, 1), 30), (None, dt.date(2024, 7, 5), 20)]
    # another day is no clash: the record moves, the old version is kept in the history
    new_id = amend(ws, CODE, "activity", None, {"日期": "2024-07-06"}, reason="日期登记错误", author="王五",
                   row_id=later)
    assert _current(ws) == [(None, dt.date(2024, 7, 1), 30), (None, dt.date(2024, 7, 6), 20)]
    with ws.session() as s:
        assert s.get(Activity, new_id).supersedes == later


def test_two_current_activities_with_one_identity_are_still_refused(roster_ws) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    rows = [{"日期": "2024-07-01", "活动类型": "培训", "地点": "文化礼堂", "参与人数": 30}]
    assert import_rows(ws, CODE, "activity", rows, source_name="台账").imported == 1
    t = Activity.__table__
    with ws.session() as s:
        old = s.execute(select(t).where(visible(Activity))).mappings().one()
        copy = {k: v for k, v in old.items() if k != "id"}
        with pytest.raises(IntegrityError):
            s.execute(t.insert().values(**copy))
        s.rollback()
        # found by its identity (date and dedupe key); another date with the same key is another identity
        conn = s.connection()
        found = current_by_identity(conn, t, CODE, [old["dedupe_key"]], [old["date"]], [None])
        assert list(found) == [old["dedupe_key"]] and found[old["dedupe_key"]][4] == old["id"]
        assert current_by_identity(conn, t, CODE, [old["dedupe_key"]], [dt.date(2024, 7, 2)], [None]) == {}


def test_the_sqlite_lookup_probes_the_date_ordered_index(roster_ws) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    if ws.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    rows = [{"日期": "2024-07-01", "活动类型": "培训", "地点": "文化礼堂", "参与人数": 30}]
    assert import_rows(ws, CODE, "activity", rows, source_name="台账").imported == 1
    t = Activity.__table__
    with ws.session() as s:
        old = s.execute(select(t).where(visible(Activity))).mappings().one()
        conn = s.connection()
        raw = conn.connection.driver_connection
        names = {r[1] for r in conn.exec_driver_sql("PRAGMA index_list(activity)")}
        assert "uq_activity_date_dedupe" in names and "uq_activity_dedupe" not in names
        ran: list[str] = []
        raw.set_trace_callback(ran.append)  # the statement as current_by_identity runs it
        try:
            assert current_by_identity(conn, t, CODE, [old["dedupe_key"]], [old["date"]], [None])
        finally:
            raw.set_trace_callback(None)
        (statement,) = [q for q in ran if "JOIN activity" in q]
        detail = " ".join(str(r[-1]) for r in raw.execute("EXPLAIN QUERY PLAN " + statement))
    assert "uq_activity_date_dedupe (project_code=? AND date=? AND dedupe_key=?)" in detail, detail


def test_a_database_at_revision_0001_is_upgraded_to_the_date_ordered_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from alembic import command
    from sqlalchemy import create_engine

    from tracker.db import migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = migrate.alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.connect() as conn:
        names = {r[1] for r in conn.exec_driver_sql("PRAGMA index_list(activity)")}
    assert "uq_activity_dedupe" in names and "uq_activity_date_dedupe" not in names
    migrate.upgrade(engine)
    with engine.connect() as conn:
        names = {r[1] for r in conn.exec_driver_sql("PRAGMA index_list(activity)")}
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"
    assert "uq_activity_date_dedupe" in names and "uq_activity_dedupe" not in names
