"""Alembic, run programmatically: each service keeps its migrations in ``<service>/migrations``
(an ``env.py`` that calls :func:`run_env` and a ``versions/`` folder). Migrations run in a
pre-start step (``python -m <service> migrate``), never at import time."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy.engine import Connection

from shared_kernel.db import async_url, create_engine


def upgrade(database_url: str, migrations_dir: Path, revision: str = "head") -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", async_url(database_url).replace("%", "%%"))
    command.upgrade(config, revision)


def run_env() -> None:
    """The body of every service's ``env.py``: online migrations over asyncpg."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is set by shared_kernel.migrations.upgrade"

    def _migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()

    async def _run() -> None:
        engine = create_engine(url, pool_size=1)
        async with engine.connect() as conn:
            await conn.run_sync(_migrate)
            await conn.commit()
        await engine.dispose()

    asyncio.run(_run())
