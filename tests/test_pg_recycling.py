"""The PostgreSQL database a finished test leaves is given to the next test only when it is as good
as a fresh copy: no row, identities from 1, the template's schema; otherwise it is dropped."""

from __future__ import annotations

import os

import pytest
from conftest import _PG_FREE, pg_database_for_test, recycle_pg_database
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.skipif(not os.environ.get("TRACKER_TEST_PG_URL"), reason="未设置 TRACKER_TEST_PG_URL：跳过 PostgreSQL")


def _run(url: str, *sql: str) -> list[object]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            out = []
            for s in sql:
                r = c.execute(text(s))
                out.append(r.scalar() if r.returns_rows else None)
            return out
    finally:
        engine.dispose()


def _exists(url: str) -> bool:
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    return bool(_run(admin, f"SELECT count(*) FROM pg_database WHERE datname = '{make_url(url).database}'")[0])


def test_an_emptied_database_holds_no_row_and_counts_ids_from_one() -> None:
    url = pg_database_for_test()
    _run(url, "INSERT INTO contact (role, email, name, active, created_at) VALUES ('bureau', 'a@b.cn', '甲', true, now())",
         "INSERT INTO contact (role, email, name, active, created_at) VALUES ('bureau', 'c@d.cn', '乙', true, now())")
    recycle_pg_database(url)
    assert _PG_FREE[-1] == url
    again = pg_database_for_test()
    assert again == url
    count, = _run(again, "SELECT count(*) FROM contact")
    new_id, = _run(again, "INSERT INTO contact (role, email, name, active, created_at) "
                          "VALUES ('bureau', 'e@f.cn', '丙', true, now()) RETURNING id")
    assert (count, new_id) == (0, 1)
    recycle_pg_database(again)


def test_a_database_whose_schema_a_test_changed_is_dropped() -> None:
    url = pg_database_for_test()
    _run(url, "CREATE INDEX ix_extra ON contact (name)")
    free = list(_PG_FREE)
    recycle_pg_database(url)
    assert free == _PG_FREE and not _exists(url)
