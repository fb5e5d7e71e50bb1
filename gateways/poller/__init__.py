"""The Modbus wire: an asyncio poller with no database access.

:mod:`~gateways.poller.targets` says what to read and holds what came back;
:mod:`~gateways.poller.wire` talks to gateways (one serialized, retried connection each,
registers read in as few requests as possible, many gateways at once);
:mod:`~gateways.poller.stream` hands that work to synchronous callers (:class:`PollStream`,
:func:`run_sync`). Import from here (``from gateways import poller``).

Services turn :class:`TargetResult` into readings, errors and health (``gateways.services``).
"""

from gateways.poller.stream import PollStopped, PollStream, StreamItem, run_sync
from gateways.poller.targets import (
    MAX_REGISTERS,
    SKIPPED,
    Block,
    Failure,
    Item,
    ItemResult,
    ItemSink,
    Target,
    TargetResult,
    plan_blocks,
)
from gateways.poller.wire import (
    ABORT_AFTER,
    BACKOFF_BASE_S,
    BACKOFF_MAX_S,
    EXCEPTION_NAMES,
    RETRYABLE_EXCEPTIONS,
    Session,
    poll_many,
    poll_target,
    read_point_target,
    write_target,
)

__all__ = [
    "ABORT_AFTER",
    "BACKOFF_BASE_S",
    "BACKOFF_MAX_S",
    "EXCEPTION_NAMES",
    "MAX_REGISTERS",
    "RETRYABLE_EXCEPTIONS",
    "SKIPPED",
    "Block",
    "Failure",
    "Item",
    "ItemResult",
    "ItemSink",
    "PollStopped",
    "PollStream",
    "Session",
    "StreamItem",
    "Target",
    "TargetResult",
    "plan_blocks",
    "poll_many",
    "poll_target",
    "read_point_target",
    "run_sync",
    "write_target",
]
