"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tracker.db.connection import get_engine
from tracker.db.migrate import include_object
from tracker.db.models import all_tables


def test_migrated_schema_matches_models(empty_db_url: str) -> None:
    engine = get_engine(empty_db_url)  # migrates on first use
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(ctx, all_tables())
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


def test_all_tables_names_every_module_that_defines_a_table() -> None:
    """``tracker.db.models`` defines the record tables and leaves the others to their modules
    (a command that only reads records does not build them); ``all_tables()`` is what Alembic and the
    audit check use, so a table module it does not name would be a table they never see."""
    import tracker.db
    from tracker.db.models import TABLE_MODULES

    here = Path(tracker.db.__file__).parent
    defining = {f"tracker.db.{p.stem}" for p in here.glob("*.py")
                if re.search(r"^class \w+\(.*table=True", p.read_text("utf-8"), re.M)}
    assert defining - {"tracker.db.models"} == set(TABLE_MODULES)


def test_all_tables_alone_gives_the_whole_schema() -> None:
    """In a fresh process (nothing else imported): ``all_tables()`` holds every table the migration
    creates and the audit check knows; ``import tracker.db.models`` alone holds the record tables."""
    import json
    import subprocess
    import sys

    from tracker.audit.verify import PLAIN_TABLES, UNAUDITED_TABLES
    from tracker.db.models import RECORD_TABLES

    code = ("import json, tracker.db.models as m; core = sorted(m.SQLModel.metadata.tables); "
            "print(json.dumps([core, sorted(m.all_tables().tables)]))")
    core, full = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                           text=True).stdout)
    records = {m.__table__.name for m in RECORD_TABLES.values()}
    assert set(full) == records | set(PLAIN_TABLES) | set(UNAUDITED_TABLES)
    assert records <= set(core) and "account" not in core and "audit_entry" not in core
    migration = next((Path(__file__).parent.parent / "tracker/db/migrations/versions").glob("0001_*.py"))
    created = set(re.findall(r'op\.create_table\(\s*"(\w+)"', migration.read_text("utf-8")))
    assert created == set(full)
