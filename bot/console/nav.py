"""The console's navigation: which pages each role sees.

Pages added later (supervisor dashboard, admin, campaigns) add their link here; the base
template shows what this returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storage.police import UnlockedOfficer

__all__ = [
    "ADMIN_ROLES",
    "CAMPAIGN_ROLES",
    "CASEWORK_ROLES",
    "DASHBOARD_ROLES",
    "REPORT_ROLES",
    "NavLink",
    "home_province",
    "navigation",
    "sees_everyone",
]

# Roles that work on tips (a communicator works on campaigns only).
CASEWORK_ROLES = frozenset({"officer", "supervisor", "admin"})
# Roles that read the province's figures, and that manage its accounts and queues.
DASHBOARD_ROLES = frozenset({"supervisor", "admin"})
ADMIN_ROLES = frozenset({"admin"})
# Roles that plan and watch awareness campaigns, and that read the month-end report.
CAMPAIGN_ROLES = frozenset({"communicator", "admin"})
REPORT_ROLES = frozenset({"supervisor", "communicator", "admin"})


@dataclass(frozen=True, slots=True)
class NavLink:
    path: str
    label: str
    current: bool


def sees_everyone(officer: UnlockedOfficer) -> bool:
    """Supervisors and admins read every officer's actions in the audit log."""
    return officer.role in ("supervisor", "admin")


def home_province(officer: UnlockedOfficer) -> int | None:
    """The province whose figures, accounts and audit events a supervisor or admin sees:
    the account's own, else (an account made without one, by the command line) the
    province of the one province queue it belongs to. None when neither says."""
    if officer.province_code is not None:
        return officer.province_code
    provinces = set(officer.province_queues)
    return provinces.pop() if len(provinces) == 1 else None


def navigation(
    _: Callable[[str], str], officer: UnlockedOfficer, current_path: str
) -> list[NavLink]:
    """The links an officer sees, in order, in their language."""
    links: list[tuple[str, str]] = []
    if officer.role in CASEWORK_ROLES:
        links.append(("/console/", _("Tips")))
    if officer.role in DASHBOARD_ROLES:
        links.append(("/console/dashboard", _("Dashboard")))
    if officer.role in CAMPAIGN_ROLES:
        links.append(("/console/campaigns", _("Campaigns")))
    if officer.role in REPORT_ROLES:
        links.append(("/console/reports", _("Month-end report")))
    links.append(("/console/audit", _("Audit log") if sees_everyone(officer) else _("My actions")))
    if officer.role in ADMIN_ROLES:
        links.append(("/console/admin/officers", _("Accounts")))
        links.append(("/console/admin/queues", _("Queues")))
    return [
        NavLink(
            path=path,
            label=label,
            current=current_path == path
            or (path == "/console/" and current_path.startswith("/console/tips"))
            or (path != "/console/" and current_path.startswith(path + "/")),
        )
        for path, label in links
    ]
