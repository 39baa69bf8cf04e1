"""What ``tracker spec validate`` reports: the specs loaded, per programme the checks that ran,
the numbers no KPI accounts for, and the drafted KPIs still to review."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tracker.kpispec.coverage import uncovered
from tracker.kpispec.loader import LoadedSpec, load_specs
from tracker.kpispec.release_check import ProgrammeReport, checks_run, release_project


@dataclass
class ValidationReport:
    loaded: list[LoadedSpec]
    programmes: list[ProgrammeReport]
    gaps: list[str] = field(default_factory=list)
    drafts: list[tuple[str, str, str]] = field(default_factory=list)  # (kpi id, label, reason)

    @property
    def n_projects(self) -> int:
        return len(self.loaded)

    @property
    def n_kpis(self) -> int:
        return sum(len(ls.spec.iter_kpis()) for ls in self.loaded)

    def programme_lines(self) -> list[str]:
        """One line per programme: how many specs, which checks ran, which did not and why."""
        out: list[str] = []
        for p in self.programmes:
            head = f"计划 {p.title}" if p.directory else "未归属任何计划的规格（没有 programme.yaml，编号也不符合已知计划）"
            line = f"{head}：{len(p.codes)} 个项目；已核对：{'、'.join(p.checks) or '无'}"
            if p.skipped:
                line += f"；未核对：{'、'.join(p.skipped)}"
            out.append(line)
        return out

    def draft_lines(self) -> list[str]:
        if not self.drafts:
            return []
        out = [f"待复核的起草指标 {len(self.drafts)} 个（复核后删去 draft 字段）："]
        out += [f"  - {kid} {label}：{reason}" for kid, label, reason in self.drafts]
        return out


def validation_report(directory: Path, db_url: str | None = None) -> ValidationReport:
    """Load and check every spec under ``directory``: the coverage gaps against the release tables,
    the drafted KPIs, and (with ``db_url``) that no judgement or note in that database names a KPI
    the specs no longer have, which raises ``TrackerError`` listing each."""
    loaded = load_specs(directory)
    if db_url:
        from tracker.errors import TrackerError
        from tracker.kpispec.history import orphans_in

        lost = orphans_in(db_url, [ls.spec for ls in loaded])
        if lost:
            raise TrackerError(f"规格与数据库中的历史记录不一致（{len(lost)} 处），未通过校验：\n"
                               + "\n".join(f"  - {x}" for x in lost))
    report = ValidationReport(loaded, checks_run(loaded, directory))
    for ls in loaded:
        _prog, rp = release_project(ls.spec, ls.path, directory)
        if rp is not None:
            report.gaps.extend(uncovered(ls.spec, rp))
        for clause, kpi in ls.spec.iter_kpis():
            if kpi.draft:
                report.drafts.append((ls.spec.kpi_id(clause, kpi), kpi.label, kpi.draft_reason or kpi.draft))
    return report
