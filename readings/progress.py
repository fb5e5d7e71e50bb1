"""Progress of a long import, written where the portal can see it while the import runs.

The import is one transaction (all-or-nothing), so progress written inside it would be
invisible until the end. ``ProgressWriter`` uses a second, autocommit connection. Its
writes are best-effort: a short ``lock_timeout`` means it never waits on the import's own
locks (which would deadlock the worker against itself); a skipped update only makes the
bar jump further next time.
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError, connections

log = logging.getLogger(__name__)
MIN_INTERVAL_S = 0.5


class ProgressWriter:
    def __init__(self, upload_id: int):
        self.upload_id = upload_id
        self.conn = None
        self.last = 0.0

    def __enter__(self) -> ProgressWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            self.conn.close()

    def update(self, rows_done: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < MIN_INTERVAL_S:
            return
        self.last = now
        try:
            if self.conn is None:
                self.conn = connections.create_connection("default")
                with self.conn.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '200ms'")
            with self.conn.cursor() as cursor:
                cursor.execute(
                    "UPDATE readings_upload SET rows_done = %s "
                    "WHERE id = %s AND status = 'processing'",
                    [rows_done, self.upload_id],
                )
        except DatabaseError as exc:  # best-effort by design (see module docstring)
            log.info("progress update of upload %s skipped: %s", self.upload_id, exc)
