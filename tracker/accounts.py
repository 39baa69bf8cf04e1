"""Accounts, roles, organisations and server-side sessions.

Roles: ``operator`` (an NGO's staff: the projects its organisation runs), ``auditor`` (the bureau or
a third-party evaluator: every project, read all, judge, report) and ``admin`` (accounts,
organisations, project settings; sees every project). Passwords are hashed with Argon2id
(argon2-cffi). A session is a random token in a cookie; the database keeps only its SHA-256, so
logout, a password change or disabling the account ends it at once. Logins are throttled per account
and per address, counted in the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update

from tracker import audit
from tracker.db.accounts import ROLES, Account, LoginAttempt, OrganisationProject, WebSession
from tracker.db.models import Organisation, Project, utcnow
from tracker.errors import TrackerError

ROLE_LABELS = {"operator": "运营方（社会组织）", "auditor": "审核员（民政局/第三方评估）", "admin": "管理员"}
SESSION_DAYS = 7
MIN_PASSWORD = 8
#: Failed logins within ``THROTTLE_WINDOW`` after which further attempts are refused.
MAX_FAILURES_PER_LOGIN = 5
MAX_FAILURES_PER_ADDRESS = 20
THROTTLE_WINDOW = dt.timedelta(minutes=15)

_hasher = PasswordHasher()  # Argon2id with argon2-cffi's RFC 9106 low-memory defaults
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def use_hasher(hasher: PasswordHasher) -> None:
    """Replace the password hasher (tests use cheaper Argon2id parameters; hashes made with other
    parameters still verify, and are rehashed at the next login)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("not-a-real-password")


class LoginFailed(TrackerError):
    pass


class LoginThrottled(TrackerError):
    pass


@dataclass(frozen=True)
class Principal:
    """Who is asking: the account as the web layer and the library's checks see it."""

    id: int
    login: str
    role: str
    organisation_id: int | None
    organisation: str | None
    display_name: str | None

    @property
    def author(self) -> str:
        """What a write records as its author (the account's login)."""
        return self.login

    @property
    def sees_all(self) -> bool:
        return self.role in ("auditor", "admin")


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(password: str) -> str:
    if password is None or len(password) < MIN_PASSWORD:
        raise TrackerError(f"密码至少 {MIN_PASSWORD} 位：请换一个更长的密码")
    if len(password) > 256:
        raise TrackerError("密码过长（最多 256 位）")
    return password


def _principal(s, acc: Account) -> Principal:  # type: ignore[no-untyped-def]
    org = s.get(Organisation, acc.organisation_id) if acc.organisation_id else None
    return Principal(acc.id, acc.login, acc.role, acc.organisation_id, org.name if org else None,
                     acc.display_name)


# ------------------------------------------------------------------ organisations


def ensure_organisation(ws, name: str, by: str = "system") -> Organisation:  # type: ignore[no-untyped-def]
    """The organisation called ``name``, created if new; a new one takes on the projects whose spec
    names it as 承接组织 and that no organisation runs yet. ``by``: the acting account."""
    name = (name or "").strip()
    if not name:
        raise TrackerError("组织名称不能为空")
    with ws.session() as s:
        org = s.execute(select(Organisation).where(Organisation.name == name)).scalars().first()
        if org is not None:
            return org
        org = Organisation(name=name)
        s.add(org)
        s.flush()
        audit.record_row(s, "organisation.add", Organisation, org.id, by)
        linked = set(s.execute(select(OrganisationProject.project_code)).scalars())
        for code in s.execute(select(Project.code).where(Project.organisation == name)).scalars():
            if code not in linked:
                s.add(OrganisationProject(project_code=code, organisation_id=org.id, set_by="spec"))
                audit.record_row(s, "project.organisation", OrganisationProject, code, by, {"from": "spec"})
        s.commit()
        s.refresh(org)
        return org


def set_project_organisation(ws, code: str, organisation: str, by: str) -> None:  # type: ignore[no-untyped-def]
    """Make ``organisation`` the 承接组织 of project ``code`` (its operators see it from now on)."""
    ws.spec(code)
    org = ensure_organisation(ws, organisation, by)
    with ws.session() as s:
        row = s.get(OrganisationProject, code)
        before = None if row is None else row.organisation_id
        if row is None:
            s.add(OrganisationProject(project_code=code, organisation_id=org.id, set_by=by))
        else:
            row.organisation_id, row.set_by, row.set_at = org.id, by, utcnow()
            s.add(row)
        audit.record_row(s, "project.organisation", OrganisationProject, code, by, {"before": before})
        s.commit()


