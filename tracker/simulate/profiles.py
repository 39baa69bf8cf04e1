"""How a simulated project behaves: on pace, behind, or on pace with rule violations.

The assignment depends only on the project code (a SHA-256 of it, never Python's salted ``hash``),
so every run, machine and seed gives the same projects the same profile.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str  # on_pace | behind | violations
    pace: float  # volume over the whole period relative to the targets
    satisfaction: float  # share of satisfied survey answers
    violations: bool  # inject rule breaches (event under minimum, activity before approval …)
    per_type_approvals: bool  # approvals per activity type instead of one plan covering all
    label: str

    @property
    def thin(self) -> float:
        """Share of person-serving records kept (behind projects skip visits)."""
        return min(1.0, self.pace)


ON_PACE = Profile("on_pace", 1.08, 0.94, False, False, "进度正常")
BEHIND = Profile("behind", 0.74, 0.90, False, False, "进度滞后")
BEHIND_UNHAPPY = Profile("behind_unhappy", 0.76, 0.78, False, True, "进度滞后且满意度偏低")
VIOLATIONS = Profile("violations", 1.06, 0.92, True, True, "有违规记录")

PROFILES: dict[str, Profile] = {p.name: p for p in (ON_PACE, BEHIND, BEHIND_UNHAPPY, VIOLATIONS)}

# A few projects whose rules make the breaches visible (a per-person cap, a credential for staff
# working with children, approval gates) always carry violations, so the demo shows each kind.
_FIXED: dict[str, str] = {
    "2024B001": "violations",  # 单个服务对象体验不多于2次：one person over the cap
    "2024A002A": "violations",  # 无犯罪记录证明：one staff member without it
    "2024B004C": "violations",  # approval gate: a visit before the approval
    "2024B004D": "behind",
    "2024C002B": "behind_unhappy",
}


def profile_for(code: str) -> Profile:
    """The profile of a project, fixed by its code: about 60% on pace, 25% behind, 15% violations."""
    if code in _FIXED:
        return PROFILES[_FIXED[code]]
    h = hashlib.sha256(f"sim:{code}".encode()).digest()[0] % 20
    if h < 13:
        return ON_PACE
    if h < 17:
        return BEHIND if h < 16 else BEHIND_UNHAPPY
    return VIOLATIONS
