"""A realistic simulated year of the portfolio: rosters, services, surveys, deliverables …

``simulate(ws, as_of)`` generates, for every project of the workspace, the records its operator would
have entered by ``as_of`` and writes them through ``tracker.records.import_rows``, the path operators'
files take. It is seeded: the same seed, scale and specs give the same records, the same figures.
Profiles (``tracker.simulate.profiles``) make most projects on pace, some behind and a few with rule
violations, so reports show every status.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracker.errors import TrackerError
from tracker.simulate.generate import KINDS, ProjectData, generate_project

if TYPE_CHECKING:
    from tracker.workspace import Workspace

DEFAULT_SEED = 2024
DEFAULT_AS_OF = dt.date(2024, 11, 15)  # the 2024 portfolio's mid-term assessment


@dataclass
class SimulationSummary:
    as_of: dt.date
    seed: int
    scale: float
    counts: Counter[str] = field(default_factory=Counter)  # kind -> rows imported
    per_project: dict[str, dict[str, int]] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)
    violations: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


Progress = Callable[[str, int, int], None]  # (project code, index, total)


def simulate(ws: Workspace, as_of: dt.date = DEFAULT_AS_OF, scale: float = 1.0, seed: int = DEFAULT_SEED, *,
             projects: Iterable[str] | None = None, progress: Progress | None = None) -> SimulationSummary:
    """Write every project's simulated records up to ``as_of`` (``scale`` times the realistic volume)."""
    if scale <= 0:
        raise TrackerError(f"--scale 必须大于 0（收到 {scale}）")
    codes = list(projects) if projects is not None else list(ws.codes)
    for c in codes:
        ws.spec(c)  # a precise Chinese error for an unknown code
    summary = SimulationSummary(as_of=as_of, seed=seed, scale=scale)
    t0 = time.perf_counter()
    for i, code in enumerate(codes):
        if progress:
            progress(code, i, len(codes))
        data = generate_project(ws.spec(code), seed=seed, scale=scale)
        summary.profiles[code] = data.profile.name
        summary.violations[code] = data.violations
        summary.per_project[code] = write_project(ws, data, as_of)
        summary.counts.update(summary.per_project[code])
    if progress:
        progress("", len(codes), len(codes))
    summary.seconds = time.perf_counter() - t0
    return summary


def write_project(ws: Workspace, data: ProjectData, as_of: dt.date) -> dict[str, int]:
    """Import one project's records up to ``as_of``, kind by kind, through ``import_rows``."""
    frames = data.until(as_of)
    out: dict[str, int] = {}
    for kind in KINDS:
        df = frames[kind]
        if not len(df):
            out[kind] = 0
            continue
        out[kind] = _import(ws, data.code, kind, df)
    return out


def _import(ws: Workspace, code: str, kind: str, df: Any) -> int:
    from tracker.records import import_rows

    res = import_rows(ws, code, kind, df, source_name=f"simulate-{code}-{kind}", entered_by="simulate")
    if res.invalid:
        first = "；".join(str(e) for e in res.invalid[:3])
        raise TrackerError(f"模拟数据导入失败（{code} {kind}，{len(res.invalid)} 行无效）：{first}")
    return int(res.imported) + int(getattr(res, "unchanged", 0))


__all__ = ["DEFAULT_AS_OF", "DEFAULT_SEED", "SimulationSummary", "generate_project", "simulate"]
