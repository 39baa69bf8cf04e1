"""The simulator writes through the importer (no invalid row) and gives every status somewhere."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from tracker.db.models import RECORD_TABLES, ImportBatch
from tracker.measure.progress import compute_progress
from tracker.simulate import simulate
from tracker.simulate.generate import generate_project
from tracker.workspace import open_workspace

SPECS = Path(__file__).resolve().parent / "fixtures" / "simulate"
AS_OF = dt.date(2024, 11, 15)


def test_importer_accepts_every_generated_row_and_counts_match(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    ws = open_workspace(db_url, SPECS)
    summary = simulate(ws, AS_OF)
    assert set(summary.per_project) == {"2099B001", "2099B003", "2099B010"}
    with ws.session() as s:
        batches = s.exec(select(ImportBatch)).all()
        assert batches and all(b.rows_invalid == 0 for b in batches)
        assert all(b.entered_by == "simulate" for b in batches)
        for kind, model in RECORD_TABLES.items():
            n = s.exec(select(func.count()).select_from(model)).one()
            assert n == summary.counts.get(kind, 0), kind
    # what was imported is exactly what the generator produced up to the date
    expected = generate_project(ws.spec("2099B001")).until(AS_OF)
    assert summary.per_project["2099B001"]["activity"] == len(expected["activity"])
    assert summary.per_project["2099B001"]["roster"] == 120
    # ID numbers stored only as hash and masked form
    with ws.session() as s:
        person = RECORD_TABLES["roster"]
        masked = s.exec(select(person.id_masked).where(person.project_code == "2099B001")).all()
        assert all(m and "********" in m for m in masked)
    # simulating again changes nothing (record numbers make rows idempotent)
    again = simulate(ws, AS_OF, projects=["2099B001"])
    assert again.per_project["2099B001"] == summary.per_project["2099B001"]
    with ws.session() as s:
        n = s.exec(select(func.count()).select_from(RECORD_TABLES["activity"])).one()
        assert n == summary.counts["activity"]


def test_every_status_somewhere_across_the_portfolio(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    ws = open_workspace(db_url, SPECS)
    simulate(ws, AS_OF)
    progress = {c: compute_progress(ws, c, AS_OF) for c in ws.codes}
    status = {k.id: k.status for p in progress.values() for k in p.kpis}
    assert set(status.values()) == {"met", "on_track", "behind", "missed", "pending"}
    # on pace: every judged member-month visited (a monthly rule is on track, not met, until the period
    # ends), the mid-term report delivered, the counts on track
    assert status["2099B001.1.visits_monthly"] == "on_track"
    assert status["2099B001.2.needs_report"] == "met"
    assert status["2099B001.1.visits_total"] == "on_track"
    assert status["2099B001.3.rules"] == "pending"  # a manual KPI awaits the auditor
    # behind: about a quarter fewer sessions than the pace requires
    assert status["2099B003.1.trainings"] == "behind"
    # violations: the gate and the zero-incident rule are missed, each with one violation
    viol = {k.id: k.violations for k in progress["2099B010"].kpis}
    assert status["2099B010.2.prior_approval"] == "missed" and viol["2099B010.2.prior_approval"] == 1
    assert status["2099B010.2.no_incidents"] == "missed"
    assert viol["2099B010.1.groups"] == 1  # one session under 15 people
    assert viol["2099B010.1.tutoring"] == 1  # one child's fourth tutoring over the cap of 3
    assert viol["2099B010.2.criminal_record"] == 1
