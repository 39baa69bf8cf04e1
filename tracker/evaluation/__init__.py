"""The evaluation process: an NGO submits a period, an auditor approves it or returns it with
comments per KPI, returned items are fixed and resubmitted; approving the mid-term or final
evaluation locks the records dated in it (``tracker.evaluation.locks``) until an auditor unlocks
them with a reason.

``ACTIONS`` is the whole state machine: which states an action starts from, the state it leads to,
and the roles that may take it. Every transition is a ``SubmissionEvent`` (account, role, time,
comment, per-KPI comments) and an entry in the audit trail.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from tracker import audit, clock
from tracker.db.evaluation import Submission, SubmissionEvent
from tracker.db.models import utcnow
from tracker.errors import Forbidden, NotFound, TrackerError

STATES: dict[str, str] = {"draft": "草稿", "submitted": "已提交，待审核", "returned": "已退回修改", "approved": "已批准"}
KINDS: dict[str, str] = {"month": "月度报送", "midterm": "中期自评", "final": "终期自评"}
ROLES: dict[str, str] = {"operator": "社会组织填报人", "auditor": "审核人（评估专家）", "admin": "管理员"}
#: The narrative sections of a mid-term / final self-assessment, in report order.
NARRATIVE_SECTIONS: tuple[str, ...] = ("项目进展概述", "亮点与成效", "存在问题", "下一步计划")


@dataclass(frozen=True)
class Action:
    label: str
    from_states: frozenset[str]
    to_state: str
    roles: frozenset[str]
    needs_comment: bool = False


ACTIONS: dict[str, Action] = {
    "submit": Action("提交", frozenset({"draft", "returned"}), "submitted", frozenset({"operator", "admin"})),
    "return": Action("退回修改", frozenset({"submitted"}), "returned", frozenset({"auditor", "admin"}), True),
    "approve": Action("批准", frozenset({"submitted"}), "approved", frozenset({"auditor", "admin"})),
    "unlock": Action("解锁", frozenset({"approved"}), "approved", frozenset({"auditor", "admin"}), True),
    "relock": Action("重新锁定", frozenset({"approved"}), "approved", frozenset({"auditor", "admin"})),
}

@dataclass(frozen=True)
class SubmissionInfo:
    id: int
    project_code: str
    kind: str
    period: str
    period_start: dt.date
    period_end: dt.date
    state: str
    narrative: dict[str, str]
    round: int
    approved_by: str | None
    approved_at: dt.datetime | None
    locked: bool

    @property
    def title(self) -> str:
        if self.kind == "month":
            y, m = self.period.split("-")
            return f"{int(y)}年{int(m)}月月度报送"
        return KINDS[self.kind]

    @property
    def state_label(self) -> str:
        return STATES[self.state]


@dataclass(frozen=True)
class EventInfo:
    action: str
    from_state: str
    to_state: str
    actor: str
    role: str
    comment: str
    kpi_comments: dict[str, str]
    at: dt.datetime


def _aware(v: dt.datetime | None) -> dt.datetime | None:
    if v is None:
        return None
    return clock.utc(v)


def _info(s: Submission) -> SubmissionInfo:
    assert s.id is not None
    return SubmissionInfo(s.id, s.project_code, s.kind, s.period, s.period_start, s.period_end, s.state,
                          dict(s.narrative or {}), s.round, s.approved_by, _aware(s.approved_at), s.locked)


def _bounds(spec: Any, kind: str, period: str | None) -> tuple[str, dt.date, dt.date]:
    p = spec.project
    if kind == "midterm":
        return "midterm", p.period.start, p.midterm_date
    if kind == "final":
        return "final", p.period.start, p.period.end
    if kind != "month":
        raise TrackerError(f"报送类型 “{kind}” 无效：应为 month（月度）、midterm（中期自评）或 final（终期自评）")
    try:
        y, m = (int(x) for x in str(period or "").split("-"))
        first = dt.date(y, m, 1)
    except ValueError:
        raise TrackerError(f"月份 “{period}” 无效：请写成 YYYY-MM，如 2024-07") from None
    last = dt.date(y, m, calendar.monthrange(y, m)[1])
    if last < p.period.start or first > p.period.end:
        raise TrackerError(f"{y}年{m}月不在项目周期（{p.period.start} 至 {p.period.end}）内")
    return f"{y:04d}-{m:02d}", max(first, p.period.start), min(last, p.period.end)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise TrackerError(f"角色 “{role}” 无效：应为 operator（社会组织填报人）、auditor（审核人）或 admin（管理员）")


def _event(s: Any, sub: Submission, action: str, before: str, actor: str, role: str, comment: str = "",
           kpi_comments: dict[str, str] | None = None, at: dt.datetime | None = None) -> None:
    ev = SubmissionEvent(submission_id=sub.id, action=action, from_state=before, to_state=sub.state,
                         actor=actor, role=role, comment=comment, kpi_comments=dict(kpi_comments or {}),
                         at=at or utcnow())
    s.add(sub)
    s.add(ev)
    s.flush()
    audit.record_row(s, f"submission.{action}", Submission, sub.id, actor)
    audit.record_row(s, f"submission.{action}", SubmissionEvent, ev.id, actor)


def open_submission(ws: Any, project: str, kind: str, period: str | None = None, *, actor: str, role: str,
                    narrative: dict[str, str] | None = None) -> SubmissionInfo:
    """The submission of a period: created as a draft, or the existing one (any state)."""
    _check_role(role)
    if role not in ("operator", "admin"):
        raise Forbidden("只有社会组织填报人（或管理员）可以创建报送")
    spec = ws.spec(project)
    key, start, end = _bounds(spec, kind, period)
    with ws.session() as s:
        sub = s.execute(select(Submission).where(Submission.project_code == project, Submission.kind == kind,
                                                 Submission.period == key)).scalars().first()
        if sub is None:
            sub = Submission(project_code=project, kind=kind, period=key, period_start=start, period_end=end,
                             created_by=actor)
            s.add(sub)
            s.flush()
            _event(s, sub, "create", "draft", actor, role)
            s.commit()
        info = _info(sub)
    if narrative:
        info = save_narrative(ws, info.id, narrative, actor=actor, role=role)
    return info


def load_submission(s: Any, sub_id: int) -> Submission:
    """The submission row numbered ``sub_id`` in session ``s``, or a Chinese error."""
    sub = s.get(Submission, sub_id)
    if sub is None:
        raise TrackerError(f"没有编号为 {sub_id} 的报送")
    return sub


def get_submission(ws: Any, sub_id: int) -> SubmissionInfo:
    with ws.session() as s:
        sub = load_submission(s, sub_id)
        return _info(sub)


def find_submission(ws: Any, project: str, kind: str, period: str | None = None) -> SubmissionInfo | None:
    key, _, _ = _bounds(ws.spec(project), kind, period)
    with ws.session() as s:
        sub = s.execute(select(Submission).where(Submission.project_code == project, Submission.kind == kind,
                                                 Submission.period == key)).scalars().first()
        return None if sub is None else _info(sub)


def list_submissions(ws: Any, project: str | None = None) -> list[SubmissionInfo]:
    with ws.session() as s:
        q = select(Submission).order_by(Submission.project_code, Submission.period_end, Submission.id)
        if project:
            q = q.where(Submission.project_code == project)
        return [_info(x) for x in s.execute(q).scalars()]


def history(ws: Any, sub_id: int) -> list[EventInfo]:
    with ws.session() as s:
        rows = s.execute(select(SubmissionEvent).where(SubmissionEvent.submission_id == sub_id)
                         .order_by(SubmissionEvent.id)).scalars()
        return [EventInfo(e.action, e.from_state, e.to_state, e.actor, e.role, e.comment, dict(e.kpi_comments or {}),
                          _aware(e.at)) for e in rows]  # type: ignore[arg-type]


def save_narrative(ws: Any, sub_id: int, sections: dict[str, str], *, actor: str, role: str) -> SubmissionInfo:
    """Set the narrative sections (项目进展概述 …) of a draft or returned submission."""
    _check_role(role)
    if role not in ("operator", "admin"):
        raise Forbidden("只有社会组织填报人（或管理员）可以填写自评内容")
    unknown = [k for k in sections if k not in NARRATIVE_SECTIONS]
    if unknown:
        raise TrackerError(f"没有栏目 “{'、'.join(unknown)}”：自评栏目为 {'、'.join(NARRATIVE_SECTIONS)}")
    with ws.session() as s:
        sub = load_submission(s, sub_id)
        if sub.state not in ("draft", "returned"):
            raise TrackerError(f"该报送{STATES[sub.state]}，不能再修改自评内容"
                               + ("；如需修改，请审核人退回" if sub.state == "submitted" else ""))
        sub.narrative = {**(sub.narrative or {}), **{k: (v or "").strip() for k, v in sections.items()}}
        _event(s, sub, "edit", sub.state, actor, role, "修改自评内容")
        s.commit()
        return _info(sub)


#: At most this many photos go into a report; captions at most ``CAPTION_MAX`` characters.
MAX_PHOTOS = 6
CAPTION_MAX = 60
PHOTO_TYPES = ("image/jpeg", "image/png")


def _may_choose_photos(role: str) -> None:
    """The photos are part of the NGO's self-assessment: an evaluator who wants others returns it."""
    _check_role(role)
    if role not in ("operator", "admin"):
        raise Forbidden("报告照片由社会组织选择：审核人如需更换，请退回自评并写明意见")


