"""The wire for synchronous callers.

* :class:`PollStream` runs :func:`poll_many` on a thread of its own and hands each block's
  results to the calling thread as they come, so the caller stores values while later
  gateways are still on the wire.
* :func:`run_sync` runs one coroutine (a relay write) from a Celery task, a view or a
  command, also when that thread already runs an event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from gateways.poller.targets import ItemResult, Target, TargetResult
from gateways.poller.wire import poll_many

T = TypeVar("T")


class PollStopped(Exception):
    """Raised in the poller's thread when :meth:`PollStream.stop` was called."""


#: One item of a :class:`PollStream` batch: (target ref, item ref, result).
StreamItem = tuple[Hashable, Hashable, ItemResult]


class PollStream:
    """:func:`poll_many` in an event loop on a thread of its own, its items handed to the
    calling thread in batches, so that the caller can store gateway A's values (database
    work, which releases the GIL while it waits) while B is still on the wire.

    The poller thread only appends to a list under a lock; the calling thread is woken
    once per batch (when it waits and enough has come, or the poll is over), not once per
    request: every wake-up makes the two threads trade the GIL, which the wire pays for.

    Iterate :meth:`batches`; when it is exhausted, :attr:`results` holds every target's
    :class:`TargetResult` (in the order of ``targets``). An error of the poller itself (not
    of the wire: those are results) is raised in the calling thread.
    """

    def __init__(self, targets: Sequence[Target], *, concurrency: int = 64):
        self.results: list[TargetResult] | None = None
        self.expected = sum(len(t.items) for t in targets)
        self._pending: list[StreamItem] = []
        self._handed = 0
        self._want: int | None = None  # set while the calling thread waits for a batch
        self._done = False
        self._outcome: Any = None
        self._ready = threading.Condition(threading.Lock())
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(list(targets), concurrency), name="gateway-poll", daemon=True
        )
        self._thread.start()

    def _run(self, targets: list[Target], concurrency: int) -> None:
        try:
            outcome: Any = asyncio.run(poll_many(targets, concurrency, self._put))
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            outcome = exc
        with self._ready:
            self._done, self._outcome = True, outcome
            self._ready.notify()

    def _put(self, ref: Hashable, items: list[tuple[Hashable, ItemResult]]) -> None:
        if self._stopped.is_set():
            raise PollStopped("The caller stopped the poll.")
        with self._ready:
            self._pending.extend((ref, item_ref, item) for item_ref, item in items)
            if self._want is not None and len(self._pending) >= self._want:
                self._ready.notify()

    def stop(self, wait: float | None = None) -> None:
        """Leave the remaining requests unsent (the caller failed and will not record them):
        each gateway stops after its current request and closes its connection."""
        self._stopped.set()
        self._thread.join(wait)

    def batches(self, min_items: int = 1) -> Iterator[list[StreamItem]]:
        """Everything read since the previous batch, at least ``min_items`` of it unless
        the poll is over; near the end it asks for half of what is still due (down to a
        quarter of ``min_items``), so the last batch, stored after the wire is done, is
        short. Blocks (without holding the GIL) while too little has come."""
        while True:
            with self._ready:
                left = self.expected - self._handed
                self._want = max(1, min(min_items, max((left + 1) // 2, min_items // 4)))
                while len(self._pending) < self._want and not self._done:
                    self._ready.wait()
                self._want = None
                batch, self._pending = self._pending, []
                done, outcome = self._done and not batch, self._outcome
            if done:
                self._thread.join()
                if isinstance(outcome, BaseException):
                    raise outcome
                self.results = outcome
                return
            self._handed += len(batch)
            yield batch


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from synchronous code (a Celery task, a view, a command), also
    when the calling thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
