"""Alembic environment: uses the connection handed over by tracker.db.migrate."""

from __future__ import annotations

from alembic import context

from tracker.db.migrate import include_object
from tracker.db.models import all_tables

target_metadata = all_tables()
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = config.attributes.get("engine")
        if engine is None:
            from tracker import config as tconfig
            from tracker.db.connection import make_engine

            engine = make_engine(tconfig.db_url())
        with engine.begin() as conn:
            _configure(conn)
    else:
        _configure(connection)


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=True,  # SQLite needs batch mode for ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
