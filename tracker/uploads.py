"""A ledger uploaded through the web: checked first (a dry run of the import, nothing written), shown
to the operator with every error by row and column, and imported only when they confirm.

The file is kept under ``<data>/uploads/<token>/<its name>`` between the two steps, so the records
carry the operator's own file name as their source; the error file (the file's rows with 原行号 and
错误说明 added, the cells as the operator typed them, names and ID numbers included, so that it can be
corrected and uploaded again) is written beside it.

Both hold personal data in clear, so: only the accounts of the organisation that uploaded the file
may download the error file (:func:`may_download_errors`; not auditors, not admins, who see the
masked records instead), and :func:`sweep` deletes an upload's folder ``RETENTION_DAYS`` (30) days
after it was uploaded (the web server sweeps when it starts and every hour, and every new upload
sweeps first), and likewise the command line's fallback error files under ``<data>/errors/``."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from tracker import clock, config
from tracker.db.accounts import Account, PendingUpload
from tracker.errors import Forbidden, NotFound, TrackerError
from tracker.files import LEDGER_MAX, check_ledger, new_token, receive, safe_name
from tracker.records.importer import ImportResult, import_file

MAX_SHOWN_ERRORS = 2000
MAX_SHOWN_DIFF = 200  # rows listed per part of the ledger diff (the counts are complete)
RETENTION_DAYS = 30  # an upload's folder (the ledger and its error file) is deleted after this
EXPIRED = "上传的文件已过期（上传 30 天后删除）：请重新上传"


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
    sweep(ws)
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
    if row.state == "expired":
        raise TrackerError(EXPIRED)
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


def may_download_errors(ws, who, row: PendingUpload) -> bool:  # type: ignore[no-untyped-def]
    """The error file holds the uploaded cells in clear: the account that uploaded it, or another
    account of the same organisation, may download it; nobody else (an auditor or admin neither)."""
    if who.id == row.account_id:
        return True
    if who.organisation_id is None:
        return False
    with ws.session() as s:
        uploader = s.get(Account, row.account_id)
    return uploader is not None and uploader.organisation_id == who.organisation_id


def error_file(ws, code: str, token: str, who=None) -> Path:  # type: ignore[no-untyped-def]
    """The error file of an upload, for ``who`` (a ``tracker.accounts.Principal``; None: no check,
    for the library's own callers)."""
    row = get_upload(ws, code, token)
    if who is not None and not may_download_errors(ws, who, row):
        raise Forbidden("错误说明表含有上传时的原始姓名和身份证号，只有上传它的机构的账号可以下载")
    if row.state == "expired":
        raise NotFound(EXPIRED)
    name = row.summary.get("error_file")
    p = _dir(token) / name if name else None
    if p is None or not p.is_file():
        raise NotFound("这次上传没有错误文件")
    return p


def sweep(ws, now: dt.datetime | None = None) -> int:  # type: ignore[no-untyped-def]
    """Delete what uploads keep in clear once ``RETENTION_DAYS`` have passed (the one clock,
    ``tracker.clock.now``): each older upload's folder (its ledger and error file; the row stays,
    marked ``expired``), folders under ``<data>/uploads/`` that no row names, and the command line's
    fallback error files under ``<data>/errors/``. Returns how many folders and files went."""
    cutoff = clock.utc(now or clock.now()) - dt.timedelta(days=RETENTION_DAYS)
    gone = 0
    with ws.session() as s:
        old = list(s.execute(select(PendingUpload).where(PendingUpload.created_at < cutoff,
                                                         PendingUpload.state != "expired")).scalars())
        for row in old:
            d = _dir(row.token)
            if d.exists():
                shutil.rmtree(d, ignore_errors=True)
                gone += 1
            row.state = "expired"
            s.add(row)
        s.commit()
        known = set(s.execute(select(PendingUpload.token)).scalars())
    limit = cutoff.timestamp()
    root = config.data_dir() / "uploads"
    for d in (root.iterdir() if root.is_dir() else []):
        if d.is_dir() and d.name not in known and _mtime(d) < limit:
            shutil.rmtree(d, ignore_errors=True)
            gone += 1
    errors = config.data_dir() / "errors"
    for f in (errors.iterdir() if errors.is_dir() else []):
        if f.is_file() and not f.is_symlink() and _mtime(f) < limit:
            f.unlink(missing_ok=True)
            gone += 1
    return gone


def _mtime(p: Path) -> float:
    try:
        return p.lstat().st_mtime
    except OSError:
        return float("inf")
