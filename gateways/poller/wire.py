"""The Modbus wire itself: sessions, request planning, polling and writing gateways (asyncio).

* One TCP connection per gateway and its requests one after the other (gateways mix up
  concurrent sessions), with the configured pause between requests; many gateways run
  concurrently in one event loop (:func:`poll_many`).
* Values next to each other on the same device and function code are read in one
  request (up to 125 registers, the protocol's limit).
* Each request gets the gateway's timeout; a timeout or a lost connection closes the
  connection (a late answer must not be taken for the next request's), waits with
  exponential backoff, reconnects and retries up to ``retries`` times. Modbus exception
  answers are not retried unless they say "busy" or "the device behind the gateway did not
  answer". Devices that answered the previous poll are asked first, devices not yet
  known next, devices that did not answer last (one attempt each, no retries, the most
  recently alive first) last. After a few requests in a row to devices expected to answer
  fail at the transport level (or to any device, before the gateway has answered anything
  in this poll; or any lost or refused connection), the
  rest of the gateway is skipped (the gateway or its bus is down): one dead
  gateway costs seconds, not minutes, while a few dead meters (many gateways send no
  exception for a device that does not answer, they just time out) cost one timeout
  each and do not stop the rest of the bus. Skipped values are reported as such: their
  meters were not asked, so their health does not change.
* A gateway that cannot be connected to (after its retries) is given up at once: every
  other device is behind the same socket. A gateway that closes the connection is seen
  as closed at once (pymodbus leaves the request waiting for its timeout; the session
  fails it as soon as the connection drops), so each retry costs a reconnect, not a
  timeout.
* Each gateway's poll has an overall time budget (``Target.budget``, from the setting
  ``GATEWAY_POLL_BUDGET_S``): when it runs out the request in flight is abandoned and
  the rest skipped, so one stalled gateway cannot hold a worker (and its wire lock) for
  retries × timeouts × devices.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Any

from pymodbus import FramerType
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from gateways.poller.targets import (
    SKIPPED,
    Block,
    Failure,
    ItemResult,
    ItemSink,
    Target,
    TargetResult,
    plan_blocks,
)

BACKOFF_BASE_S = 0.05
BACKOFF_MAX_S = 2.0
#: Transport-level failures (timeouts, lost connections) of consecutive requests to
#: devices expected to answer, after which the remaining requests of a gateway are skipped.
ABORT_AFTER = 3
RETRYABLE_EXCEPTIONS = {0x05, 0x06, 0x0A, 0x0B}  # acknowledge, busy, gateway path/no answer
EXCEPTION_NAMES = {
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "device failure",
    0x05: "acknowledge",
    0x06: "device busy",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}

CLOSED_MESSAGE = "Connection closed by the gateway"
#: How a failure to connect starts: the gateway is down (or refusing), not one meter.
CANNOT_CONNECT = "Cannot connect"


class GatewayClosed(ConnectionException):
    """The gateway closed the connection while a request waited for its answer."""


def _client(target: Target) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient(
        target.host,
        port=target.port,
        framer=FramerType.RTU if target.rtu_over_tcp else FramerType.SOCKET,
        timeout=target.timeout,
        retries=0,
        reconnect_delay=0,
        name=f"gateway {target.host}:{target.port}",
    )
    _fail_pending_on_close(client)
    return client


def _fail_pending_on_close(client: AsyncModbusTcpClient) -> None:
    """pymodbus notices a closed connection (``callback_disconnected``) but leaves the
    request in flight waiting for the full timeout; fail it at once instead. Only while
    a request of ours waits (``awaiting``, set by :meth:`Session.call`): the manager keeps
    a future of its own between requests, which nobody would retrieve."""
    manager = client.ctx
    disconnected = manager.callback_disconnected
    manager.awaiting = False

    def on_disconnect(exc: Exception | None) -> None:
        disconnected(exc)
        future = getattr(manager, "response_future", None)
        if manager.awaiting and future is not None and not future.done():
            future.set_exception(GatewayClosed(CLOSED_MESSAGE))

    manager.callback_disconnected = on_disconnect


def _transport_open(client: AsyncModbusTcpClient) -> bool:
    """Whether the connection is really open. pymodbus's ``connected`` is not enough: when
    the gateway closes a connection while it is being made, pymodbus keeps the closed
    transport (its ``connection_lost`` runs before ``connect`` stores it) and a request
    written to it waits for the timeout."""
    transport = client.ctx.transport
    return transport is not None and not transport.is_closing()


def _backoff(attempt: int) -> float:
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempt - 1))


def _exception_failure(code: int) -> Failure:
    name = EXCEPTION_NAMES.get(code, "unknown exception")
    return Failure("exception", f"Modbus exception {code:#04x} ({name})", code)


class Session:
    """One gateway's connection: requests serialized, retried, reconnected."""

    def __init__(self, target: Target, result: TargetResult):
        self.target = target
        self.result = result
        self.client = _client(target)
        self.transport_failures = 0

    async def _ensure_connected(self) -> Failure | None:
        if _transport_open(self.client):
            return None
        if self.client.connected:  # closed by the gateway since the last request
            self._drop()
        started = time.perf_counter()
        if await self.client.connect():
            if _transport_open(self.client):
                return None
            self._drop()
            return Failure("connection", CLOSED_MESSAGE)  # accepted, then closed at once
        where = f"{self.target.host}:{self.target.port}"
        if time.perf_counter() - started < self.target.timeout * 0.9:
            why = f"{where} refused the connection or is unreachable"
        else:
            why = f"no answer from {where} within {self.target.timeout:g} s"
        return Failure("connection", f"{CANNOT_CONNECT}: {why}")

    def _drop(self) -> None:
        self.client.close()
        self.client = _client(self.target)

    async def call(self, send, retries: int | None = None) -> tuple[Any, Failure | None]:
        """Run ``send(client)`` with timeout, retries (the gateway's unless given),
        backoff and reconnection."""
        failure: Failure | None = None
        for attempt in range((self.target.retries if retries is None else retries) + 1):
            if attempt:
                await asyncio.sleep(_backoff(attempt))
            failure = await self._ensure_connected()
            if failure is not None:
                continue
            self.result.requests += 1
            started = time.perf_counter()
            manager = self.client.ctx
            manager.awaiting = True
            try:  # pymodbus bounds the wait by the client's timeout (ModbusIOException)
                response = await send(self.client)
            except GatewayClosed:
                failure = Failure("connection", CLOSED_MESSAGE)
                self._drop()
                continue
            except (TimeoutError, ModbusIOException):
                failure = Failure("timeout", f"No answer within {self.target.timeout:g} s")
                self._drop()
                continue
            except (ConnectionException, ConnectionError, OSError) as exc:
                failure = Failure("connection", f"Connection lost: {exc}"[:300])
                self._drop()
                continue
            except ModbusException as exc:
                failure = Failure("connection", f"Modbus error: {exc}"[:300])
                self._drop()
                continue
            finally:
                manager.awaiting = False
            self.result.latencies_ms.append(round((time.perf_counter() - started) * 1000))
            if response.isError():
                failure = _exception_failure(response.exception_code)
                if response.exception_code in RETRYABLE_EXCEPTIONS:
                    continue
                return None, failure
            return response, None
        return None, failure

    def close(self) -> None:
        self.client.close()