def choose_photos(ws: Any, sub_id: int, photos: list[tuple[int, str | None]], *, actor: str,
                  role: str) -> SubmissionInfo:
    """Choose the evidence photos a mid-term / final report shows as thumbnails, each with its caption
    (empty: the photo's own description, else its file name), in the order given. Like the narrative,
    only while the submission is a draft or returned; ``[]`` removes them."""
    from tracker.db.accounts import EvidenceFile

    _may_choose_photos(role)
    if len(photos) > MAX_PHOTOS:
        raise TrackerError(f"报告最多放 {MAX_PHOTOS} 张照片，收到 {len(photos)} 张：请只选最能说明成效的几张")
    with ws.session() as s:
        sub = load_submission(s, sub_id)
        if sub.kind not in ("midterm", "final"):
            raise TrackerError("只有中期、终期自评的报告附照片")
        if sub.state not in ("draft", "returned"):
            raise TrackerError(f"该报送{STATES[sub.state]}，不能再修改报告照片"
                               + ("；如需修改，请审核人退回" if sub.state == "submitted" else ""))
        chosen = []
        for eid, caption in photos:
            row = s.get(EvidenceFile, int(eid))
            if row is None or row.project_code != sub.project_code:
                raise TrackerError(f"项目 {sub.project_code} 没有编号为 {eid} 的证据文件：请在“证据材料”页面核对编号")
            if row.content_type not in PHOTO_TYPES:
                raise TrackerError(f"证据 {eid}（{row.file_name}）不是照片：报告只附 JPG、PNG 照片")
            text = (caption or "").strip() or (row.description or "").strip() or row.file_name.rsplit(".", 1)[0]
            if len(text) > CAPTION_MAX:
                raise TrackerError(f"照片说明最多 {CAPTION_MAX} 个字，“{text[:12]}……”有 {len(text)} 个字：请缩短")
            chosen.append({"evidence": int(eid), "caption": text})
        sub.narrative = {**(sub.narrative or {}), "photos": chosen}
        _event(s, sub, "edit", sub.state, actor, role, f"选择报告照片 {len(chosen)} 张")
        s.commit()
        return _info(sub)


