"""History across spec edits: judgements and explanations are stored under a KPI id
(``<code>.<clause>.<key>``); a spec edit that changes an id would silently drop them from progress and
reports (a ``met`` becoming ``pending``).

``orphans`` finds the stored history whose KPI id no longer exists (``tracker spec validate --db``
refuses such a spec); a KPI that says ``renamed_from: OLD`` (its old key, ``clause.key`` or the full
old id) takes its history along: ``follow_renames`` moves the rows to the new id when the workspace
syncs the changed spec, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update

from tracker.db.models import Explanation, Judgement
from tracker.kpispec.model import Spec

TABLES = ((Judgement, "评定"), (Explanation, "说明"))


def renames(spec: Spec) -> dict[str, str]:
    """old KPI id → new KPI id, from every ``renamed_from``."""
    out: dict[str, str] = {}
    for clause, kpi in spec.all_kpis():
        new = spec.kpi_id(clause, kpi)
        for old in kpi.renamed_from:
            parts = old.split(".")
            if len(parts) == 1:
                old_id = f"{spec.code}.{clause.clause}.{old}"
            elif len(parts) == 2:
                old_id = f"{spec.code}.{old}"
            else:
                old_id = old
            if old_id != new:
                out[old_id] = new
    return out


def orphans(session: Any, specs: Iterable[Spec]) -> list[str]:
    """One Chinese line per KPI id that has stored history but is neither in its spec nor declared
    as a ``renamed_from``."""
    lines: list[str] = []
    for spec in specs:
        ids = {spec.kpi_id(c, k) for c, k in spec.all_kpis()}  # a superseded KPI keeps its history
        moved = renames(spec)
        for model, what in TABLES:
            t = model.__table__
            q = (select(t.c.kpi_id, func.count()).where(t.c.project_code == spec.code, t.c.kpi_id.is_not(None))
                 .group_by(t.c.kpi_id).order_by(t.c.kpi_id))
            for kid, n in session.execute(q):
                if kid in ids or kid in moved:
                    continue
                lines.append(f"项目 {spec.code}：数据库中有 {n} 条{what}记在指标 {kid} 名下，但规格中已没有这个指标。"
                             f"若是改了名，请在新指标上写 renamed_from: {kid.split('.', 2)[-1]}，历史会随指标迁移；"
                             "若确实删除了该指标，请先与评估方确认")
    return lines


def follow_renames(session: Any, spec: Spec) -> int:
    """Move the history of renamed KPIs to their new ids, each moved row's new state entered in the
    audit chain (``kpi.rename``); the number of rows moved."""
    from tracker import audit

    moved = 0
    for old, new in renames(spec).items():
        for model, _ in TABLES:
            t = model.__table__
            ids = list(session.execute(select(t.c.id).where(t.c.project_code == spec.code, t.c.kpi_id == old)).scalars())
            if not ids:
                continue
            session.execute(update(t).where(t.c.id.in_(ids)).values(kpi_id=new))
            for pk in ids:
                audit.record_row(session, "kpi.rename", model, pk, "规格改名", {"from": old, "to": new})
            moved += len(ids)
    return moved


def orphans_in(url: str, specs: Iterable[Spec]) -> list[str]:
    """``orphans`` in the database at ``url`` (migrated if need be; nothing else is written)."""
    from sqlmodel import Session

    from tracker.db.connection import get_engine

    with Session(get_engine(url)) as s:
        return orphans(s, specs)
