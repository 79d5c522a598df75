"""The roles a ``tipline serve`` process can take, and what the bot role refuses to hold.

- ``bot``: the internet-facing process. Webhooks, the web chat, the campaign scheduler and
  broadcaster, purging abandoned drafts. It seals with public keys and never unlocks a private
  key: the console and ``/api/v1`` are not imported, no password ever reaches it, and it
  refuses to start when private key material is within its reach.
- ``console``: the police console and ``/api/v1``, for the police network only; escalation of
  tips nobody acknowledged. Officers' keys are unlocked here, in memory, per session.
- ``all``: both in one process, for the demo and small sites. An attacker who takes the
  web chat then also takes the keys of every officer signed in: documented as the weaker
  setup (docs/console.md, "Production layout").
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = [
    "BOT_FORBIDDEN_MODULES",
    "ROLES",
    "Role",
    "RoleError",
    "private_material",
    "refuse_private_material",
]

Role = Literal["all", "bot", "console"]
ROLES: tuple[Role, ...] = get_args(Role)

# Modules that unlock private keys or serve the police: a bot-role process never imports them.
BOT_FORBIDDEN_MODULES = (
    "bot.console",
    "bot.api_v1",
    "storage.police",
    "storage.accounts",
    "storage.admin",
    "storage.casework",
    "storage.reports",
)

# Settings that point at private key material: only the console role and the CLI use them.
PRIVATE_SETTINGS = ("signing_key_file",)
# Files in the data directory that hold private keys or passwords.
PRIVATE_FILES = ("signing.key", "demo-credentials.json")
# Recovery key armor, and PEM private keys (the signing key file) under any name.
PRIVATE_PREFIXES = (b"-----BEGIN TIPLINE", b"-----BEGIN PRIVATE KEY", b"-----BEGIN ENCRYPTED")
SCAN_LIMIT = 10_000  # files looked at in the data directory


class RoleError(Exception):
    """A process was asked for something its role does not do, or cannot start in its role."""


def private_material(settings: Settings) -> list[str]:
    """What a bot-role process could reach that holds private keys: settings and files."""
    found = [
        f"TIPLINE_{name.upper()}"
        for name in PRIVATE_SETTINGS
        if getattr(settings, name, None) is not None
    ]
    found.extend(str(path) for path in _private_files(settings.data_dir))
    return found


def _private_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    found = []
    for count, path in enumerate(sorted(directory.rglob("*"))):
        if count >= SCAN_LIMIT:
            break
        if not path.is_file():
            continue
        if path.name in PRIVATE_FILES:
            found.append(path)
            continue
        try:
            with path.open("rb") as file:
                head = file.read(32)
        except OSError:
            continue
        if head.startswith(PRIVATE_PREFIXES):
            found.append(path)
    return found


def refuse_private_material(settings: Settings) -> None:
    """Raise :class:`RoleError` when a bot-role process could reach private key material."""
    found = private_material(settings)
    if found:
        raise RoleError(
            "the bot role must not hold private keys, but these are within its reach: "
            + ", ".join(found)
            + ". Move key files off this machine (keep recovery keys offline; the signing key "
            "belongs to the console role) and unset those settings."
        )