@dataclass(frozen=True)
class PhotoOption:
    """One of the project's photos on the photo picker: chosen or not, its caption in the report."""
    evidence_id: int
    file_name: str
    description: str
    uploaded_by: str
    uploaded_at: dt.datetime
    position: int | None  # 1, 2 … in the report; None: not chosen
    caption: str


@dataclass(frozen=True)
class PhotoPage:
    """What the web's 报告照片 page shows for a project's mid-term or final self-assessment."""
    kind: str
    submission: SubmissionInfo | None  # None: no self-assessment opened yet (choosing opens it)
    options: list[PhotoOption]
    editable: bool
    why_not: str  # when not editable, why (Chinese)

    @property
    def title(self) -> str:
        return KINDS[self.kind]

    @property
    def chosen(self) -> list[PhotoOption]:
        return sorted((o for o in self.options if o.position), key=lambda o: o.position or 0)


def _report_kind(kind: str) -> str:
    if kind not in ("midterm", "final"):
        raise TrackerError(f"报告类型 “{kind}” 无效：只有中期（midterm）、终期（final）报告附照片")
    return kind


def photo_page(ws: Any, project: str, kind: str, role: str) -> PhotoPage:
    """The project's JPG/PNG evidence (newest first) with the photos the ``kind`` self-assessment has
    chosen, and whether an account of ``role`` may change the choice now: operators (and admins)
    while the submission is a draft or returned. Auditors see the choice but do not make it: the
    photos are part of the NGO's self-assessment, and an auditor who wants others returns it."""
    from tracker import files

    _check_role(role)
    kind = _report_kind(kind)
    sub = find_submission(ws, project, kind)
    chosen = {int(p["evidence"]): (i, p.get("caption") or "")
              for i, p in enumerate((sub.narrative.get("photos") if sub else None) or [], 1)}  # type: ignore[union-attr]
    options = [PhotoOption(e.id, e.file_name, e.description or "", e.uploaded_by, _aware(e.uploaded_at),  # type: ignore[arg-type]
                           chosen.get(e.id, (None, ""))[0], chosen.get(e.id, (None, ""))[1])
               for e in files.list_evidence(ws, project) if e.content_type in PHOTO_TYPES]
    options.sort(key=lambda o: (o.position is None, o.position or 0))  # the chosen first, in report order
    if role not in ("operator", "admin"):
        why = "报告照片由社会组织在提交自评前选择；审核人如需更换，请退回自评并写明意见"
    elif sub is not None and sub.state not in ("draft", "returned"):
        why = f"{sub.title}{sub.state_label}，不能再修改报告照片" + ("；如需修改，请审核人退回" if sub.state == "submitted" else "")
    else:
        why = ""
    return PhotoPage(kind, sub, options, not why, why)