async def _read_block(
    session: Session, block: Block, retries: int | None = None
) -> tuple[list[int] | None, Failure | None]:
    def send(client: AsyncModbusTcpClient) -> Coroutine:
        read = (
            client.read_input_registers
            if block.function_code == 4
            else client.read_holding_registers
        )
        return read(block.address, count=block.count, device_id=block.device_id)

    response, failure = await session.call(send, retries)
    if failure is not None:
        return None, failure
    registers = list(response.registers)
    if len(registers) < block.count:
        return None, Failure("exception", f"Short answer: {len(registers)} of {block.count}")
    return registers, None


def _distribute(result: TargetResult, block: Block, registers, failure, latency) -> None:
    for item in block.items:
        if registers is None:
            result.items[item.ref] = ItemResult(failure=failure)
        else:
            offset = item.address - block.address
            result.items[item.ref] = ItemResult(
                registers=registers[offset : offset + item.count], latency_ms=latency
            )


async def poll_target(target: Target, on_items: ItemSink | None = None) -> TargetResult:
    """Read every item of one gateway over one connection; never raises for I/O.

    ``on_items`` is told each block's items as they come (see :class:`PollStream`)."""
    result = TargetResult(ref=target.ref)
    started = time.perf_counter()
    session = Session(target, result)
    planned = plan_blocks(target.items)
    blocks = [b for b in planned if not b.secondary]
    secondary = [b for b in planned if b.secondary]
    # if nothing answered last time the whole gateway was down: no device is "known dead"
    some_alive = any(b.answered_last is not False for b in blocks)
    pending = deque(sorted(blocks, key=lambda b: (_ASK_ORDER[b.answered_last], -b.last_answer)))
    in_flight: list[Block] = []  # the block on the wire when the budget runs out
    try:
        async with asyncio.timeout(target.budget):
            if not target.items:  # nothing mapped yet: still check that the gateway answers
                result.connect_failure = await session._ensure_connected()
            await _read_blocks(session, target, result, pending, some_alive, in_flight,
                               on_items)
    except TimeoutError:  # the budget ran out (the request in flight was cancelled)
        spent = Failure(
            "timeout", f"Poll stopped: its time budget of {target.budget:g} s ran out"
        )
        result.gave_up = result.gave_up or spent
        for block in in_flight:
            _distribute(result, block, None, spent, None)
            _hand_over(on_items, result, block)
        if not target.items and result.connect_failure is None:
            result.connect_failure = spent
        _skip_rest(result, pending, spent.message, on_items)
    try:
        await _read_secondary(session, target, result, secondary, started, on_items)
    finally:
        session.close()
        result.duration_s = time.perf_counter() - started
    return result


