"""Least-privilege PostgreSQL roles: one for the bot, one for the console.

The internet-facing bot (webhooks, web chat, scheduler, broadcaster) files sealed tips with
public keys; it needs no officer, no key row it could change and no queue's
``recovery_wrap``. The console and ``/api/v1`` open tips with officers' keys and need what
casework, accounts, administration and campaigns touch, but never conversation state. Each
role gets exactly what :data:`BOT` and :data:`CONSOLE` list: a stolen bot password cannot
rewrite a queue's public key so that new tips are sealed for an attacker, nor read an
officer's locked private key.

Column lists are read from the live schema, so a column added by a later migration (the
certificates of ``queues`` and ``recovery_keys``) is granted where the whole table is, and a
table's deny-list (``queues.recovery_wrap``) stays denied. Grants are replaced, not added
to, on every run: :func:`apply_roles` is idempotent and must be re-run after each
``tipline db upgrade`` so new tables and columns are granted. Run it as the database owner
(the user migrations run as).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database

__all__ = [
    "BOT",
    "CONSOLE",
    "Grant",
    "GrantedTable",
    "RoleError",
    "apply_roles",
    "check_role_name",
    "drop_role",
]

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class RoleError(Exception):
    """The roles cannot be set up as asked (not PostgreSQL, a bad or reserved name)."""


@dataclass(frozen=True, slots=True)
class Grant:
    """One privilege on a table: on every column (``columns`` None) but ``except_``, or on
    the named ``columns`` only."""

    privilege: str
    columns: tuple[str, ...] | None = None
    except_: tuple[str, ...] = ()


def _all(*privileges: str) -> list[Grant]:
    return [Grant(privilege) for privilege in privileges]


READ_WRITE = _all("SELECT", "INSERT", "UPDATE", "DELETE")

BOT: Mapping[str, Sequence[Grant]] = {
    # The bot checks the schema is at head instead of migrating.
    "alembic_version": _all("SELECT"),
    "installation": _all("SELECT"),
    # Public halves only; never a key row it could change.
    "queues": [Grant("SELECT", except_=("recovery_wrap",))],
    "recovery_keys": _all("SELECT"),
    "tips": [
        *_all("SELECT", "INSERT"),
        Grant("UPDATE", ("unread_for_police", "unread_for_reporter")),
    ],
    # The id an INSERT returns is all it reads back.
    "tip_attachments": [Grant("INSERT"), Grant("SELECT", ("id",))],
    "tip_messages": _all("SELECT", "INSERT"),
    "conversation_states": READ_WRITE,
    "draft_attachments": READ_WRITE,
    "throttles": READ_WRITE,
    "subscribers": READ_WRITE,
    "deliveries": READ_WRITE,
    "campaigns": _all("SELECT"),
    # What the scheduler moves: a message's state and its next occurrence.
    "campaign_messages": [
        Grant("SELECT"),
        Grant("UPDATE", ("state", "due_at", "occurrence", "updated_at")),
    ],
}

CONSOLE: Mapping[str, Sequence[Grant]] = {
    "alembic_version": _all("SELECT"),
    "installation": _all("SELECT"),
    "officers": _all("SELECT", "INSERT", "UPDATE"),
    "queue_members": READ_WRITE,
    "queues": _all("SELECT", "INSERT", "UPDATE"),
    "recovery_keys": _all("SELECT"),
    # Triage, forwarding, escalation and key rotation; never the sealed content or the
    # reporter's receipt tag, never a new or deleted tip.
    "tips": [
        Grant("SELECT"),
        Grant(
            "UPDATE",
            (
                "queue_id",
                "status",
                "key_wraps",
                "unread_for_police",
                "unread_for_reporter",
                "acknowledged_at",
                "escalated_at",
                "disposition",
                "outcome",
            ),
        ),
    ],
    "tip_attachments": _all("SELECT"),
    "tip_messages": [*_all("SELECT", "INSERT"), Grant("UPDATE", ("key_wraps",))],
    "tip_notes": [*_all("SELECT", "INSERT"), Grant("UPDATE", ("key_wraps",))],
    # Append-only: the chain is extended, never rewritten.
    "audit_events": _all("SELECT", "INSERT"),
    "api_tokens": _all("SELECT", "INSERT", "UPDATE"),
    "campaigns": _all("SELECT", "INSERT", "UPDATE"),
    "campaign_messages": _all("SELECT", "INSERT", "UPDATE"),
    "deliveries": _all("SELECT", "INSERT", "UPDATE"),
    # Figures and audiences; not where to reach anyone.
    "subscribers": [Grant("SELECT", except_=("address", "lookup"))],
}


@dataclass(frozen=True, slots=True)
class GrantedTable:
    """What one role was granted on one table, for the operator to read."""

    role: str
    table: str
    privileges: list[str]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_role_name(name: str) -> str:
    """``name`` if it is a plain lower-case PostgreSQL identifier; RoleError otherwise."""
    if not ROLE_NAME.fullmatch(name) or name.startswith("pg_"):
        raise RoleError(f"{name!r} is not a usable role name (a-z, 0-9, _; not pg_…)")
    return name


async def _columns(connection: AsyncConnection) -> dict[str, list[str]]:
    rows = await connection.execute(
        text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
    )
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(str(table), []).append(str(column))
    return tables


async def _sequences(connection: AsyncConnection, table: str, columns: list[str]) -> list[str]:
    found = []
    for column in columns:
        sequence = await connection.scalar(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": _ident(table), "column": column},
        )
        if sequence:
            found.append(str(sequence))
    return found


def _statements(
    role: str, table: str, grants: Sequence[Grant], columns: list[str]
) -> tuple[list[str], list[str]]:
    statements, shown = [], []
    for grant in grants:
        if grant.columns is None and not grant.except_:
            statements.append(f"GRANT {grant.privilege} ON {_ident(table)} TO {_ident(role)}")
            shown.append(grant.privilege)
            continue
        wanted = grant.columns if grant.columns is not None else columns
        chosen = [c for c in wanted if c in columns and c not in grant.except_]
        if not chosen:
            continue
        listed = ", ".join(_ident(c) for c in chosen)
        statements.append(
            f"GRANT {grant.privilege} ({listed}) ON {_ident(table)} TO {_ident(role)}"
        )
        shown.append(f"{grant.privilege} ({', '.join(chosen)})")
    return statements, shown


async def _apply_role(
    connection: AsyncConnection,
    role: str,
    policy: Mapping[str, Sequence[Grant]],
    tables: dict[str, list[str]],
    *,
    login: bool,
) -> list[GrantedTable]:
    exists = await connection.scalar(
        text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
    )
    quoted = _ident(role)
    if not exists:
        await connection.execute(text(f"CREATE ROLE {quoted} NOLOGIN"))
    # Whatever the role was before, it is an ordinary one now.
    attributes = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    await connection.execute(text(f"ALTER ROLE {quoted} {attributes}{' LOGIN' if login else ''}"))
    schema = _ident(str(await connection.scalar(text("SELECT current_schema()"))))
    database = _ident(str(await connection.scalar(text("SELECT current_database()"))))
    # Replace, never accumulate: column grants go with their table's REVOKE ALL.
    for statement in (
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {quoted}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {quoted}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM {quoted}",
        f"GRANT USAGE ON SCHEMA {schema} TO {quoted}",
        f"GRANT CONNECT ON DATABASE {database} TO {quoted}",
    ):
        await connection.execute(text(statement))
    granted = []
    for table, grants in policy.items():
        columns = tables.get(table)
        if columns is None:
            continue
        statements, shown = _statements(role, table, grants, columns)
        if any(g.privilege == "INSERT" for g in grants):
            for sequence in await _sequences(connection, table, columns):
                statements.append(f"GRANT USAGE ON SEQUENCE {sequence} TO {quoted}")
        for statement in statements:
            await connection.execute(text(statement))
        if shown:
            granted.append(GrantedTable(role, table, shown))
    return granted


async def apply_roles(
    db: Database, *, bot: str, console: str, login: bool = False
) -> list[GrantedTable]:
    """Create or update the bot and console roles and grant each its privileges, in one
    transaction; what was granted. ``login`` lets them log in (set their passwords apart)."""
    if db.is_sqlite:
        raise RoleError("database roles need PostgreSQL; SQLite has no users")
    names = (check_role_name(bot), check_role_name(console))
    if bot == console:
        raise RoleError("the bot and the console need two different roles")
    async with db.engine.begin() as connection:
        owner = str(await connection.scalar(text("SELECT current_user")))
        if owner in names:
            raise RoleError(
                f"{owner!r} runs this command and owns the tables: choose other role names"
            )
        tables = await _columns(connection)
        granted = await _apply_role(connection, bot, BOT, tables, login=login)
        granted += await _apply_role(connection, console, CONSOLE, tables, login=login)
    return granted


async def drop_role(db: Database, role: str) -> None:
    """Remove a role's privileges in this database, then the role itself (when it holds
    nothing in another database)."""
    quoted = _ident(check_role_name(role))
    async with db.engine.begin() as connection:
        if await connection.scalar(
            text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
        ):
            await connection.execute(text(f"DROP OWNED BY {quoted}"))
            await connection.execute(text(f"DROP ROLE {quoted}"))
