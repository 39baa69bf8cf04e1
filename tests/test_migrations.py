"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from tracker.db.connection import get_engine
from tracker.db.migrate import include_object


def test_migrated_schema_matches_models(empty_db_url: str) -> None:
    engine = get_engine(empty_db_url)  # migrates on first use
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_each_test_database_is_a_migrated_copy_of_its_own(db_url: str) -> None:
    """The db_url fixture hands out copies of a migrated template: already at the head revision, and
    a fresh one each time (nothing another test wrote is there)."""
    from sqlalchemy import text

    from tracker.db.connection import make_engine
    from tracker.db.migrate import is_current

    engine = make_engine(db_url)
    try:
        assert is_current(engine)
        with engine.begin() as c:
            assert c.execute(text("SELECT count(*) FROM project")).scalar() == 0
            c.execute(text("CREATE TABLE only_in_that_test (x integer)"))
    finally:
        engine.dispose()


def test_the_next_test_database_does_not_see_that_table(db_url: str) -> None:
    from sqlalchemy import inspect

    from tracker.db.connection import make_engine

    engine = make_engine(db_url)
    try:
        names = inspect(engine).get_table_names()
        assert "project" in names and "only_in_that_test" not in names
    finally:
        engine.dispose()
