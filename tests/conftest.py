"""Shared fixtures. Every database test runs twice: on a real SQLite file and on a real PostgreSQL
server (``TRACKER_TEST_PG_URL``, started by ``scripts/start-postgres``; ``.ci/run`` does it). Without
that variable the PostgreSQL half is skipped locally and fails under CI."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tracker.db.connection import dispose_engines

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("TRACKER_TEST_PG_URL")
# Validated specs are cached by content (tracker.kpispec.cache), so every test and every xdist worker
# after the first reads the 43 specs without parsing them; the key changes with any edit of a spec or
# of tracker, so a shared cache is always right.
os.environ.setdefault("TRACKER_CACHE", str(Path(tempfile.gettempdir()) / f"tracker-test-cache-{os.getuid()}"))


def _pg_admin_url() -> str:
    assert PG_URL
    return make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False)


def new_pg_database() -> str:
    """A fresh, empty PostgreSQL database for one test; dropped by the caller's fixture."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    dispose_engines()
    name = make_url(url).database
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL, once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tracker.db'}"
        yield url
        dispose_engines()
        return
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI 中必须设置 TRACKER_TEST_PG_URL（由 scripts/start-postgres 启动 PostgreSQL）")
        pytest.skip("未设置 TRACKER_TEST_PG_URL：跳过 PostgreSQL")
    url = new_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> dict[str, str]:
    """Point the CLI and library at a fresh database and a scratch data directory."""
    values = {"TRACKER_DB_URL": db_url, "TRACKER_DATA": str(tmp_path / "data"),
              "TRACKER_SPECS": str(REPO / "kpi_specs"), "TRACKER_ID_KEY": "test-key-not-secret"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


@pytest.fixture
def roster_ws(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The records fixture project (tests/fixtures/records/B901.yaml) on a fresh database, with its
    three-person roster imported (tests/fixtures/records/records_support.py)."""
    import sys

    sys.path.insert(0, str(FIXTURES / "records"))
    from records_support import load_roster, workspace

    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    w = workspace(db_url)
    load_roster(w, tmp_path)
    return w


@pytest.fixture
def smtp() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives (tests/schedule_support.py)."""
    from schedule_support import LoopbackSmtp

    server = LoopbackSmtp()
    server.start()
    yield server
    server.stop()
