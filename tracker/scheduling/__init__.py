"""Scheduled emails: monthly progress per project, the mid-term and final reports on their
dates and the bureau's monthly digest, driven by an outbox so that nothing goes missing or goes twice.

- ``tick(ws, as_of)`` plans everything due into the outbox and sends what is owed (idempotent).
- ``run_scheduler(ws)`` runs APScheduler whose jobs call ``tick`` (``tracker schedule run``).
- ``tracker.scheduling.contacts``: who receives what (``tracker contacts …``).
"""

from __future__ import annotations

from tracker.scheduling.tick import OutboxRow, plan, tick

__all__ = ["OutboxRow", "plan", "run_scheduler", "tick"]


def run_scheduler(ws, **kwargs):  # type: ignore[no-untyped-def]
    """See ``tracker.scheduling.service.run_scheduler``."""
    from tracker.scheduling.service import run_scheduler as run

    return run(ws, **kwargs)
