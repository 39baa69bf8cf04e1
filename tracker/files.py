"""Files people upload through the web: evidence (photos, 签到表, PDFs) and record ledgers to
import. Both are checked before anything is kept: a size limit enforced while the bytes stream in,
the type read from the content (not the name), and for XLSX a look inside the zip so a
decompression bomb never reaches a spreadsheet reader.

Evidence is stored content-addressed: ``<data>/evidence/ab/abcdef….bin`` by SHA-256, one copy
whatever its name or how often it is attached; the ``EvidenceFile`` row holds the name, type, project
and uploader, and a file is served only through that row."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from tracker import config
from tracker.db.accounts import EvidenceFile
from tracker.errors import NotFound, TrackerError

MB = 1024 * 1024
EVIDENCE_MAX = 20 * MB
LEDGER_MAX = 30 * MB
#: An XLSX is a zip: refuse one that would unpack to more than this, or with a member that expands
#: more than ``MAX_RATIO`` times (a zip bomb).
XLSX_MAX_UNPACKED = 400 * MB
MAX_RATIO = 200

EVIDENCE_TYPES = {  # content type → (the magic bytes it starts with, 中文说明)
    "image/jpeg": (b"\xff\xd8\xff", "JPG 照片"),
    "image/png": (b"\x89PNG\r\n\x1a\n", "PNG 图片"),
    "application/pdf": (b"%PDF-", "PDF 文件"),
}
EVIDENCE_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
EVIDENCE_HELP = "只能上传 JPG、PNG 照片或 PDF 文件（如签到表扫描件），每个不超过 20 MB"


def safe_name(name: str | None, default: str = "文件") -> str:
    """A file name fit to show and to keep: the last path part, no control characters or slashes,
    at most 120 characters (the extension kept)."""
    n = unicodedata.normalize("NFC", name or "")
    n = re.split(r"[\\/]", n)[-1]
    n = "".join(c for c in n if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not n:
        n = default
    if len(n) > 120:
        stem, dot, ext = n.rpartition(".")
        n = (stem[: 110] + "." + ext[:8]) if dot and len(ext) <= 8 else n[:120]
    return n


@dataclass
class Received:
    path: Path  # a temporary file; the caller moves or deletes it
    sha256: str
    size: int


def receive(stream: BinaryIO, limit: int, what: str) -> Received:
    """Copy an upload to a temporary file under the data directory, hashing it and stopping as soon
    as it passes ``limit`` bytes (nothing is kept then)."""
    tmp_dir = config.data_dir() / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".part")
    h = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                block = stream.read(1024 * 1024)
                if not block:
                    break
                size += len(block)
                if size > limit:
                    raise TrackerError(f"{what}超过 {limit // MB} MB 的上限，未保存：请压缩或拆分后再上传")
                h.update(block)
                out.write(block)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    if size == 0:
        Path(name).unlink(missing_ok=True)
        raise TrackerError(f"{what}是空的（0 字节），未保存：请选择正确的文件")
    return Received(Path(name), h.hexdigest(), size)


def sniff_evidence(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(16)
    for ctype, (magic, _label) in EVIDENCE_TYPES.items():
        if head.startswith(magic):
            return ctype
    raise TrackerError(f"文件类型不支持，未保存：{EVIDENCE_HELP}")


def check_ledger(path: Path, file_name: str) -> str:
    """The suffix (``.csv`` or ``.xlsx``) of an uploaded ledger whose content matches its name;
    raises in Chinese for anything else, including a zip bomb dressed as XLSX."""
    suffix = Path(file_name).suffix.lower()
    with path.open("rb") as f:
        head = f.read(8)
    if suffix == ".xlsx":
        if not head.startswith(b"PK\x03\x04"):
            raise TrackerError("文件扩展名是 .xlsx，但内容不是 Excel 工作簿：请在 Excel 或 WPS 中“另存为 .xlsx”后再上传")
        try:
            with zipfile.ZipFile(path) as z:
                infos = z.infolist()
                names = {i.filename for i in infos}
                total = sum(i.file_size for i in infos)
                bomb = any(i.compress_size and i.file_size / i.compress_size > MAX_RATIO for i in infos
                           if i.file_size > MB)
        except zipfile.BadZipFile:
            raise TrackerError("Excel 文件已损坏，无法打开：请在 Excel 或 WPS 中重新保存为 .xlsx 后再上传") from None
        if "xl/workbook.xml" not in names:
            raise TrackerError("文件不是 Excel 工作簿（缺少工作簿内容）：请在 Excel 或 WPS 中“另存为 .xlsx”后再上传")
        if bomb or total > XLSX_MAX_UNPACKED:
            raise TrackerError("Excel 文件解压后异常巨大（疑似压缩炸弹），已拒收：请上传正常保存的工作簿")
        return ".xlsx"
    if suffix == ".csv":
        if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF")) or b"\x00" in head:
            raise TrackerError("文件扩展名是 .csv，但内容不是文本表格：请上传 .csv 或 .xlsx 文件")
        return ".csv"
    if suffix == ".xls":
        raise TrackerError("不支持旧版 .xls 文件：请在 Excel 或 WPS 中“另存为 .xlsx”后再上传")
    raise TrackerError("只能上传 .xlsx 或 .csv 表格：请使用项目的导入模板")


# ------------------------------------------------------------------ evidence


def evidence_dir() -> Path:
    return config.data_dir() / "evidence"


def _blob(sha: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise NotFound("证据文件编号无效")
    return evidence_dir() / sha[:2] / f"{sha}.bin"


def store_evidence(ws, code: str, file_name: str, stream: BinaryIO, uploaded_by: str, *,  # type: ignore[no-untyped-def]
                   attached_to: str = "project", attached_id: str | None = None,
                   description: str | None = None) -> EvidenceFile:
    """Check and keep one evidence file for project ``code``."""
    ws.spec(code)
    got = receive(stream, EVIDENCE_MAX, "证据文件")
    try:
        ctype = sniff_evidence(got.path)
        blob = _blob(got.sha256)
        blob.parent.mkdir(parents=True, exist_ok=True)
        if blob.exists():
            got.path.unlink()
        else:
            shutil.move(got.path, blob)
    except BaseException:
        got.path.unlink(missing_ok=True)
        raise
    row = EvidenceFile(project_code=code, sha256=got.sha256, file_name=safe_name(file_name, "证据" + EVIDENCE_SUFFIX[ctype]),
                       content_type=ctype, size=got.size, attached_to=attached_to, attached_id=attached_id,
                       description=(description or "").strip() or None, uploaded_by=uploaded_by)
    with ws.session() as s:
        s.add(row)
        s.commit()
        s.refresh(row)
    return row


def list_evidence(ws, code: str, attached_to: str | None = None) -> list[EvidenceFile]:  # type: ignore[no-untyped-def]
    q = select(EvidenceFile).where(EvidenceFile.project_code == code)
    if attached_to:
        q = q.where(EvidenceFile.attached_to == attached_to)
    with ws.session() as s:
        return list(s.execute(q.order_by(EvidenceFile.uploaded_at.desc(), EvidenceFile.id.desc())).scalars())


def evidence_file(ws, code: str, evidence_id: int) -> tuple[EvidenceFile, Path]:  # type: ignore[no-untyped-def]
    """One evidence file of project ``code`` and where its bytes are; another project's is not found."""
    with ws.session() as s:
        row = s.get(EvidenceFile, evidence_id)
    if row is None or row.project_code != code:
        raise NotFound("未找到该证据文件")
    path = _blob(row.sha256)
    if not path.is_file():
        raise NotFound("证据文件已丢失：请重新上传")
    return row, path


#: The web's photo picker shows thumbnails that fit in this box (pixels).
WEB_THUMB_BOX = (320, 240)


def thumbnail_jpeg(path: Path, box: tuple[int, int], quality: int = 82) -> bytes | None:
    """A JPEG of the photo at ``path`` that fits in ``box``, upright (EXIF), or None when it cannot be
    read. The same file gives the same bytes."""
    import io

    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            im = im.convert("RGB")
            im.thumbnail(box)
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=quality)
    except Exception:  # a broken photo must not stop the page or the report
        return None
    return buf.getvalue()


def evidence_thumbnail(ws, code: str, evidence_id: int) -> bytes:  # type: ignore[no-untyped-def]
    """A small JPEG of one of project ``code``'s photos (JPG, PNG) for the web's photo picker."""
    row, path = evidence_file(ws, code, evidence_id)
    if row.content_type not in ("image/jpeg", "image/png"):
        raise NotFound("该证据文件不是照片，没有缩略图")
    data = thumbnail_jpeg(path, WEB_THUMB_BOX)
    if data is None:
        raise NotFound("照片无法读取：请重新上传")
    return data


def new_token() -> str:
    return secrets.token_urlsafe(24)