def choose_report_photos(ws: Any, project: str, kind: str, photos: list[tuple[int, str | None]], *, actor: str,
                         role: str) -> SubmissionInfo:
    """``choose_photos`` for the project's ``kind`` self-assessment, opening it as a draft first if
    there is none yet (the web's 报告照片 page)."""
    _may_choose_photos(role)  # before a draft is opened for it
    kind = _report_kind(kind)
    sub = find_submission(ws, project, kind) or open_submission(ws, project, kind, actor=actor, role=role)
    return choose_photos(ws, sub.id, photos, actor=actor, role=role)


def transition(ws: Any, sub_id: int, action: str, *, actor: str, role: str, comment: str = "",
               kpi_comments: dict[str, str] | None = None, at: dt.datetime | None = None) -> SubmissionInfo:
    """Move a submission by ``action`` (submit, return, approve, unlock, relock), checked against ``ACTIONS``."""
    _check_role(role)
    act = ACTIONS.get(action)
    if act is None:
        raise TrackerError(f"没有操作 “{action}”：可用的操作为 {'、'.join(f'{k}（{a.label}）' for k, a in ACTIONS.items())}")
    if not actor or not actor.strip():
        raise TrackerError("请写明操作人")
    comment = (comment or "").strip()
    kpi_comments = {k: v.strip() for k, v in (kpi_comments or {}).items() if v and v.strip()}
    with ws.session() as s:
        sub = load_submission(s, sub_id)
        title = _info(sub).title
        if role not in act.roles:
            who = "、".join(label for r, label in ROLES.items() if r in act.roles)
            raise Forbidden(f"“{act.label}”只能由{who}操作，您的角色是{ROLES[role]}")
        if sub.state not in act.from_states:
            allowed = "、".join(label for x, label in STATES.items() if x in act.from_states)
            raise TrackerError(f"{title}目前{STATES[sub.state]}，不能“{act.label}”（只有{allowed}的报送可以）")
        if act.needs_comment and not comment and not kpi_comments:
            need = "解锁原因" if action == "unlock" else "退回意见（总体意见或逐项指标意见）"
            raise TrackerError(f"“{act.label}”必须写明{need}")
        if kpi_comments:
            ids = {ws.spec(sub.project_code).kpi_id(c, k) for c, k in ws.spec(sub.project_code).iter_kpis()}
            bad = [k for k in kpi_comments if k not in ids]
            if bad:
                raise TrackerError(f"项目 {sub.project_code} 没有指标 {'、'.join(bad)}")
        if action == "submit" and sub.kind in ("midterm", "final"):
            empty = [k for k in NARRATIVE_SECTIONS if not (sub.narrative or {}).get(k)]
            if empty:
                raise TrackerError(f"{title}还缺少栏目：{'、'.join(empty)}。请填写后再提交")
        if action == "unlock" and not sub.locked:
            raise TrackerError(f"{title}的记录没有锁定，无需解锁")
        if action == "relock" and (sub.locked or sub.kind == "month"):
            raise TrackerError(f"{title}的记录已经锁定" if sub.locked else "月度报送不锁定记录")
        before = sub.state
        now = at or utcnow()
        sub.state = act.to_state
        if action == "submit":
            sub.round += 1
            sub.submitted_at = now
        elif action == "approve":
            sub.approved_by, sub.approved_at = actor.strip(), now
            sub.locked = sub.kind in ("midterm", "final")
        elif action == "unlock":
            sub.locked = False
        elif action == "relock":
            sub.locked = True
        _event(s, sub, action, before, actor.strip(), role, comment, kpi_comments, now)
        s.commit()
        return _info(sub)