def project_organisations(ws) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """project code → the name of the organisation that runs it."""
    with ws.session() as s:
        rows = s.execute(select(OrganisationProject.project_code, Organisation.name)
                         .join(Organisation, Organisation.id == OrganisationProject.organisation_id)).all()
    return {c: n for c, n in rows}


def list_organisations(ws) -> list[str]:  # type: ignore[no-untyped-def]
    with ws.session() as s:
        return list(s.execute(select(Organisation.name).order_by(Organisation.name)).scalars())


# ------------------------------------------------------------------ accounts


def add_account(ws, login: str, role: str, password: str, *, organisation: str | None = None,  # type: ignore[no-untyped-def]
                projects: Iterable[str] = (), display_name: str | None = None, by: str = "system") -> Principal:
    """Create an account. An operator belongs to an organisation; ``projects`` are linked to that
    organisation (its 承接组织)."""
    login = (login or "").strip()
    if not login or len(login) > 64 or any(c.isspace() for c in login):
        raise TrackerError("登录名不能为空、不能含空格，最长 64 个字符")
    if role not in ROLES:
        raise TrackerError(f"角色 “{role}” 无效，应为 operator（运营方）、auditor（审核员）或 admin（管理员）")
    _check_password(password)
    projects = list(projects)
    if role == "operator" and not organisation:
        raise TrackerError("运营方账号必须属于一个组织：请用 --org 写明组织名称")
    for code in projects:
        ws.spec(code)
    if projects and not organisation:
        raise TrackerError("--project 把项目关联到组织：请同时用 --org 写明组织名称")
    org = ensure_organisation(ws, organisation, by) if organisation else None
    current = project_organisations(ws)
    for code in projects:
        if code in current and current[code] != org.name:  # type: ignore[union-attr]
            raise TrackerError(f"项目 {code} 的承接组织已是 “{current[code]}”：如需更改，请管理员在网页“项目设置”中修改")
    with ws.session() as s:
        if s.execute(select(Account.id).where(Account.login == login)).first():
            raise TrackerError(f"登录名 “{login}” 已存在：请换一个，或用 tracker user passwd 修改密码")
        acc = Account(login=login, role=role, organisation_id=org.id if org else None,
                      password_hash=_hasher.hash(password), display_name=display_name)
        s.add(acc)
        s.flush()
        audit.record_row(s, "account.add", Account, acc.id, by)
        s.commit()
        s.refresh(acc)
        p = _principal(s, acc)
    for code in projects:
        if code not in current:
            set_project_organisation(ws, code, org.name, by)  # type: ignore[union-attr]
    return p


def _account(s, login: str) -> Account:  # type: ignore[no-untyped-def]
    acc = s.execute(select(Account).where(Account.login == login)).scalars().first()
    if acc is None:
        raise TrackerError(f"没有登录名为 “{login}” 的账号")
    return acc


def _revoke_all(s, account_id: int) -> None:  # type: ignore[no-untyped-def]
    s.execute(update(WebSession).where(WebSession.account_id == account_id, WebSession.revoked_at.is_(None))
              .values(revoked_at=utcnow()))


