"""TEMPORARY: used only while ``tracker.records`` (issue 3) is missing, so the demo runs end to end.

It maps the simulator's English keys onto the record tables and bulk-inserts with SQLAlchemy Core.
Once ``tracker.records.import_rows`` exists, ``tracker.simulate`` uses it instead and this module is
dead code to delete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from typing import Any

import pandas as pd
from sqlalchemy import insert

from tracker.db.models import RECORD_TABLES, utcnow

_RENAME = {"activity": {"activity": "activity_type", "group": "group_name"},
           "approval": {"activity": "activity_type"},
           "deliverable": {"deliverable": "deliverable_type"}}


def _clean(v: Any) -> Any:
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):
        return v.item()
    return v


def insert_rows(ws: Any, code: str, kind: str, df: pd.DataFrame) -> int:
    model = RECORD_TABLES[kind]
    cols = set(model.__table__.c.keys())
    key = os.environ.get("TRACKER_ID_KEY", "tracker-simulate").encode()
    now = utcnow()
    rows = []
    for i, rec in enumerate(df.to_dict("records")):
        r = {_RENAME.get(kind, {}).get(k, k): _clean(v) for k, v in rec.items()}
        if kind == "roster":
            idn = r.pop("id_number", None)
            if idn:
                r["id_hash"] = hmac.new(key, idn.encode(), hashlib.sha256).hexdigest()
                r["id_masked"] = idn[:6] + "********" + idn[-4:]
                r["birth_date"] = dt.date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14]))
            r.setdefault("record_id", r["person_id"])
        for b in ("satisfied", "passed"):
            if b in r and isinstance(r[b], str):
                r[b] = r[b] == "是"
        attrs = {k: v for k, v in r.items() if k not in cols}
        r = {k: v for k, v in r.items() if k in cols}
        r.update(project_code=code, dedupe_key=hashlib.sha256(f"{kind}:{r.get('record_id')}".encode()).hexdigest(),
                 attributes={k: str(v) for k, v in attrs.items() if v is not None}, entered_at=now,
                 entered_by="simulate", source_file=f"simulate-{code}-{kind}", source_row=i + 2)
        rows.append(r)
    with ws.engine.begin() as c:
        c.execute(insert(model.__table__), rows)
    return len(rows)
