"""Check a spec against the release table it was written from: clause numbers, verbatim texts,
funding and period. A project that is not in the release tables is not checked here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tracker.kpispec.model import Spec, normalise_text
from tracker.kpispec.release_table import release_tables


def release_problems(spec: Spec, path: Path, *, text: str) -> list[Any]:
    from tracker.kpispec.loader import Problem, _field_path, _line_of, _Loader

    table = release_tables().projects.get(spec.code)
    if table is None:
        return []
    raw = yaml.load(text, Loader=_Loader)
    out: list[Problem] = []

    def add(loc: list[Any], msg: str) -> None:
        out.append(Problem(str(path), _line_of(raw, loc), _field_path(loc), msg))

    numbers = {c.number for c in table.clauses}
    for i, clause in enumerate(spec.clauses):
        rc = table.clause(clause.clause)
        if rc is None:
            add(["clauses", i, "clause"],
                f"发布表中 {spec.code} 没有第{clause.clause}条（共有：{', '.join(map(str, sorted(numbers)))}）")
        elif normalise_text(rc.text) != normalise_text(clause.text):
            add(["clauses", i, "text"], f"与发布表第{clause.clause}条原文不一致；原文为：{rc.text}")
    covered = {c.clause for c in spec.clauses}
    for n in sorted(numbers - covered):
        add(["clauses"], f"发布表第{n}条没有对应的指标（每一条基本产出都须至少有一个指标）")
    p = spec.project
    if table.funding_wan is not None and abs(p.funding.amount_wan - table.funding_wan) > 1e-9:
        add(["project", "funding", "amount_wan"], f"资助金额与发布表（{table.funding_wan:g} 万元）不一致")
    if table.period and (p.period.start, p.period.end) != table.period:
        add(["project", "period"], f"项目周期与发布表（{table.period[0]} 至 {table.period[1]}）不一致")
    return out
