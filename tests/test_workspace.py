"""The database is created and migrated on first use, and projects follow their spec files."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import select

from tracker.db.models import Project
from tracker.workspace import open_workspace

REPO = Path(__file__).resolve().parent.parent


def test_first_use_creates_schema_and_syncs_projects(db_url: str, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(REPO / "kpi_specs/2024/B004E.yaml", specs / "B004E.yaml")
    ws = open_workspace(db_url, specs)
    with ws.session() as s:
        row = s.exec(select(Project).where(Project.code == "2024B004E")).one()
    assert row.funding_wan == 30
    assert str(row.period_end) == "2025-03-31"

    # A changed spec is picked up by the next command without further steps.
    text = (specs / "B004E.yaml").read_text("utf-8").replace("source: 福彩金", "source: 福彩公益金")
    (specs / "B004E.yaml").write_text(text, "utf-8")
    ws2 = open_workspace(db_url, specs)
    with ws2.session() as s:
        assert s.exec(select(Project.funding_source)).one() == "福彩公益金"
