"""What the wire is asked and what it answers: values to read (:class:`Item`), a gateway
with its values (:class:`Target`), the requests they are grouped into (:func:`plan_blocks`)
and the results. Plain data, no I/O: built by the services before the wire starts, read
by them after; :mod:`gateways.poller.wire` does the talking.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

MAX_REGISTERS = 125
#: The kind of failure of a value that was not asked for (the gateway was given up).
SKIPPED = "skipped"

#: Called (in the poller's thread) with a target's ref and the items of each block as soon
#: as the block is read or has failed: ``[(item ref, ItemResult), ...]``.
ItemSink = Callable[[Hashable, list[tuple[Hashable, "ItemResult"]]], None]


class Item(NamedTuple):
    """One value to read: ``ref`` comes back with its registers (a tuple: thousands are
    built per poll cycle before the wire starts)."""

    ref: Hashable
    device_id: int
    function_code: int
    address: int
    count: int
    #: Did this value's device answer the previous poll? None: not known (never polled).
    answered_last: bool | None = None
    #: When it last answered (epoch seconds; 0: never): among devices that did not answer
    #: last time, the ones alive most recently are asked first.
    last_answer: float = 0.0
    #: A value read only after every reading register of the gateway, never in one
    #: request with them, and only from devices whose reading answered in this poll
    #: (measurements: see ``wire._read_secondary``).
    secondary: bool = False


@dataclass
class Block:
    device_id: int
    function_code: int
    address: int
    count: int
    items: list[Item] = field(default_factory=list)

    @property
    def answered_last(self) -> bool | None:
        if any(i.answered_last for i in self.items):
            return True
        return False if all(i.answered_last is False for i in self.items) else None

    @property
    def last_answer(self) -> float:
        return max(i.last_answer for i in self.items)

    @property
    def secondary(self) -> bool:
        return self.items[0].secondary


@dataclass(frozen=True)
class Target:
    """One gateway and what to read from it."""

    ref: Hashable
    host: str
    port: int
    rtu_over_tcp: bool = False
    timeout: float = 2.0
    retries: int = 2
    delay: float = 0.0
    items: tuple[Item, ...] = ()
    #: Seconds the whole poll of this gateway may take (None: no limit).
    budget: float | None = None


@dataclass(frozen=True)
class Failure:
    kind: str  # "connection", "timeout", "exception", "skipped"
    message: str
    exception_code: int | None = None


@dataclass
class ItemResult:
    registers: list[int] | None = None
    failure: Failure | None = None
    latency_ms: int | None = None


@dataclass
class TargetResult:
    ref: Hashable
    items: dict[Hashable, ItemResult] = field(default_factory=dict)
    requests: int = 0
    failed_requests: int = 0
    latencies_ms: list[int] = field(default_factory=list)
    duration_s: float = 0.0
    connect_failure: Failure | None = None
    #: Why the gateway was given up (cannot connect, closed, budget): its root cause.
    gave_up: Failure | None = None

    @property
    def latency_ms(self) -> int | None:
        if not self.latencies_ms:
            return None
        return round(sum(self.latencies_ms) / len(self.latencies_ms))

    @property
    def any_success(self) -> bool:
        return any(r.registers is not None for r in self.items.values())


def plan_blocks(items: Sequence[Item], max_registers: int = MAX_REGISTERS) -> list[Block]:
    """Group items into as few requests as possible: same device and function code,
    contiguous or overlapping addresses, at most ``max_registers`` per request. Secondary
    items are never grouped with the others (a reading register is read exactly as it
    would be without them)."""
    ordered = sorted(
        items, key=lambda i: (i.secondary, i.device_id, i.function_code, i.address, i.count)
    )
    blocks: list[Block] = []
    for item in ordered:
        last = blocks[-1] if blocks else None
        if (
            last is not None
            and (last.secondary, last.device_id, last.function_code)
            == (item.secondary, item.device_id, item.function_code)
            and item.address <= last.address + last.count
            and max(last.address + last.count, item.address + item.count) - last.address
            <= max_registers
        ):
            last.count = max(last.count, item.address + item.count - last.address)
            last.items.append(item)
        else:
            blocks.append(
                Block(item.device_id, item.function_code, item.address, item.count, [item])
            )
    return blocks
