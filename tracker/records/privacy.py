"""Personal data: 居民身份证 numbers (GB 11643) and names.

ID numbers are never stored or shown in clear: the database keeps a keyed hash (HMAC-SHA256) and a
masked form (``330106********002X``). The key comes from ``TRACKER_ID_KEY``, or else from
``<TRACKER_DATA>/id.key``, generated once (mode 600). Names are masked (``张*``, ``欧阳**``) in
anything that leaves the database.

Deliberately not ``python-stdnum``'s ``cn.ric``: it rejects valid numbers of many people born
before about 1983 (see shared/notes/ecosystem.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import unicodedata
from functools import lru_cache
from pathlib import Path

from tracker import config
from tracker.errors import TrackerError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class IdNumberError(TrackerError):
    """A 身份证号 that fails the GB 11643 rules (the message never repeats the number)."""


def check_char(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalise_id_number(s: str) -> str:
    return unicodedata.normalize("NFKC", str(s)).strip().replace(" ", "").upper()


def validate_id_number(s: str, *, today: dt.date | None = None) -> str:
    """The normalised 18-character number; raises ``IdNumberError`` (in Chinese) when it is wrong."""
    v = normalise_id_number(s)
    if not v:
        raise IdNumberError("身份证号为空")
    if "E+" in v or ("." in v and v.replace(".", "").replace("E", "").replace("+", "").isdigit()):
        raise IdNumberError("身份证号被 Excel 转成了数字（科学计数法），末几位已丢失：请把该列设为“文本”格式后重新填写")
    if len(v) == 15 and v.isdigit():
        raise IdNumberError("15位旧身份证号已停用，请更新为18位号码")
    if len(v) != 18:
        raise IdNumberError(f"身份证号应为18位，实际为{len(v)}位")
    if not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        raise IdNumberError("身份证号前17位应为数字，最后一位为数字或X")
    if v[0] not in "123456789" or not ("11" <= v[:2] <= "91"):
        raise IdNumberError("身份证号的地区码无效")
    try:
        birth = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise IdNumberError("身份证号中的出生日期无效") from None
    if birth.year < 1880 or birth > (today or dt.date.today()):
        raise IdNumberError("身份证号中的出生日期无效")
    if check_char(v[:17]) != v[17]:
        raise IdNumberError("身份证号校验位错误，请核对号码")
    return v


def birth_date(v: str) -> dt.date:
    """The birth date of a number that passed ``validate_id_number``."""
    return dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))


@lru_cache(maxsize=8)
def _key_for(env_key: str | None, key_file: str) -> bytes:
    if env_key:
        return env_key.encode("utf-8")
    path = Path(key_file)
    try:
        return _read_or_create_key(path)
    except (OSError, UnicodeError) as e:
        why = "是目录" if path.is_dir() else "没有读写权限" if isinstance(e, PermissionError) else "无法读取或内容无效"
        raise TrackerError(f"身份证号哈希密钥文件 {path} {why}：请检查该文件（应为一行十六进制密钥），"
                           "或用环境变量 TRACKER_ID_KEY 提供密钥") from None


def _read_or_create_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    data = path.read_text("ascii").strip()
    if len(data) < 32:
        raise TrackerError(f"身份证号哈希密钥文件 {path} 内容无效")
    return data.encode("ascii")


def id_key() -> bytes:
    """The HMAC key: ``TRACKER_ID_KEY``, or ``<TRACKER_DATA>/id.key`` (created with mode 600)."""
    return _key_for(os.environ.get("TRACKER_ID_KEY") or None, str(config.data_dir() / "id.key"))


def hash_id(s: str) -> str:
    """Keyed HMAC-SHA256 (hex) of a valid, normalised ID number: equal numbers give equal hashes."""
    v = validate_id_number(s)
    return hmac.new(id_key(), v.encode("ascii"), hashlib.sha256).hexdigest()


def mask_id(s: str) -> str:
    """``330106********002X``: area code and the last four characters only."""
    v = normalise_id_number(s)
    if len(v) >= 10:
        return v[:6] + "*" * (len(v) - 10) + v[-4:]
    return "*" * len(v)


_COMPOUND_SURNAMES = frozenset(
    ["欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "澹台", "公冶", "宗政", "濮阳", "太史", "申屠", "闻人", "呼延", "钟离", "万俟", "单于", "赫连", "百里", "东郭", "南门", "羊舌", "微生", "梁丘", "左丘", "第五", "司空", "司寇", "亓官", "仲孙", "拓跋", "完颜"]
)


def mask_name(s: str | None) -> str:
    """``张三`` → ``张*``, ``张三丰`` → ``张**``, ``欧阳娜娜`` → ``欧阳**``; one character → ``*``."""
    if not s:
        return ""
    name = str(s).strip()
    if len(name) <= 1:
        return "*" * len(name)
    keep = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:keep] + "*" * (len(name) - keep)