def set_password(ws, login: str, password: str, *, by: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """A new password; every open session of the account ends. ``by``: the acting account (the
    account itself when not given)."""
    _check_password(password)
    with ws.session() as s:
        acc = _account(s, login)
        acc.password_hash = _hasher.hash(password)
        acc.password_changed_at = utcnow()
        s.add(acc)
        _revoke_all(s, acc.id)
        audit.record_row(s, "account.password", Account, acc.id, by or login)
        s.commit()


def set_active(ws, login: str, active: bool, *, by: str = "system") -> None:  # type: ignore[no-untyped-def]
    """Disable (or re-enable) an account; disabling ends its sessions and its API token."""
    with ws.session() as s:
        acc = _account(s, login)
        acc.active = active
        if not active:
            acc.api_token_hash = None
            _revoke_all(s, acc.id)
        s.add(acc)
        audit.record_row(s, "account.enable" if active else "account.disable", Account, acc.id, by)
        s.commit()


def set_role(ws, login: str, role: str, *, organisation: str | None = None, by: str = "system") -> Principal:  # type: ignore[no-untyped-def]
    """Change an account's role (and, for an operator, its organisation); its open sessions end so
    the new rights apply at its next login."""
    if role not in ROLES:
        raise TrackerError(f"角色 “{role}” 无效，应为 operator（运营方）、auditor（审核员）或 admin（管理员）")
    with ws.session() as s:
        acc = _account(s, login)
    if role == "operator" and not (organisation or acc.organisation_id):
        raise TrackerError("运营方账号必须属于一个组织：请写明组织名称")
    org = ensure_organisation(ws, organisation, by) if organisation else None
    with ws.session() as s:
        acc = _account(s, login)
        acc.role = role
        if org is not None:
            acc.organisation_id = org.id
        elif role != "operator":
            acc.organisation_id = None
        s.add(acc)
        _revoke_all(s, acc.id)
        audit.record_row(s, "account.role", Account, acc.id, by)
        s.commit()
        s.refresh(acc)
        return _principal(s, acc)


def list_accounts(ws) -> list[dict]:  # type: ignore[no-untyped-def]
    with ws.session() as s:
        rows = s.execute(select(Account, Organisation.name).outerjoin(
            Organisation, Organisation.id == Account.organisation_id).order_by(Account.login)).all()
    return [{"login": a.login, "role": a.role, "role_label": ROLE_LABELS[a.role], "organisation": o,
             "active": a.active, "created_at": a.created_at} for a, o in rows]


def new_api_token(ws, login: str) -> str:  # type: ignore[no-untyped-def]
    """A fresh personal token for the JSON API (shown once; only its hash is kept)."""
    token = "trk_" + secrets.token_urlsafe(32)
    with ws.session() as s:
        acc = _account(s, login)
        acc.api_token_hash = _sha(token)
        s.add(acc)
        audit.record_row(s, "account.api_token", Account, acc.id, login)
        s.commit()
    return token


def principal_for_api_token(ws, token: str) -> Principal | None:  # type: ignore[no-untyped-def]
    if not token:
        return None
    with ws.session() as s:
        acc = s.execute(select(Account).where(Account.api_token_hash == _sha(token),
                                              Account.active.is_(True))).scalars().first()
        return _principal(s, acc) if acc else None


# ------------------------------------------------------------------ what an account may see


def visible_projects(ws, who: Principal) -> list[str]:  # type: ignore[no-untyped-def]
    """The project codes the account may see: all for auditors and admins, its organisation's for
    an operator."""
    if who.sees_all:
        return ws.codes
    if who.organisation_id is None:
        return []
    with ws.session() as s:
        codes = set(s.execute(select(OrganisationProject.project_code)
                              .where(OrganisationProject.organisation_id == who.organisation_id)).scalars())
    return [c for c in ws.codes if c in codes]


def may_see(ws, who: Principal, code: str) -> bool:  # type: ignore[no-untyped-def]
    if code not in ws.specs:
        return False
    if who.sees_all:
        return True
    if who.organisation_id is None:
        return False
    with ws.session() as s:
        row = s.get(OrganisationProject, code)
    return row is not None and row.organisation_id == who.organisation_id


def may_write_records(who: Principal) -> bool:
    """Operators enter, amend and void their own projects' records (admins may correct too)."""
    return who.role in ("operator", "admin")


def may_judge(who: Principal) -> bool:
    return who.role in ("auditor", "admin")


# ------------------------------------------------------------------ logging in, sessions


@dataclass(frozen=True)
class OpenSession:
    token: str  # goes in the cookie; never stored
    csrf_token: str
    principal: Principal


def _failures(s, column, value: str, since: dt.datetime) -> int:  # type: ignore[no-untyped-def]
    return s.execute(select(func.count()).select_from(LoginAttempt)
                     .where(column == value, LoginAttempt.ok.is_(False), LoginAttempt.at > since)).scalar_one()


def log_in(ws, login: str, password: str, address: str) -> OpenSession:  # type: ignore[no-untyped-def]
    """Check the password and open a session. Raises ``LoginThrottled`` after too many failures for
    the account or from the address (every attempt counts, right or wrong, while throttled) and
    ``LoginFailed`` (one message, whether the login exists or not) otherwise."""
    login = (login or "").strip()[:64]
    address = (address or "?")[:64]
    now = utcnow()
    since = now - THROTTLE_WINDOW
    with ws.session() as s:
        throttled = (_failures(s, LoginAttempt.login, login, since) >= MAX_FAILURES_PER_LOGIN
                     or _failures(s, LoginAttempt.address, address, since) >= MAX_FAILURES_PER_ADDRESS)
        if throttled:
            s.add(LoginAttempt(login=login, address=address, ok=False, at=now))
            s.commit()
            minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
            raise LoginThrottled(f"登录失败次数过多，已暂停登录：请 {minutes} 分钟后再试，或联系管理员重置密码")
        acc = s.execute(select(Account).where(Account.login == login)).scalars().first()
        ok = False
        try:
            ok = _hasher.verify(acc.password_hash if acc else _DUMMY_HASH, password or "") and acc is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and not acc.active:  # type: ignore[union-attr]
            ok = False
        s.add(LoginAttempt(login=login, address=address, ok=ok, at=now))
        if not ok:
            s.commit()
            raise LoginFailed("登录名或密码不正确：请检查后重试（连续输错多次将暂停登录）")
        if _hasher.check_needs_rehash(acc.password_hash):  # type: ignore[union-attr]
            acc.password_hash = _hasher.hash(password)  # type: ignore[union-attr]
            s.add(acc)
            audit.record_row(s, "account.rehash", Account, acc.id, acc.login)  # type: ignore[union-attr]
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        s.add(WebSession(id=_sha(token), account_id=acc.id, csrf_token=csrf, address=address,  # type: ignore[union-attr]
                         created_at=now, last_seen_at=now, expires_at=now + dt.timedelta(days=SESSION_DAYS)))
        s.commit()
        return OpenSession(token, csrf, _principal(s, acc))


def session_for(ws, token: str | None) -> OpenSession | None:  # type: ignore[no-untyped-def]
    """The open session of a cookie token, or None (unknown, revoked, expired, account disabled).
    Times are compared in SQL, against values stored the same way."""
    if not token or len(token) > 128:
        return None
    now = utcnow()
    sid = _sha(token)
    stale = (WebSession.last_seen_at < now - dt.timedelta(minutes=5)).label("stale")
    with ws.session() as s:
        got = s.execute(select(WebSession, stale).where(WebSession.id == sid, WebSession.revoked_at.is_(None),
                                                        WebSession.expires_at > now)).first()
        if got is None:
            return None
        row, is_stale = got
        acc = s.get(Account, row.account_id)
        if acc is None or not acc.active:
            return None
        if is_stale:
            s.execute(update(WebSession).where(WebSession.id == sid).values(last_seen_at=now))
            s.commit()
        return OpenSession(token, row.csrf_token, _principal(s, acc))


def log_out(ws, token: str | None) -> None:  # type: ignore[no-untyped-def]
    if not token:
        return
    with ws.session() as s:
        row = s.get(WebSession, _sha(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
            s.add(row)
            s.commit()



DEMO_PASSWORD = "demo-pass-2024"


def create_demo_accounts(ws, operator_project: str) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    """Accounts for trying the web application on the demo database (one of each role; the operator
    runs ``operator_project``). Returns (login, role, organisation); the password is DEMO_PASSWORD."""
    spec = ws.spec(operator_project)
    org = spec.project.organisation or "演示社会工作服务中心"
    out = []
    existing = {a["login"] for a in list_accounts(ws)}
    for login, role, o, projects in (("demo_admin", "admin", None, []), ("demo_auditor", "auditor", None, []),
                                     ("demo_ngo", "operator", org, [operator_project])):
        if login in existing:  # a demo run on a database it already ran on: the same accounts again
            set_password(ws, login, DEMO_PASSWORD, by="demo")
            set_active(ws, login, True, by="demo")
        else:
            add_account(ws, login, role, DEMO_PASSWORD, organisation=o, projects=projects, by="demo")
        out.append((login, role, o))
    return out
