"""The report charts are drawn once (``charts._png`` prints on the Agg canvas) and come out exactly as
``Figure.savefig`` would make them (which draws a figure with a layout engine twice), for every chart
kind; the same inputs give the same bytes."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pytest

from tracker.reports import charts

MONTHS = [dt.date(2024, m, 28) for m in range(1, 12)]
CASES: dict[str, Callable[[], bytes]] = {
    "burnup": lambda: charts.burnup("第3条 探访服务：累计完成", "人次", MONTHS, [i * 37.0 for i in range(11)], 1200.0,
                                    (dt.date(2024, 1, 1), dt.date(2024, 12, 31)), dt.date(2024, 6, 30),
                                    dt.date(2024, 11, 15), [(dt.date(2024, 1, 1), 0.0), (dt.date(2024, 12, 31), 1200.0)]),
    "burnup-at-1%": lambda: charts.burnup("第1条 服务人数：累计完成", "人", MONTHS[:3], [1.0, 2.0, 3.0], 300.0,
                                          (dt.date(2024, 1, 1), dt.date(2024, 12, 31)), dt.date(2024, 6, 30),
                                          dt.date(2024, 6, 30)),
    "monthly_volume": lambda: charts.monthly_volume([f"2024-{m:02d}" for m in range(1, 12)],
                                                    {"上门探访": list(range(11)), "小组活动": list(range(0, 22, 2))}),
    "per_person": lambda: charts.per_person("第4条 每人每月上门次数：各人各月实际数量的分布", [0, 1, 2, 3], [10, 40, 30, 5],
                                            2.0, "次", who="人月数（每人每月计一次）", every="月"),
    "satisfaction": lambda: charts.satisfaction(["服务对象", "家属"], [95.0, 88.5], [40, 12], 90.0),
    "status_stack": lambda: charts.status_stack("各类别指标状态", ["A 类", "B 类", "C 类"],
                                                {"met": [3, 1, 0], "behind": [1, 2, 4], "missed": [0, 1, 1]}),
}


def _savefig(fig) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


@pytest.mark.parametrize("kind", list(CASES))
def test_one_draw_gives_savefigs_bytes(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    once = CASES[kind]()
    assert once.startswith(b"\x89PNG") and once == CASES[kind]()  # deterministic
    monkeypatch.setattr(charts, "_png", _savefig)
    assert CASES[kind]() == once
