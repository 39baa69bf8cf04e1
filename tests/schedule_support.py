"""Helpers for the scheduler tests (tests/test_schedule_*.py): a real SMTP server on loopback
(aiosmtpd) that collects what it receives and can be stopped and started again on the same port, the
fixture specs, and small helpers to read the received messages."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from tracker.scheduling.settings import ScheduleSettings, SmtpSettings

SPECS = Path(__file__).resolve().parent / "fixtures" / "schedule"
P1, P2 = "2099D901", "2099D902"  # 2024-06-01..2025-03-31 (midterm 2024-11-15); 2024-09-01..2025-02-28
SENDER = "gycy@mzj.example.cn"
# No waiting between retries unless a test asks for it; a test that needs backoff passes its own.
FAST = ScheduleSettings(retry_base=0.0)


def free_port() -> int:
    """aiosmtpd's Controller cannot bind port 0: ask the OS for a free port first."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def msg(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


class Collector:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address.startswith("refuse"):
            return "550 5.1.1 没有这个用户"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
                                          or envelope.content))
        return "250 OK 已接收"


class LoopbackSmtp:
    """A real SMTP server on 127.0.0.1 that can go down and come back on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.collector = Collector()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        with self.collector.lock:
            return list(self.collector.received)

    def settings(self) -> SmtpSettings:
        return SmtpSettings(host="127.0.0.1", port=self.port, security="none", user=None, password=None,
                            sender=SENDER, timeout=10.0)


def subjects(server: LoopbackSmtp) -> list[str]:
    return [str(r.msg["Subject"]) for r in server.received]


def keys(server: LoopbackSmtp) -> list[tuple[str, str]]:
    """(recipient, subject) of every received message, in arrival order."""
    return [(r.rcpt_tos[0], str(r.msg["Subject"])) for r in server.received]


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def _id_number(seq: int) -> str:
    """A valid 居民身份证号 (GB 11643 check character) for a test person born in 1945."""
    body = f"330182194501{seq:02d}{seq:03d}"[:17]
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def add_visits(ws, code: str, visits: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    """Home visits (date, person) imported through the records importer, with a roster of the people
    visited: the figures the emails must show are then known by hand."""
    from tracker.records.importer import import_rows

    people = sorted({p for _, p in visits})
    roster = [{"服务对象编号": p, "姓名": f"测试{i}", "身份证号": _id_number(i + 1), "乡镇街道": "测试镇",
               "建档日期": "2024-06-01"} for i, p in enumerate(people)]
    r = import_rows(ws, code, "roster", roster, source_name="roster.xlsx", entered_by="test")
    assert r.imported == len(people), r.invalid
    rows = [{"记录编号": f"V{i:04d}", "日期": day, "活动类型": "上门探访", "服务对象编号": person}
            for i, (day, person) in enumerate(visits)]
    r = import_rows(ws, code, "activity", rows, source_name="visits.xlsx", entered_by="test")
    assert r.imported == len(visits), r.invalid
