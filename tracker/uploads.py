"""A ledger uploaded through the web: checked first (a dry run of the import, nothing written), shown
to the operator with every error by row and column, and imported only when they confirm.

The file is kept under ``<data>/uploads/<token>/<its name>`` between the two steps, so the records
carry the operator's own file name as their source; the error file (the rows in error with an
错误说明 column) is written beside it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from tracker import config
from tracker.db.accounts import PendingUpload
from tracker.errors import NotFound, TrackerError
from tracker.files import LEDGER_MAX, check_ledger, new_token, receive, safe_name
from tracker.records.importer import ImportResult, import_file

MAX_SHOWN_ERRORS = 2000
MAX_SHOWN_DIFF = 200  # rows listed per part of the ledger diff (the counts are complete)


def _dir(token: str) -> Path:
    return config.data_dir() / "uploads" / token


def _summary(r: ImportResult) -> dict[str, Any]:
    from tracker.records.columns import KINDS

    return {"kind": r.kind, "kind_label": KINDS[r.kind].label, "rows_total": r.rows_total,
            "new": r.imported, "unchanged": r.unchanged, "invalid_rows": r.invalid_rows, "valid_rows": r.valid_rows,
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in r.invalid[:MAX_SHOWN_ERRORS]],
            "errors_total": len(r.invalid), "error_file": r.error_file.name if r.error_file else None,
            "batch_id": r.batch_id, "diff": _diff(r)}


def _diff(r: ImportResult) -> dict[str, Any]:
    """The ledger diff (new, changed, disappeared rows) as plain data for the result page."""
    d = r.diff
    return {"ledger": r.ledger, "new": d.new, "changed": r.changed, "unchanged": r.unchanged,
            "corrected_earlier": r.corrected_earlier, "disappeared": d.disappeared, "retired": d.retired,
            "new_rows": [{"row": x.row, "values": x.values} for x in d.new_rows[:MAX_SHOWN_DIFF]],
            "changed_rows": [{"row": x.row, "record": x.record,
                              "changes": [[c.label, c.old, c.new] for c in x.changes]}
                             for x in d.changed_rows[:MAX_SHOWN_DIFF]],
            "disappeared_rows": [{"record": x.record, "source": x.source, "values": x.values}
                                 for x in d.disappeared_rows[:MAX_SHOWN_DIFF]]}


def check_upload(ws, code: str, file_name: str, stream: BinaryIO, account_id: int, author: str,  # type: ignore[no-untyped-def]
                 kind: str | None = None) -> PendingUpload:
    """Receive a ledger, refuse what is not a sound CSV/XLSX, dry-run the import; nothing is written
    to the record tables."""
    ws.spec(code)
    got = receive(stream, LEDGER_MAX, "上传的表格")
    token = new_token()
    d = _dir(token)
    try:
        suffix = check_ledger(got.path, file_name)
        name = safe_name(file_name, "记录" + suffix)
        if not name.lower().endswith(suffix):
            name += suffix
        d.mkdir(parents=True, exist_ok=True)
        path = d / name
        shutil.move(got.path, path)
        r = import_file(ws, path, code, kind or None, dry_run=True, entered_by=author,
                        error_file=d / f"错误说明-{Path(name).stem}.xlsx")
    except BaseException:
        got.path.unlink(missing_ok=True)
        shutil.rmtree(d, ignore_errors=True)
        raise
    row = PendingUpload(token=token, project_code=code, account_id=account_id, file_name=name,
                        sha256=got.sha256, suffix=suffix, kind=r.kind, summary=_summary(r))
    with ws.session() as s:
        s.add(row)
        s.commit()
        s.refresh(row)
    return row


def get_upload(ws, code: str, token: str) -> PendingUpload:  # type: ignore[no-untyped-def]
    with ws.session() as s:
        row = s.execute(select(PendingUpload).where(PendingUpload.token == token)).scalars().first()
    if row is None or row.project_code != code:
        raise NotFound("未找到这次上传：请重新上传文件")
    return row


def confirm_upload(ws, code: str, token: str, author: str, *, skip_invalid: bool = False) -> PendingUpload:  # type: ignore[no-untyped-def]
    """Import a checked upload for real (all or nothing unless ``skip_invalid``)."""
    row = get_upload(ws, code, token)
    if row.state != "checked":
        raise TrackerError("这份文件已经处理过了：如需再次导入，请重新上传")
    path = _dir(token) / row.file_name
    if not path.is_file():
        raise TrackerError("上传的文件已过期：请重新上传")
    r = import_file(ws, path, code, row.kind, skip_invalid=skip_invalid, entered_by=author,
                    error_file=_dir(token) / f"错误说明-{path.stem}.xlsx")
    with ws.session() as s:
        fresh = s.get(PendingUpload, row.id)
        fresh.summary = {**_summary(r), "committed": r.committed}  # type: ignore[union-attr]
        fresh.state = "imported" if r.committed else "checked"  # type: ignore[union-attr]
        fresh.batch_id = r.batch_id  # type: ignore[union-attr]
        s.add(fresh)
        s.commit()
        s.refresh(fresh)
        return fresh  # type: ignore[return-value]


def error_file(ws, code: str, token: str) -> Path:  # type: ignore[no-untyped-def]
    row = get_upload(ws, code, token)
    name = row.summary.get("error_file")
    p = _dir(token) / name if name else None
    if p is None or not p.is_file():
        raise NotFound("这次上传没有错误文件")
    return p
