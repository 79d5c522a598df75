"""Demo data: Hà Nội's recovery key, three queues, an officer, a supervisor and an admin.

The credentials are written to ``data_dir/demo-credentials.json`` so that running the
demo again prints the same ones. Never use the demo data directory in production.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from bot.bootstrap import bootstrap
from bot.config import Settings
from storage import sealing
from storage.police import queue_name

__all__ = ["DEMO_ACCOUNTS", "DEMO_COMMUNES", "DEMO_PROVINCE", "prepare"]

DEMO_PROVINCE = 1  # Thành phố Hà Nội
DEMO_COMMUNES = (4, 70)  # Phường Ba Đình, Phường Hoàn Kiếm
# username, display name, role, queues (None = the province queue)
DEMO_ACCOUNTS = (
    ("canbo.demo", "Cán bộ Công an phường (demo)", "officer", DEMO_COMMUNES),
    ("giamsat.demo", "Giám sát cấp tỉnh (demo)", "supervisor", (None,)),
    ("quantri.demo", "Quản trị (demo)", "admin", (None, *DEMO_COMMUNES)),
)


async def prepare(settings: Settings) -> dict[str, Any]:
    """Create the demo queues and accounts if missing; returns what to print."""
    path = settings.data_dir / "demo-credentials.json"
    if path.exists():
        saved: dict[str, Any] = json.loads(path.read_text())
        return saved
    app = await bootstrap(settings)
    try:
        province = app.directory.province(DEMO_PROVINCE)
        assert province is not None
        recovery_passphrase = secrets.token_urlsafe(12)
        recovery = await app.police.create_recovery_key(DEMO_PROVINCE)
        recovery_file = settings.data_dir / f"demo-recovery-{DEMO_PROVINCE:02d}.key"
        recovery_file.write_text(
            sealing.export_recovery_key(
                recovery, recovery_passphrase, settings.kdf(), f"Demo, {province.name}"
            )
        )
        accounts = []
        members = {}
        for username, display, role, queues in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(9)
            officer = await app.police.add_officer(
                username, display, password, role=role, province_code=DEMO_PROVINCE
            )
            members[username] = (officer.id, queues)
            accounts.append({"role": role, "username": username, "password": password})
        names = []
        for commune_code in (None, *DEMO_COMMUNES):
            commune = app.directory.commune(commune_code) if commune_code else None
            name = queue_name(province, commune)
            queue, private = await app.police.create_queue(DEMO_PROVINCE, commune_code, name)
            for officer_id, queues in members.values():
                if commune_code in queues:
                    await app.police.grant(queue.id, officer_id, private)
            names.append(name)
    finally:
        await app.close()
    credentials = {
        "province": province.name,
        "queues": names,
        "accounts": accounts,
        "recovery_file": str(recovery_file),
        "recovery_passphrase": recovery_passphrase,
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(credentials, ensure_ascii=False, indent=2))
    return credentials
