"""Personal data: 居民身份证 numbers (GB 11643) and names.

ID numbers are never stored or shown in clear: the database keeps a keyed hash (HMAC-SHA256) and a
masked form (``330106********002X``). The key comes from ``TRACKER_ID_KEY``, or else from the
database it hashes for (the ``setting`` table, written once), so every folder and every machine that
uses one database agrees. Names are masked (``张*``, ``欧阳**``) in
anything that leaves the database.

Deliberately not ``python-stdnum``'s ``cn.ric``: it rejects valid numbers of many people born
before about 1983 (see shared/notes/ecosystem.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from tracker import config
from tracker.errors import TrackerError

if TYPE_CHECKING:
    from sqlalchemy import Engine

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


KEY_SETTING = "id_hash_key"
log = logging.getLogger("tracker.privacy")


def id_key(engine: Engine | None = None) -> bytes:
    """The HMAC key: ``TRACKER_ID_KEY`` if set, else the one stored in the database (``engine``, by
    default the one of ``TRACKER_DB_URL``), written there once: taken over from an older
    ``<TRACKER_DATA>/id.key`` where there is one, else generated."""
    env_key = os.environ.get("TRACKER_ID_KEY")
    if env_key:
        return env_key.encode("utf-8")
    from tracker.db.connection import get_engine
    from tracker.db.settings import get_setting, put_once

    engine = engine or get_engine()
    stored = get_setting(engine, KEY_SETTING)
    if stored is not None:
        return stored.encode("ascii")
    legacy = config.data_dir() / "id.key"
    old = _read_legacy_key(legacy)
    if old is None:
        _refuse_if_hashes_without_key(engine)
        return put_once(engine, KEY_SETTING, secrets.token_hex(32)).encode("ascii")
    stored = put_once(engine, KEY_SETTING, old)
    if stored == old:
        log.warning("已将身份证号哈希密钥从文件 %s 迁入数据库：此后从任何文件夹或电脑使用该数据库，哈希都一致；"
                    "请妥善备份数据库，确认无误后可删除该文件", legacy)
    return stored.encode("ascii")


def _read_legacy_key(path: Path) -> str | None:
    """The key an earlier version kept in ``<TRACKER_DATA>/id.key``, if that file exists."""
    try:
        if not path.exists():
            return None
        data = path.read_text("ascii").strip()
    except (OSError, UnicodeError) as e:
        why = "是目录" if path.is_dir() else "没有读写权限" if isinstance(e, PermissionError) else "无法读取或内容无效"
        raise TrackerError(f"身份证号哈希密钥文件 {path} {why}：请检查该文件（应为一行十六进制密钥），"
                           "或用环境变量 TRACKER_ID_KEY 提供密钥") from None
    if len(data) < 32 or not data.isalnum():
        raise TrackerError(f"身份证号哈希密钥文件 {path} 内容无效（应为一行十六进制密钥）：请找回原文件，"
                           "或用环境变量 TRACKER_ID_KEY 提供原来的密钥")
    return data


def _refuse_if_hashes_without_key(engine: Engine) -> None:
    """A database that already holds hashed ID numbers but no key: they were hashed with a key kept
    elsewhere (an older ``data/id.key`` in another folder, or ``TRACKER_ID_KEY``). A new key would
    make every person of those rosters look new, so ask for the old one instead."""
    from sqlalchemy import func, select

    from tracker.db.models import Person

    table = Person.__table__  # type: ignore[attr-defined]
    with engine.connect() as c:
        n = c.execute(select(func.count()).select_from(table).where(table.c.id_hash.is_not(None))).scalar_one()
    if n:
        raise TrackerError(f"数据库中已有 {n} 条按身份证号哈希的服务对象记录，但数据库里没有保存哈希密钥，"
                           f"当前目录下也没有旧的密钥文件 {config.data_dir() / 'id.key'}：请在原来导入名单的文件夹中"
                           "运行一次命令（密钥会自动迁入数据库），或用环境变量 TRACKER_ID_KEY 提供原来的密钥")


def hash_id(s: str, key: bytes | None = None) -> str:
    """Keyed HMAC-SHA256 (hex) of a valid, normalised ID number: equal numbers give equal hashes.
    ``key`` defaults to ``id_key()``."""
    v = validate_id_number(s)
    return hmac.new(key or id_key(), v.encode("ascii"), hashlib.sha256).hexdigest()


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
