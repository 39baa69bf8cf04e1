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


def release_table_path() -> Path:
    """The committed copy of the 2024 release tables (the reference input)."""
    return REPO_DIR / "data" / "release-tables" / "2024-hangzhou.txt"
