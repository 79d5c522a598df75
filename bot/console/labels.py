"""Words for the stored codes of a tip, in the officer's language."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["audit_actions", "dispositions", "roles", "statuses", "when_label"]

Gettext = Callable[[str], str]


def statuses(_: Gettext) -> dict[str, str]:
    """Status codes in their order of work (new → in review → actioned / closed)."""
    return {
        "new": _("New"),
        "in_review": _("In review"),
        "actioned": _("Actioned"),
        "closed": _("Closed"),
    }


def dispositions(_: Gettext) -> dict[str, str]:
    return {
        "confirmed": _("Confirmed"),
        "already_known": _("Already known"),
        "unfounded": _("Unfounded"),
        "prank": _("Prank or spam"),
        "out_of_jurisdiction": _("Out of jurisdiction"),
    }


def when_label(_: Gettext, key: str | None) -> str:
    """What the reporter chose for "when" (the same words the bot showed them)."""
    labels = {
        "now": _("Happening now"),
        "today": _("Earlier today"),
        "earlier": _("Before today"),
        "recurring": _("It happens regularly"),
    }
    return labels.get(key or "", "—")


def audit_actions(_: Gettext) -> dict[str, str]:
    """Names of the audit log's actions; an action missing here shows as its code."""
    return {
        "login": _("Signed in"),
        "login_failed": _("Failed sign-in"),
        "logout": _("Signed out"),
        "expired": _("Session expired"),
        "totp_enrolled": _("Set up two-step login"),
        "open": _("Opened a tip"),
        "photo": _("Viewed a photo"),
        "ask": _("Asked the reporter"),
        "status": _("Changed the status"),
        "outcome": _("Recorded the outcome"),
        "note": _("Added a note"),
        "forward": _("Forwarded a tip"),
        "escalate": _("Escalated to the province"),
        "token_created": _("Created an API token"),
        "token_revoked": _("Revoked an API token"),
        "key_rotate": _("Changed a queue's keys"),
        "session_ended": _("Session ended by an administrator"),
        "audit_verified": _("Verified the audit log"),
        "queue_created": _("Created a queue"),
        "account_created": _("Created an account"),
        "queue_granted": _("Added to a queue"),
        "queue_revoked": _("Removed from a queue"),
        "account_deactivated": _("Deactivated an account"),
        "account_reactivated": _("Reactivated an account"),
        "totp_reset": _("Reset a two-step login"),
        "account_unlocked": _("Unlocked an account"),
        "campaign_send_now": _("Sent a campaign message now"),
        "campaign_pause": _("Paused a campaign message"),
        "campaign_resume": _("Resumed a campaign message"),
        "campaign_cancel": _("Cancelled a campaign message"),
        "campaign_message_saved": _("Saved a campaign message"),
        "campaign_loaded": _("Loaded a campaign file"),
        "report_export": _("Exported a month-end report"),
    }


def roles(_: Gettext) -> dict[str, str]:
    """Names of the console roles, in the order of ``storage.police.ROLES``."""
    return {
        "officer": _("Officer"),
        "supervisor": _("Supervisor"),
        "communicator": _("Communicator"),
        "admin": _("Administrator"),
    }
