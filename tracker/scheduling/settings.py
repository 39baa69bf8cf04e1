"""Settings from the environment, read each time (tests and services point them elsewhere).

SMTP: ``TRACKER_SMTP_HOST``, ``TRACKER_SMTP_PORT`` (default 587 for starttls, 465 for ssl, 25 for
none), ``TRACKER_SMTP_SECURITY`` (``starttls`` | ``ssl`` | ``none``; default starttls),
``TRACKER_SMTP_USER``, ``TRACKER_SMTP_PASSWORD``, ``TRACKER_SMTP_SENDER`` (the From address; default
the user), ``TRACKER_SMTP_TIMEOUT`` (seconds, default 30), ``TRACKER_SMTP_CAFILE`` (a PEM file of the
CA that signed an internal mail server's certificate; default: the system's trusted CAs).

Schedule: ``TRACKER_SCHEDULE_DAY`` (day of the month the monthly email goes out, 1–28, default 1),
``TRACKER_SCHEDULE_TIME`` (``HH:MM`` Beijing time, default 09:00), ``TRACKER_RETRY_BASE`` (seconds
before the first retry, doubled on each further failure, default 300), ``TRACKER_RETRY_MAX``
(attempts before a message is marked failed, default 12), ``TRACKER_SEND_LEASE`` (seconds after which a
message left "sending" by a process that died is claimed again, default 3600).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from tracker.errors import TrackerError

SECURITIES = ("starttls", "ssl", "none")
_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    user: str | None
    password: str | None
    sender: str
    timeout: float = 30.0
    cafile: str | None = None

    def describe(self) -> str:
        """For logs and status: never the password."""
        who = f"{self.user}@" if self.user else ""
        return f"{self.security}://{who}{self.host}:{self.port}（发件人 {self.sender}）"


def _int(name: str, default: int, lo: int, hi: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise TrackerError(f"环境变量 {name}=“{raw}” 不是整数") from None
    if not lo <= v <= hi:
        raise TrackerError(f"环境变量 {name}={v} 超出范围 {lo}–{hi}")
    return v


def smtp_settings() -> SmtpSettings | None:
    """The SMTP settings, or None when ``TRACKER_SMTP_HOST`` is not set (messages then wait in the outbox)."""
    host = os.environ.get("TRACKER_SMTP_HOST", "").strip()
    if not host:
        return None
    security = os.environ.get("TRACKER_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
    if security not in SECURITIES:
        raise TrackerError(f"TRACKER_SMTP_SECURITY=“{security}” 无效：应为 starttls、ssl 或 none")
    port = _int("TRACKER_SMTP_PORT", _DEFAULT_PORTS[security], 1, 65535)
    user = os.environ.get("TRACKER_SMTP_USER") or None
    password = os.environ.get("TRACKER_SMTP_PASSWORD") or None
    sender = (os.environ.get("TRACKER_SMTP_SENDER") or user or "").strip()
    if "@" not in sender:
        raise TrackerError("未设置发件人：请设置 TRACKER_SMTP_SENDER（如 gycy@mzj.hangzhou.gov.cn）")
    timeout = float(_int("TRACKER_SMTP_TIMEOUT", 30, 1, 600))
    cafile = os.environ.get("TRACKER_SMTP_CAFILE") or None
    if cafile and not os.path.isfile(cafile):
        raise TrackerError(f"TRACKER_SMTP_CAFILE 指向的文件不存在：{cafile}")
    return SmtpSettings(host, port, security, user, password, sender, timeout, cafile)


@dataclass(frozen=True)
class ScheduleSettings:
    day: int = 1  # day of the month the monthly progress email and the digest go out
    hour: int = 9
    minute: int = 0
    retry_base: float = 300.0  # seconds before the first retry; doubled each further failure
    retry_cap: float = 6 * 3600.0
    retry_max: int = 12  # attempts before a message is marked failed
    lease: float = 3600.0  # a 'sending' claim older than this is taken to be from a dead process

    @property
    def time_label(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


def schedule_settings() -> ScheduleSettings:
    day = _int("TRACKER_SCHEDULE_DAY", 1, 1, 28)
    raw = os.environ.get("TRACKER_SCHEDULE_TIME", "09:00").strip() or "09:00"
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise TrackerError(f"TRACKER_SCHEDULE_TIME=“{raw}” 无效：应为 HH:MM（北京时间），如 09:00")
    return ScheduleSettings(
        day=day, hour=int(m[1]), minute=int(m[2]),
        retry_base=float(_int("TRACKER_RETRY_BASE", 300, 0, 86400)),
        retry_max=_int("TRACKER_RETRY_MAX", 12, 1, 1000),
        lease=float(_int("TRACKER_SEND_LEASE", 3600, 60, 7 * 86400)),
    )
