"""Who occupies a billing point over a period: gapless segments, vacancies to the owner."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tenants import selectors, services
from tests.tenants.factories import BERLIN, make_billing_point, make_tenant

pytestmark = pytest.mark.django_db


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def house(in_org_a):
    bp = make_billing_point(name="Apartment Rez Gauche")
    owner = make_tenant(name="Owner SA", kind="company")
    services.ownership_set(owner=owner, property=bp.property)
    return bp, owner


def _summary(segments):
    return [(s.start, s.end, s.tenant.name if s.tenant else None, s.is_vacancy) for s in segments]


def test_gaps_are_vacancies_billed_to_the_owner(house):
    bp, owner = house
    blumer = make_tenant(name="Mr Blumer")
    keller = make_tenant(name="Ms Keller")
    services.occupancy_create(
        tenant=blumer, billing_point=bp, move_in=at(2021, 12, 1), move_out=at(2022, 3, 1)
    )
    services.occupancy_create(tenant=keller, billing_point=bp, move_in=at(2022, 4, 15))

    segments = selectors.billing_point_occupants(bp, at(2022, 1, 1), at(2022, 7, 1))

    assert _summary(segments) == [
        (at(2022, 1, 1), at(2022, 3, 1), "Mr Blumer", False),
        (at(2022, 3, 1), at(2022, 4, 15), "Owner SA", True),
        (at(2022, 4, 15), at(2022, 7, 1), "Ms Keller", False),
    ]


def test_segments_cover_the_period_without_gaps(house):
    bp, _ = house
    services.occupancy_create(
        tenant=make_tenant(), billing_point=bp, move_in=at(2022, 2, 1), move_out=at(2022, 2, 10)
    )
    services.occupancy_create(
        tenant=make_tenant(), billing_point=bp, move_in=at(2022, 2, 10), move_out=at(2022, 2, 20)
    )
    start, end = at(2022, 1, 1), at(2022, 3, 1)
    segments = selectors.billing_point_occupants(bp, start, end)
    assert segments[0].start == start and segments[-1].end == end
    assert all(a.end == b.start for a, b in zip(segments, segments[1:], strict=False))
    assert [s.is_vacancy for s in segments] == [True, False, False, True]


def test_boundaries_are_half_open(house):
    """Moving out at T and in at T is no overlap; a period ending at a move-in is vacant."""
    bp, _ = house
    services.occupancy_create(
        tenant=make_tenant(name="Early"),
        billing_point=bp,
        move_in=at(2022, 1, 1),
        move_out=at(2022, 2, 1),
    )
    services.occupancy_create(
        tenant=make_tenant(name="Late"), billing_point=bp, move_in=at(2022, 2, 1)
    )
    before = selectors.billing_point_occupants(bp, at(2021, 12, 1), at(2022, 1, 1))
    assert _summary(before) == [(at(2021, 12, 1), at(2022, 1, 1), "Owner SA", True)]
    exact = selectors.billing_point_occupants(bp, at(2022, 2, 1), at(2022, 2, 2))
    assert [s.tenant.name for s in exact] == ["Late"]


def test_a_plain_date_is_midnight_in_the_property_time_zone(house):
    bp, _ = house
    occ = services.occupancy_create(
        tenant=make_tenant(), billing_point=bp, move_in=date(2022, 3, 27)
    )
    occ.refresh_from_db()
    assert occ.move_in == at(2022, 3, 27)
    assert occ.move_in.astimezone(BERLIN).hour == 0


def test_dst_day_is_a_plain_aware_interval(house):
    """A 23-hour DST day is just [midnight, next midnight): no special casing needed."""
    bp, _ = house
    tenant = make_tenant(name="Night owl")
    services.occupancy_create(tenant=tenant, billing_point=bp, move_in=at(2022, 3, 27, 12))
    segments = selectors.billing_point_occupants(bp, at(2022, 3, 27), at(2022, 3, 28))
    hours = [(s.end - s.start).total_seconds() / 3600 for s in segments]
    assert sum(hours) == 23
    assert [s.is_vacancy for s in segments] == [True, False]


def test_no_owner_recorded_gives_a_vacancy_without_tenant(in_org_a):
    bp = make_billing_point()
    segments = selectors.billing_point_occupants(bp, at(2022, 1, 1), at(2022, 2, 1))
    assert _summary(segments) == [(at(2022, 1, 1), at(2022, 2, 1), None, True)]


def test_billing_point_override_beats_the_property_owner(house):
    bp, _ = house
    unit_owner = make_tenant(name="Unit owner")
    services.ownership_set(owner=unit_owner, property=bp.property, billing_point=bp)
    other = make_billing_point(prop=bp.property)
    owners = selectors.owners_by_billing_point([bp.pk, other.pk])
    assert owners[bp.pk].name == "Unit owner"
    assert owners[other.pk].name == "Owner SA"


def test_many_billing_points_in_a_constant_number_of_queries(house, django_assert_max_num_queries):
    bp, _ = house
    points = [make_billing_point(prop=bp.property) for _ in range(30)]
    for i, point in enumerate(points[::2]):
        services.occupancy_create(
            tenant=make_tenant(), billing_point=point, move_in=at(2022, 1, 1 + i)
        )
    with django_assert_max_num_queries(3):
        result = selectors.occupants_for_billing_points(
            [p.pk for p in points], at(2022, 1, 1), at(2022, 2, 1)
        )
        names = {s.tenant.name for segs in result.values() for s in segs}
    assert len(result) == 30
    assert "Owner SA" in names
    assert all(
        segs[0].start == at(2022, 1, 1) and segs[-1].end == at(2022, 2, 1)
        for segs in result.values()
    )


def test_naive_period_is_refused(house):
    bp, _ = house
    with pytest.raises(ValueError, match="aware"):
        selectors.billing_point_occupants(bp, datetime(2022, 1, 1), at(2022, 2, 1))  # noqa: DTZ001
