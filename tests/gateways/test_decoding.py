"""Pure decoding: every data type and word order, with no server."""

from __future__ import annotations

import math
import struct
from decimal import Decimal

import pytest
from pymodbus.client.mixin import ModbusClientMixin

from gateways.decoding import (
    DecodeError,
    decode,
    encode,
    one_based_to_address,
    register_count,
    value_from_registers,
)
from gateways.poller import Item, plan_blocks
from gateways.simulator import PYMODBUS_TYPES

CASES = [
    ("u16", 0xFFFF), ("i16", -2), ("u32", 0xDEADBEEF), ("i32", -123456789),
    ("u64", 2**64 - 1), ("i64", -(2**62) - 3), ("f32", 1234.5), ("f64", -0.1),
]


@pytest.mark.parametrize(("data_type", "value"), CASES)
@pytest.mark.parametrize("word_order", ["big", "little"])
def test_round_trip_and_agreement_with_pymodbus(data_type, value, word_order):
    words = encode(value, data_type, word_order)
    assert len(words) == register_count(data_type)
    assert decode(words, data_type, word_order) == value
    theirs = ModbusClientMixin.convert_to_registers(value, PYMODBUS_TYPES[data_type],
                                                    word_order=word_order)
    assert words == theirs


def test_known_register_vectors():
    # Eastron: float32 high word first; 1234.5 = 0x449A5000
    assert decode([0x449A, 0x5000], "f32", "big") == 1234.5
    # Carlo Gavazzi: int32 LOW word first; 0x00012345 arrives as [0x2345, 0x0001]
    assert decode([0x2345, 0x0001], "i32", "little") == 0x12345
    assert decode([0x0001, 0x2345], "i32", "big") == 0x12345
    # int64 Wh, 4 registers, high word first
    assert decode([0, 0, 0x0001, 0x0000], "i64", "big") == 65536
    assert decode([0x0000, 0x0001, 0, 0], "i64", "little") == 65536
    assert decode([0xFFFF], "i16") == -1 and decode([0xFFFF], "u16") == 65535
    assert decode([0xFFFF, 0xFFFE], "i32", "big") == -2


def test_scaling_and_rounding():
    assert value_from_registers([0, 1234], "u32", "big", Decimal("0.1")) == Decimal("123.4000")
    # float32 carries ~7 significant digits; binary noise is not stored
    words = encode(12345.67, "f32", "big")
    assert struct.unpack(">f", struct.pack(">f", 12345.67))[0] != 12345.67
    assert value_from_registers(words, "f32", "big", Decimal(1)) == Decimal("12345.6700")
    wh = encode(98_765_432_101, "i64", "big")
    assert value_from_registers(wh, "i64", "big", Decimal("0.001")) == Decimal("98765432.1010")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(bad):
    with pytest.raises(DecodeError, match="NaN"):
        value_from_registers(encode(bad, "f32"), "f32", "big", Decimal(1))


@pytest.mark.parametrize(("registers", "data_type", "word_order", "message"), [
    ([1], "u32", "big", "needs 2 registers"),
    ([1, 2], "x32", "big", "Unknown data type"),
    ([1, 2], "u32", "middle", "Unknown word order"),
    ([70000], "u16", "big", "16 bits"),
])
def test_malformed_input_is_a_decode_error(registers, data_type, word_order, message):
    with pytest.raises(DecodeError, match=message):
        decode(registers, data_type, word_order)


def test_one_based_register_numbers():
    assert one_based_to_address(30073) == (4, 0x0048)
    assert one_based_to_address(40001) == (3, 0)
    assert one_based_to_address(300073) == (4, 72)
    with pytest.raises(DecodeError):
        one_based_to_address(73)


def test_contiguous_values_share_a_request():
    items = [
        Item("a", 1, 4, 0x48, 2), Item("b", 1, 4, 0x4A, 2), Item("c", 1, 4, 0x00, 2),
        Item("d", 1, 3, 0x4C, 2), Item("e", 2, 4, 0x48, 2), Item("f", 1, 4, 0x49, 1),
    ]
    blocks = {(b.device_id, b.function_code, b.address, b.count): [i.ref for i in b.items]
              for b in plan_blocks(items)}
    assert blocks == {
        (1, 3, 0x4C, 2): ["d"],
        (1, 4, 0x00, 2): ["c"],
        (1, 4, 0x48, 4): ["a", "f", "b"],
        (2, 4, 0x48, 2): ["e"],
    }
    many = [Item(i, 1, 3, i * 2, 2) for i in range(100)]
    assert [b.count for b in plan_blocks(many)] == [124, 76]


@pytest.mark.parametrize(("words", "expected"), [
    # IEEE 754 single, high word first, encoded by hand: 12345.678 → 0x4640E6B6, whose exact
    # value is 12345.677734375; 12345.68 would be another float32 (0x4640E6B8).
    ([0x4640, 0xE6B6], Decimal("12345.678")),
    ([0x4640, 0xE6B8], Decimal("12345.68")),
    ([0x458C, 0xA733], Decimal("4500.9")),  # 4500.89990234375
    ([0x3DCC, 0xCCCD], Decimal("0.1")),  # 0.100000001490116…
    ([0x4B3C, 0x614E], Decimal("12345678")),  # an integer needs all 8 digits
    ([0x3F80, 0x0000], Decimal("1")),
])
def test_float32_is_stored_as_the_shortest_decimal_of_the_same_float32(words, expected):
    value = value_from_registers(words, "f32", "big", Decimal(1))
    assert value == expected
    # and that decimal is the very float32 the meter sent
    assert struct.pack(">f", float(value)) == struct.pack(">HH", *words)
