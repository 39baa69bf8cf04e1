"""The KPI kinds, one module each, behind one registry.

To add a kind: write its module here (a ``KpiKind`` subclass and ``KIND = …``), list it in
``_MODULES`` below and add its value to ``tracker.kpispec.model.Kind``; give it a fixture KPI with
hand-worked values (``tests/fixtures/engine/specs/X001.yaml`` and ``tests/test_measure_kinds.py``),
a row in ``docs/spec-format.md``, a place in every weighted scheme of ``tracker/reports/assets/scoring.yaml``, and
its SQL snapshots (``TRACKER_UPDATE_SNAPSHOTS=1``). ``tests/test_kinds_registry.py`` checks all of it.
"""

from __future__ import annotations

import importlib
from functools import cache

from tracker.kpispec.model import KPI, Kind
from tracker.measure.kinds.base import KpiKind

_MODULES = ("count", "sum", "average", "distinct", "per_person", "rate", "coverage", "duration",
            "approval_gate", "zero_incident", "staff", "headcount", "timeliness", "expense", "manual")


@cache
def registry() -> dict[Kind, KpiKind]:
    """Every kind's implementation, in the order of ``_MODULES``."""
    out: dict[Kind, KpiKind] = {}
    for name in _MODULES:
        impl = importlib.import_module(f"tracker.measure.kinds.{name}").KIND
        out[impl.kind] = impl
    return out


def kind_of(kind: Kind | str) -> KpiKind:
    """The implementation of a KPI kind (given as ``Kind`` or its value)."""
    return registry()[Kind(kind)]


def kind_label(kind: Kind | str) -> str:
    return kind_of(kind).label


def rule_text(kpi: KPI) -> str | None:
    """A KPI's rules besides its target, in Chinese (per-record bounds, a per-period rule), or None."""
    return kind_of(kpi.kind).rule_text(kpi)