def submit(ws: Any, sub_id: int, *, actor: str, role: str = "operator", comment: str = "") -> SubmissionInfo:
    return transition(ws, sub_id, "submit", actor=actor, role=role, comment=comment)


def return_submission(ws: Any, sub_id: int, *, actor: str, role: str = "auditor", comment: str = "",
                      kpi_comments: dict[str, str] | None = None) -> SubmissionInfo:
    return transition(ws, sub_id, "return", actor=actor, role=role, comment=comment, kpi_comments=kpi_comments)


def approve(ws: Any, sub_id: int, *, actor: str, role: str = "auditor", comment: str = "",
            at: dt.datetime | None = None) -> SubmissionInfo:
    return transition(ws, sub_id, "approve", actor=actor, role=role, comment=comment, at=at)


def unlock(ws: Any, sub_id: int, *, actor: str, reason: str, role: str = "auditor") -> SubmissionInfo:
    return transition(ws, sub_id, "unlock", actor=actor, role=role, comment=reason)


def relock(ws: Any, sub_id: int, *, actor: str, role: str = "auditor", comment: str = "") -> SubmissionInfo:
    return transition(ws, sub_id, "relock", actor=actor, role=role, comment=comment)


# ---------------------------------------------------------------- the web's evaluation (review) pages

