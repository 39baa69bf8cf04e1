"""Settings that live with the database: one row per name, written once and never changed.

The ID-hash secret is one (``tracker.records.privacy``): kept here, every process and every machine
that uses the same database hashes ID numbers the same way, whatever folder it runs from.
``put_once`` inserts a value only where the name has none yet and then reads back what is stored,
so two processes writing at the same instant agree on the first one's value.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Engine, Text, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel

from tracker import clock


class Setting(SQLModel, table=True):
    __tablename__ = "setting"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=clock.now)


def get_setting(engine: Engine, name: str) -> str | None:
    table = Setting.__table__  # type: ignore[attr-defined]
    with engine.connect() as c:
        return c.execute(select(table.c.value).where(table.c.name == name)).scalar_one_or_none()


def put_once(engine: Engine, name: str, value: str) -> str:
    """Store ``value`` under ``name`` unless a value is there already; the stored value (the first one
    written, by this process or another)."""
    table = Setting.__table__  # type: ignore[attr-defined]
    insert = sqlite_insert if engine.dialect.name == "sqlite" else pg_insert
    stmt = insert(table).values(name=name, value=value, created_at=clock.now())
    with engine.begin() as c:
        c.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    stored = get_setting(engine, name)
    assert stored is not None
    return stored
