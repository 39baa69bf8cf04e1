"""Who receives a project's emails: the NGO contact(s) and the bureau officer(s) (``Contact`` table).

A contact without a project is a bureau-wide recipient of the monthly portfolio digest. A contact
receives every message due on or after the day it was added (``since``, stored as ``created_at``);
of the messages already due before then it receives only the latest of each kind, so adding an
officer in month 9 does not flood them with eight old months. Removing a contact keeps its row
(inactive) and cancels what it was still owed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import select

from tracker import audit, clock
from tracker.db.models import Contact
from tracker.db.outbox import Outbox
from tracker.errors import TrackerError
from tracker.workspace import Workspace

ROLES = {"ngo": "社会组织联系人", "bureau": "民政局经办人"}
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")


@dataclass(frozen=True)
class ContactInfo:
    id: int
    project_code: str | None
    role: str
    name: str
    email: str
    since: dt.date
    active: bool


def normalise_email(email: str) -> str:
    e = email.strip().lower()
    if not _EMAIL.match(e):
        raise TrackerError(f"邮箱地址 “{email}” 格式不正确（应如 name@example.org）")
    return e


def _since_dt(since: dt.date | None) -> dt.datetime:
    if since is None:
        return clock.now()
    return clock.start_of_day(since)


def _info(c: Contact) -> ContactInfo:
    assert c.id is not None
    return ContactInfo(c.id, c.project_code, c.role, c.name, c.email,
                       clock.local_date(c.created_at), c.active)


def add_contact(ws: Workspace, project: str | None, role: str, name: str, email: str,
                since: dt.date | None = None, *, actor: str = "system") -> ContactInfo:
    """Add a recipient; ``project=None`` only for a bureau-wide digest recipient (role bureau)."""
    if role not in ROLES:
        raise TrackerError(f"角色 “{role}” 无效：应为 ngo（社会组织联系人）或 bureau（民政局经办人）")
    if project is None and role != "bureau":
        raise TrackerError("社会组织联系人必须指定 --project（不指定项目的只能是民政局经办人，接收全市汇总）")
    if project is not None:
        ws.loaded(project)  # 未找到项目 … 的规格
    if not name.strip():
        raise TrackerError("联系人姓名不能为空")
    email = normalise_email(email)
    with ws.session() as s:
        dup = s.exec(select(Contact).where(Contact.email == email, Contact.active == True,  # noqa: E712
                                           Contact.project_code == project if project else
                                           Contact.project_code.is_(None))).first()  # type: ignore[union-attr]
        if dup is not None:
            where = f"项目 {project}" if project else "全市汇总"
            raise TrackerError(f"{where} 已有联系人 {email}（编号 {dup.id}）；如需修改请先删除")
        c = Contact(project_code=project, role=role, name=name.strip(), email=email,
                    created_at=_since_dt(since))
        s.add(c)
        s.flush()
        audit.record_row(s, "contact.add", Contact, c.id, actor)
        s.commit()
        s.refresh(c)
        return _info(c)


def list_contacts(ws: Workspace, project: str | None = None, *, include_inactive: bool = False
                  ) -> list[ContactInfo]:
    with ws.session() as s:
        q = select(Contact)
        if project is not None:
            q = q.where(Contact.project_code == project)
        if not include_inactive:
            q = q.where(Contact.active == True)  # noqa: E712
        rows = s.exec(q.order_by(Contact.project_code, Contact.role, Contact.id)).all()  # type: ignore[arg-type]
        return [_info(c) for c in rows]


def remove_contact(ws: Workspace, project: str | None, email: str, *, role: str | None = None,
                   name: str | None = None, actor: str = "system") -> tuple[int, int]:
    """Deactivate a contact; returns (contacts removed, unsent messages cancelled). ``role`` and
    ``name``, when given, must be those registered for the address, or nothing is removed."""
    if role or name:
        e = normalise_email(email)
        match = [c for c in list_contacts(ws, project) if c.email == e and c.project_code == project]
        if match and ((role and match[0].role != role) or (name and match[0].name != name.strip())):
            raise TrackerError(f"{email} 的角色或姓名与登记的不一致，未删除（用 tracker contacts list 核对）")
    email = normalise_email(email)
    with ws.session() as s:
        q = select(Contact).where(Contact.email == email, Contact.active == True)  # noqa: E712
        q = q.where(Contact.project_code == project) if project else q.where(
            Contact.project_code.is_(None))  # type: ignore[union-attr]
        rows = s.exec(q).all()
        if not rows:
            where = f"项目 {project}" if project else "全市汇总"
            raise TrackerError(f"{where} 没有联系人 {email}（用 tracker contacts list 查看）")
        ids = [c.id for c in rows]
        for c in rows:
            c.active = False
            s.add(c)
            s.flush()
            audit.record_row(s, "contact.remove", Contact, c.id, actor)
        res = s.execute(update(Outbox).where(Outbox.contact_id.in_(ids),  # type: ignore[union-attr]
                                             Outbox.state.in_(("pending", "retry")))  # type: ignore[attr-defined]
                        .values(state="cancelled", last_error="联系人已删除"))
        s.commit()
        return len(rows), res.rowcount or 0
