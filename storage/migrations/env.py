"""Alembic environment.

The application runs migrations on its own connection (``Database.upgrade``), passed in
``config.attributes["connection"]``. Run from the ``alembic`` command line, the URL comes
from ``-x url=...`` or the application's settings (``TIPLINE_DATABASE_URL`` or the
default SQLite file).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from storage.models import Base

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_settings() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url is None:
        from bot.config import load_settings

        url = load_settings().sqlalchemy_url()
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


shared = context.config.attributes.get("connection")
if shared is not None:
    run_on(shared)
else:
    asyncio.run(run_from_settings())
