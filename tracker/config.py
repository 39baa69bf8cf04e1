"""Where things are: the database URL, the specs directory and the data directory.

Read from the environment each time so tests and commands can point elsewhere:
``TRACKER_DB_URL`` (default: an SQLite file ``data/tracker.db`` under the working directory),
``TRACKER_SPECS`` (default ``kpi_specs/``), ``TRACKER_DATA`` (default ``data/``).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def data_dir() -> Path:
    return Path(os.environ.get("TRACKER_DATA", "data"))


def specs_dir() -> Path:
    return Path(os.environ.get("TRACKER_SPECS", "kpi_specs"))


def db_url() -> str:
    url = os.environ.get("TRACKER_DB_URL")
    if url:
        return url
    return f"sqlite:///{(data_dir() / 'tracker.db').as_posix()}"


RELEASE_TABLES_DIR = PACKAGE_DIR / "kpispec" / "release_tables"
"""The release tables tracker ships with (package data)."""


def release_table_path() -> Path:
    """The 2024 Hangzhou release tables the specs were written from (package data)."""
    return RELEASE_TABLES_DIR / "2024-hangzhou.txt"