#: What each event of a submission's history is called on a page (the moves of ``ACTIONS`` and the edits).
EVENT_LABELS: dict[str, str] = {"create": "创建草稿", "edit": "修改", **{k: a.label for k, a in ACTIONS.items()}}


def stage(ws: Any, project: str, which: str) -> tuple[str, str | None]:
    """The submission a web address names: ``midterm``, ``final`` or a month ``YYYY-MM`` → (kind, period);
    a month outside the project's period, or anything else, is a Chinese ``NotFound``."""
    if which in ("midterm", "final"):
        return which, None
    if len(which) == 7 and which[4] == "-" and which[:4].isdigit() and which[5:].isdigit():
        try:
            _bounds(ws.spec(project), "month", which)
        except TrackerError as e:
            raise NotFound(e.message) from None
        return "month", which
    raise NotFound(f"没有 “{which}” 这一评估：应为 midterm（中期自评）、final（终期自评）或月份（如 2024-07）")


def _stage_title(kind: str, period: str | None) -> str:
    if kind == "month" and period:
        y, m = period.split("-")
        return f"{int(y)}年{int(m)}月月度报送"
    return KINDS[kind]


@dataclass(frozen=True)
class KpiComment:
    kpi_id: str
    label: str  # 第 2 条 探访对象人数
    text: str


@dataclass(frozen=True)
class EventView:
    """One line of a submission's history on a page: who did what, when, with which comments."""
    action: str
    label: str
    from_label: str
    to_label: str
    actor: str
    role_label: str
    comment: str
    kpi_comments: list[KpiComment]
    at: dt.datetime


@dataclass(frozen=True)
class Move:
    action: str
    label: str
    needs_comment: bool
    comment_label: str  # what the comment box is called (退回意见, 解锁原因, 备注)


@dataclass(frozen=True)
class ReviewPage:
    """What the web's evaluation page shows for one submission of a project (``review_page``)."""
    which: str
    kind: str
    period: str | None
    title: str
    period_start: dt.date
    period_end: dt.date
    submission: SubmissionInfo | None  # None: not opened yet (saving the narrative opens it)
    sections: list[tuple[str, str]]  # (section, text), in report order; monthly: none
    events: list[EventView]  # oldest first
    moves: list[Move]  # what ``role`` may do now, in ACTIONS order
    editable: bool  # may ``role`` write the narrative now
    why_not: str  # when not editable, why (Chinese)
    kpis: list[tuple[str, str]]  # (kpi id, label) for per-KPI return comments
    last_return: EventView | None  # the latest return, its comments for the NGO to fix

    @property
    def state_label(self) -> str:
        return self.submission.state_label if self.submission else "尚未开始填写"


def _kpi_labels(spec: Any) -> dict[str, str]:
    return {spec.kpi_id(c, k): f"第 {c.clause} 条 {k.label}" for c, k in spec.all_kpis()}