async def _read_secondary(
    session: Session,
    target: Target,
    result: TargetResult,
    blocks: list[Block],
    started: float,
    on_items: ItemSink | None,
) -> None:
    """Read the secondary values (measurements) once every reading register is done, in
    what is left of the budget: only from devices whose reading answered in this poll, one
    attempt each, and the first transport failure (a timeout, a lost connection) skips the
    rest. They leave the gateway's health as the readings made it: their latencies,
    failures and give-ups are not the gateway's (``requests`` counts them, they were sent).
    """
    if not blocks:
        return
    answered = {
        i.device_id for i in target.items
        if not i.secondary and (r := result.items.get(i.ref)) is not None
        and r.registers is not None
    }
    # devices with nothing but secondary values (environmental sensors) are asked too
    answered |= {b.device_id for b in blocks} - {i.device_id for i in target.items
                                                 if not i.secondary}
    if result.gave_up is not None:  # the gateway itself failed: ask it nothing more
        answered = set()
    pending = deque(b for b in blocks if b.device_id in answered)
    _skip_rest(result, deque(b for b in blocks if b.device_id not in answered),
               "the device's reading did not answer in this poll", on_items)
    left = None if target.budget is None else target.budget - (time.perf_counter() - started)
    if left is not None and left <= 0:
        _skip_rest(result, pending, "the poll's time budget ran out", on_items)
        return
    latencies, failed = len(result.latencies_ms), result.failed_requests
    in_flight: list[Block] = []
    try:
        async with asyncio.timeout(left):
            while pending:
                block = pending.popleft()
                in_flight[:] = [block]
                if target.delay:
                    await asyncio.sleep(target.delay)
                registers, failure = await _read_block(session, block, 0)
                in_flight.clear()
                _distribute(result, block, registers, failure, None)
                _hand_over(on_items, result, block)
                if failure is not None and failure.kind != "exception":
                    _skip_rest(result, pending, failure.message, on_items)
    except TimeoutError:
        spent = Failure("timeout", "the poll's time budget ran out")
        for block in in_flight:
            _distribute(result, block, None, spent, None)
            _hand_over(on_items, result, block)
        _skip_rest(result, pending, spent.message, on_items)
    finally:
        del result.latencies_ms[latencies:]
        result.failed_requests = failed


