"""A workspace: the specs (source of truth for projects and KPIs) and the database, in step.

Every command opens one. Specs are loaded and validated, the database is created or migrated on
first use, and the project rows are synchronised with the specs whenever a spec file changed, so
commands pick up a changed spec without further steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from tracker import config
from tracker.db.connection import get_engine
from tracker.db.models import Project, utcnow
from tracker.errors import TrackerError
from tracker.kpispec.history import follow_renames
from tracker.kpispec.loader import LoadedSpec, load_specs
from tracker.kpispec.model import Spec
from tracker.text import did_you_mean


@dataclass
class Workspace:
    engine: Engine
    specs: dict[str, LoadedSpec]

    def spec(self, code: str) -> Spec:
        return self.loaded(code).spec

    def loaded(self, code: str) -> LoadedSpec:
        if code not in self.specs:
            raise TrackerError(f"未找到项目 {code} 的规格{did_you_mean(code, self.specs)}")
        return self.specs[code]

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @property
    def codes(self) -> list[str]:
        return sorted(self.specs)


def open_workspace(db_url: str | None = None, specs: Path | None = None) -> Workspace:
    loaded = load_specs(specs or config.specs_dir())
    engine = get_engine(db_url)
    ws = Workspace(engine, {ls.spec.code: ls for ls in loaded})
    sync_projects(ws)
    return ws


def sync_projects(ws: Workspace) -> None:
    """Insert or update a project row for every spec whose file changed since the last sync."""
    with Session(ws.engine) as s:
        rows = {p.code: p for p in s.exec(select(Project)).all()}
        changed = False
        for code, ls in ws.specs.items():
            row = rows.get(code)
            if row is not None and row.spec_sha256 == ls.sha256:
                continue
            p = ls.spec.project
            values = dict(
                name=p.name, category=p.category, funding_wan=p.funding.amount_wan,
                funding_source=p.funding.source, area=list(p.area), period_start=p.period.start,
                period_end=p.period.end, midterm=p.midterm_date, organisation=p.organisation,
                spec_path=str(ls.path), spec_sha256=ls.sha256, synced_at=utcnow(),
            )
            if row is None:
                s.add(Project(code=code, **values))
                s.flush()
            else:
                for k, v in values.items():
                    setattr(row, k, v)
                s.add(row)
            follow_renames(s, ls.spec)  # judgements and explanations follow a renamed KPI
            changed = True
        if changed:
            s.commit()
