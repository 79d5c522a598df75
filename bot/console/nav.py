"""The console's navigation: which pages each role sees.

Pages added later (supervisor dashboard, admin, campaigns) add their link here; the base
template shows what this returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storage.police import UnlockedOfficer

__all__ = ["CASEWORK_ROLES", "NavLink", "navigation", "sees_everyone"]

# Roles that work on tips (a communicator works on campaigns only).
CASEWORK_ROLES = frozenset({"officer", "supervisor", "admin"})


@dataclass(frozen=True, slots=True)
class NavLink:
    path: str
    label: str
    current: bool


def sees_everyone(officer: UnlockedOfficer) -> bool:
    """Supervisors and admins read every officer's actions in the audit log."""
    return officer.role in ("supervisor", "admin")


def navigation(
    _: Callable[[str], str], officer: UnlockedOfficer, current_path: str
) -> list[NavLink]:
    """The links an officer sees, in order, in their language."""
    links: list[tuple[str, str]] = []
    if officer.role in CASEWORK_ROLES:
        links.append(("/console/", _("Tips")))
    links.append(("/console/audit", _("Audit log") if sees_everyone(officer) else _("My actions")))
    return [
        NavLink(
            path=path,
            label=label,
            current=current_path == path
            or (path == "/console/" and current_path.startswith("/console/tips")),
        )
        for path, label in links
    ]