async def _read_blocks(
    session: Session,
    target: Target,
    result: TargetResult,
    pending: deque[Block],
    some_alive: bool,
    in_flight: list[Block],
    on_items: ItemSink | None,
) -> None:
    unexpected = 0  # transport failures in a row that say the gateway may be down
    answered = False  # has the gateway answered anything in this poll?
    last_transport: Failure | None = None
    first = True
    while pending:
        if unexpected >= ABORT_AFTER:
            reason = f"{last_transport.message} ({unexpected} requests in a row)"
            result.gave_up = Failure(last_transport.kind, reason)
            _skip_rest(result, pending, reason, on_items)
            return
        block = pending.popleft()
        in_flight[:] = [block]
        if not first and target.delay:
            await asyncio.sleep(target.delay)
        first = False
        known_dead = some_alive and block.answered_last is False
        registers, failure = await _read_block(session, block, 0 if known_dead else None)
        in_flight.clear()
        if failure is not None:
            result.failed_requests += 1
        if failure is None or failure.kind == "exception":
            unexpected, answered = 0, True  # the gateway answered (a value or an exception)
        elif failure.kind == "connection" or not (known_dead and answered):
            unexpected += 1  # a dead meter's timeout on a live gateway says nothing
            last_transport = failure
        latency = result.latencies_ms[-1] if result.latencies_ms else None
        _distribute(result, block, registers, failure, latency)
        _hand_over(on_items, result, block)
        if failure is not None and failure.message.startswith(CANNOT_CONNECT):
            # every device is behind this socket: asking the next one fails the same way
            result.gave_up = failure
            _skip_rest(result, pending, failure.message, on_items)
            return


#: Devices that answered the previous poll first, then unknown ones, then silent ones
#: (those alive most recently first: after an outage of the whole gateway every device
#: failed last time, and the meters that were dead before it must not be asked first).
_ASK_ORDER = {True: 0, None: 1, False: 2}


def _skip_rest(
    result: TargetResult, pending: deque[Block], reason: str, on_items: ItemSink | None
) -> None:
    skipped = Failure(SKIPPED, f"Skipped (not asked): {reason}")
    while pending:
        block = pending.popleft()
        _distribute(result, block, None, skipped, None)
        _hand_over(on_items, result, block)


def _hand_over(on_items: ItemSink | None, result: TargetResult, block: Block) -> None:
    if on_items is not None:
        on_items(result.ref, [(item.ref, result.items[item.ref]) for item in block.items])


async def poll_many(
    targets: Sequence[Target], concurrency: int = 64, on_items: ItemSink | None = None
) -> list[TargetResult]:
    """Poll gateways in parallel (each over its own single connection)."""
    limit = asyncio.Semaphore(concurrency)

    async def one(target: Target) -> TargetResult:
        async with limit:
            return await poll_target(target, on_items)

    return list(await asyncio.gather(*(one(t) for t in targets)))


async def write_target(
    target: Target, *, device_id: int, coil: bool, address: int, value: int
) -> TargetResult:
    """Write one coil (function 5) or holding register (function 6) and report how it went.

    The item ref of the write is ``"write"``."""
    result = TargetResult(ref=target.ref)
    session = Session(target, result)

    def send(client: AsyncModbusTcpClient) -> Coroutine:
        if coil:
            return client.write_coil(address, bool(value), device_id=device_id)
        return client.write_register(address, value, device_id=device_id)

    try:
        response, failure = await session.call(send)
    finally:
        session.close()
    result.items["write"] = ItemResult(
        registers=[value] if failure is None else None, failure=failure
    )
    return result


async def read_point_target(
    target: Target, *, device_id: int, coil: bool, address: int
) -> TargetResult:
    """Read one coil (function 1) or holding register (function 3), e.g. where a relay
    stands. The item ref of the read is ``"read"``; its value is ``registers[0]`` (0/1 for
    a coil)."""
    result = TargetResult(ref=target.ref)
    session = Session(target, result)

    def send(client: AsyncModbusTcpClient) -> Coroutine:
        if coil:
            return client.read_coils(address, count=1, device_id=device_id)
        return client.read_holding_registers(address, count=1, device_id=device_id)

    try:
        response, failure = await session.call(send)
    finally:
        session.close()
    if failure is None:
        values = list(response.bits[:1]) if coil else list(response.registers[:1])
        if not values:
            failure = Failure("exception", "Empty answer")
        else:
            result.items["read"] = ItemResult(registers=[int(values[0])])
    if failure is not None:
        result.items["read"] = ItemResult(failure=failure)
    return result
