"""The database itself keeps assignments sane, whatever code writes them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from meters.models import MeterAssignment, MeterType
from tests.meters.factories import make_registry

UTC = ZoneInfo("UTC")
pytestmark = pytest.mark.django_db


def at(month: int) -> datetime:
    return datetime(2026, month, 1, tzinfo=UTC)


@pytest.fixture
def reg(in_org_a):
    return make_registry()


def _raw(bp, meter, start, end=None, final=None):
    return MeterAssignment.objects.create(
        billing_point=bp,
        meter=meter,
        connected_at=start,
        removed_at=end,
        initial_reading=Decimal("0"),
        final_reading=final,
    )


def _refused(constraint: str, **kwargs) -> None:
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        _raw(**kwargs)
    assert constraint in str(exc.value)


def test_one_open_assignment_per_meter(reg):
    _, bp, meters = reg
    meter = meters[MeterType.ELECTRICITY]
    _raw(bp, meter, at(1))
    # a later open period overlaps too; the partial unique index fires first or the
    # exclusion constraint does — either way the row is refused
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw(bp, meter, at(5))
    assert MeterAssignment.objects.filter(meter=meter).count() == 1


def test_no_overlapping_closed_periods(reg):
    _, bp, meters = reg
    meter = meters[MeterType.GAS]
    _raw(bp, meter, at(1), at(4), Decimal("5"))
    _refused(
        "assignment_no_overlap_per_meter",
        bp=bp,
        meter=meter,
        start=at(3),
        end=at(6),
        final=Decimal("9"),
    )
    _raw(bp, meter, at(4), at(6), Decimal("9"))  # touching is fine: [1,4) and [4,6)
    _refused("assignment_no_overlap_per_meter", bp=bp, meter=meter, start=at(2))


def test_removal_after_connection_and_final_reading_required(reg):
    _, bp, meters = reg
    meter = meters[MeterType.HOT_WATER]
    _refused(
        "assignment_removed_after_connected",
        bp=bp,
        meter=meter,
        start=at(5),
        end=at(5),
        final=Decimal("1"),
    )
    _refused("assignment_removed_has_final_reading", bp=bp, meter=meter, start=at(1), end=at(5))
    assert not MeterAssignment.objects.filter(meter=meter).exists()


def test_other_meters_may_share_periods(reg):
    _, bp, meters = reg
    _raw(bp, meters[MeterType.ELECTRICITY], at(1))
    _raw(bp, meters[MeterType.GAS], at(1))
    assert MeterAssignment.objects.filter(billing_point=bp).count() == 2