def review_page(ws: Any, project: str, which: str, role: str) -> ReviewPage:
    """The submission ``which`` (``stage``) of ``project`` as a page shows it to an account of ``role``:
    its state, narrative, history with per-KPI comments in Chinese, the moves ``ACTIONS`` lets the role
    make from the current state, and whether the role may write the narrative now (else why not)."""
    _check_role(role)
    kind, period = stage(ws, project, which)
    spec = ws.spec(project)
    _, start, end = _bounds(spec, kind, period)
    sub = find_submission(ws, project, kind, period)
    labels = _kpi_labels(spec)

    def view(e: EventInfo) -> EventView:
        return EventView(e.action, EVENT_LABELS.get(e.action, e.action), STATES.get(e.from_state, e.from_state),
                         STATES.get(e.to_state, e.to_state), e.actor, ROLES.get(e.role, e.role), e.comment,
                         [KpiComment(k, labels.get(k, k), v) for k, v in e.kpi_comments.items()], e.at)

    events = [view(e) for e in history(ws, sub.id)] if sub else []
    state = sub.state if sub else "draft"
    moves = []
    for name, act in ACTIONS.items():
        if role not in act.roles or state not in act.from_states:
            continue
        if name == "unlock" and not (sub and sub.locked):
            continue
        if name == "relock" and (sub is None or sub.locked or kind == "month"):
            continue
        moves.append(Move(name, act.label, act.needs_comment,
                          {"return": "退回意见", "unlock": "解锁原因"}.get(name, "备注（可不填）")))
    title = _stage_title(kind, period)
    if role not in ("operator", "admin"):
        why = "自评内容由社会组织填写；审核人如需修改，请退回并写明意见"
    elif state not in ("draft", "returned"):
        why = f"{title}{STATES[state]}，不能再修改自评内容" + ("；如需修改，请审核人退回" if state == "submitted" else "")
    else:
        why = ""
    narrative = sub.narrative if sub else {}
    sections = [(k, str(narrative.get(k) or "")) for k in NARRATIVE_SECTIONS] if kind != "month" else []
    returns = [e for e in events if e.action == "return"]
    return ReviewPage(which, kind, period, title, start, end, sub, sections, events, moves, not why, why,
                      [(spec.kpi_id(c, k), labels[spec.kpi_id(c, k)]) for c, k in spec.iter_kpis()],
                      returns[-1] if returns and state == "returned" else None)


def save_stage_narrative(ws: Any, project: str, which: str, sections: dict[str, str], *, actor: str,
                         role: str) -> SubmissionInfo:
    """``save_narrative`` for the submission ``which`` of ``project``, opening it as a draft first."""
    kind, period = stage(ws, project, which)
    if kind == "month":
        raise TrackerError("月度报送没有自评栏目：直接提交即可")
    sub = find_submission(ws, project, kind, period) or open_submission(ws, project, kind, period, actor=actor,
                                                                         role=role)
    return save_narrative(ws, sub.id, sections, actor=actor, role=role)


def move_stage(ws: Any, project: str, which: str, action: str, *, actor: str, role: str, comment: str = "",
               kpi_comments: dict[str, str] | None = None) -> SubmissionInfo:
    """``transition`` of the submission ``which`` of ``project``; a month's submission is opened by its
    first submit (it has no narrative), a mid-term/final one must have been written first."""
    kind, period = stage(ws, project, which)
    sub = find_submission(ws, project, kind, period)
    if sub is None:
        if action == "submit" and kind == "month":
            sub = open_submission(ws, project, kind, period, actor=actor, role=role)
        elif action == "submit":
            raise TrackerError(f"{_stage_title(kind, period)}尚未填写：请先填写并保存自评内容，再提交")
        else:
            raise TrackerError(f"{_stage_title(kind, period)}尚未提交，不能“{ACTIONS[action].label if action in ACTIONS else action}”")
    return transition(ws, sub.id, action, actor=actor, role=role, comment=comment, kpi_comments=kpi_comments)


def stages(ws: Any, project: str) -> list[tuple[str, str, str]]:
    """(which, title, state) of the project's mid-term and final self-assessments and of every month of
    its period, for the evaluation index page; a submission not opened yet is 尚未开始."""
    spec = ws.spec(project)
    subs = {(s.kind, s.period): s for s in list_submissions(ws, project)}
    out = []
    for kind in ("midterm", "final"):
        s = subs.get((kind, kind))
        out.append((kind, KINDS[kind], s.state_label if s else "尚未开始"))
    y, m = spec.project.period.start.year, spec.project.period.start.month
    end = spec.project.period.end
    while (y, m) <= (end.year, end.month):
        key = f"{y:04d}-{m:02d}"
        s = subs.get(("month", key))
        out.append((key, _stage_title("month", key), s.state_label if s else "尚未报送"))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
