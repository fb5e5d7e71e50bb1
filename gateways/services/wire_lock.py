"""One conversation with a gateway at a time, across every process.

Gateways mix up concurrent Modbus TCP sessions (answers go to the wrong connection, or the
second connection is refused), so within a poll each gateway has one connection and its
requests in series. Between processes it is this lock: a scheduled poll, a "Poll now"
queued on another worker and a relay command from the portal each take the gateway's
PostgreSQL advisory lock before they open a connection, and wait for it (briefly) if
someone else is talking to it.

Session-level advisory locks, not transaction-level ones: no transaction is held open
across network I/O. They are released in ``finally``, and by PostgreSQL if the process
dies (its connection closes). Callers take them outside transactions (Celery tasks, the
portal's requests: ``ATOMIC_REQUESTS`` is off): inside one that breaks, the unlock cannot
run and the lock lasts as long as the connection. Behind a pooler in transaction mode
(pgbouncer) session locks do not work; point the workers at PostgreSQL or use session
pooling. The lock's second key is an int4, so ids are taken modulo 2³¹ − 1 (two gateways
sharing a key only wait for each other).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import Error, connection

from billspree.core.errors import Conflict

log = logging.getLogger(__name__)

#: First key of the two-key advisory lock: the gateways' namespace ("gw").
LOCK_SPACE = 0x6777
#: How long a relay command or a single gateway's poll waits for another conversation to
#: end (a poll of 100 meters on a slow bus takes seconds; a relay command, one request).
WAIT_S = 30.0
_STEP_S = 0.05


class GatewayBusy(Conflict):
    """Another process is talking to the gateway and did not finish in time."""


def _try(ids: list[int]) -> set[int]:
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT g FROM unnest(%s::bigint[]) AS g "
            "WHERE pg_try_advisory_lock(%s, (g %% 2147483647)::int)",
            [ids, LOCK_SPACE],
        )
        return {g for (g,) in cursor.fetchall()}


def _release(ids: Iterable[int]) -> None:
    """Unlock; if the connection cannot (a broken transaction, a lost server), close it
    outside a transaction, which releases its locks too: a lock left held on a worker's
    persistent connection would keep the gateway busy for good."""
    ids = list(ids)
    if not ids or connection.connection is None:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s, (g %% 2147483647)::int) "
                "FROM unnest(%s::bigint[]) g",
                [LOCK_SPACE, ids],
            )
    except Error:  # also a connection already closed (InterfaceError)
        log.warning("could not release the wire locks of gateways %s", ids, exc_info=True)
        if not connection.in_atomic_block:
            connection.close()


@contextmanager
def gateways_locked(gateway_ids: Iterable[int], *, wait_s: float = WAIT_S) -> Iterator[set[int]]:
    """Take the wire locks of these gateways, waiting up to ``wait_s`` for busy ones;
    yields the ids it holds (those still busy after the wait are left out: the caller
    decides what that means) and releases them on exit."""
    wanted = sorted(set(gateway_ids))
    held: set[int] = set()
    try:
        deadline = time.monotonic() + wait_s
        while True:
            held |= _try([g for g in wanted if g not in held])
            if len(held) == len(wanted) or time.monotonic() >= deadline:
                break
            time.sleep(_STEP_S)
        yield held
    finally:
        _release(held)


@contextmanager
def gateway_locked(gateway_id: int, *, wait_s: float = WAIT_S) -> Iterator[None]:
    """One gateway's wire lock, or :class:`GatewayBusy` after ``wait_s``."""
    with gateways_locked([gateway_id], wait_s=wait_s) as held:
        if gateway_id not in held:
            raise GatewayBusy(
                "The gateway is busy: a poll or another relay command is talking to it. "
                "Try again in a moment.",
                code="gateway_busy",
            )
        yield
