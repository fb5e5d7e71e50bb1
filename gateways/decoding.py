"""Registers ⇄ numbers, with no I/O: every data type and word order, and scaling.

A Modbus register is 16 bits, sent high byte first. Wider values span 2 or 4 registers;
devices disagree on which register comes first ("word order"): *big* sends the most
significant word first (ABCD, Eastron, Schneider), *little* the least significant first
(CDAB, Carlo Gavazzi). Bytes inside a register are always big-endian.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache

#: data type → (struct code, registers)
FORMATS: dict[str, tuple[str, int]] = {
    "u16": ("H", 1),
    "i16": ("h", 1),
    "u32": ("I", 2),
    "i32": ("i", 2),
    "u64": ("Q", 4),
    "i64": ("q", 4),
    "f32": ("f", 2),
    "f64": ("d", 4),
}
WORD_ORDERS = ("big", "little")
_WORDS = {n: struct.Struct(f">{n}H") for n in (1, 2, 4)}


class DecodeError(ValueError):
    """The registers cannot be the value the profile says (wrong count, bad type)."""


def register_count(data_type: str) -> int:
    try:
        return FORMATS[data_type][1]
    except KeyError:
        raise DecodeError(f"Unknown data type {data_type!r}.") from None


def _ordered(words: Sequence[int], word_order: str) -> list[int]:
    if word_order not in WORD_ORDERS:
        raise DecodeError(f"Unknown word order {word_order!r}.")
    return list(reversed(words)) if word_order == "little" else list(words)


def decode(registers: Sequence[int], data_type: str, word_order: str = "big") -> int | float:
    """The raw number held by ``registers`` (exactly as many as the type needs)."""
    code, count = FORMATS.get(data_type, ("", 0))
    if not count:
        raise DecodeError(f"Unknown data type {data_type!r}.")
    if len(registers) != count:
        raise DecodeError(f"{data_type} needs {count} registers, got {len(registers)}.")
    try:  # one pack/unpack per value: this runs for every meter of every poll
        raw = _WORDS[count].pack(*_ordered(registers, word_order))
    except struct.error:
        raise DecodeError("A register holds 16 bits (0–65535).") from None
    return struct.unpack(f">{code}", raw)[0]


def encode(value: int | float, data_type: str, word_order: str = "big") -> list[int]:
    """The registers a device would send for ``value`` (used by the simulator and tests)."""
    code, count = FORMATS.get(data_type, ("", 0))
    if not count:
        raise DecodeError(f"Unknown data type {data_type!r}.")
    try:
        raw = struct.pack(f">{code}", value)
    except struct.error as exc:
        raise DecodeError(f"{value!r} does not fit in {data_type}: {exc}") from exc
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return _ordered(words, word_order)


_F32 = struct.Struct(">f")


def shortest_f32(raw: float) -> str:
    """The shortest decimal that reads back as the same float32.

    What the meter meant: its display shows 12345.678, the register holds the nearest
    float32 (12345.677734375); 7 significant digits (12345.68) would be a different
    float32, and all of them would be noise of the binary representation. 6 digits are
    tried first (any shorter decimal that round-trips is what "%.6g" gives, trailing
    zeros dropped), 9 always round-trip.
    """
    for digits in range(6, 10):
        text = format(raw, f".{digits}g")
        if _F32.unpack(_F32.pack(float(text)))[0] == raw:
            return text
    return repr(raw)  # pragma: no cover - 9 significant digits always round-trip


def scaled(raw: int | float, scale: Decimal, data_type: str = "") -> Decimal:
    """``raw × scale`` as a Decimal; raises DecodeError for NaN or infinity.

    A float32 is read as the shortest decimal that is the same float32
    (:func:`shortest_f32`); a float64 as Python's shortest repr, which is the same rule.
    """
    if isinstance(raw, float) and not math.isfinite(raw):
        raise DecodeError("The meter sent NaN or infinity.")
    try:
        if isinstance(raw, float):
            number = Decimal(shortest_f32(raw) if data_type == "f32" else repr(raw))
        else:
            number = Decimal(raw)
        return number * scale
    except InvalidOperation as exc:  # pragma: no cover - repr of a finite float parses
        raise DecodeError(f"Not a number: {raw!r}") from exc


def value_from_registers(
    registers: Sequence[int], data_type: str, word_order: str, scale: Decimal, places: int = 4
) -> Decimal:
    """Decode, scale and round to ``places`` decimals (what a reading stores)."""
    value = scaled(decode(registers, data_type, word_order), scale, data_type)
    return value.quantize(_quantum(places))


@lru_cache(maxsize=16)
def _quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def one_based_to_address(number: int) -> tuple[int, int]:
    """A manual's register number ("30073", "40001", "300073") → (function code, address)."""
    text = str(number)
    if len(text) in (5, 6) and text[0] in "34":
        fc = 4 if text[0] == "3" else 3
        return fc, int(text[1:]) - 1
    raise DecodeError(f"{number} is not a 3xxxx/4xxxx register number.")
