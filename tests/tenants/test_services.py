"""Services of tenants, above all their bad input: clear errors, nothing changed."""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from billspree.core.errors import Conflict
from billspree.core.models import AuditEvent
from billspree.core.scoping import organization_context
from tenants import services
from tenants.models import BadgeAssignment, Move, Occupancy, RfidBadge, Tenant
from tests.tenants.factories import BERLIN, make_billing_point, make_meter, make_tenant

pytestmark = pytest.mark.django_db


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def rows() -> tuple:
    """Everything the tenants app stores, to prove a failed operation changed nothing."""
    return (
        list(
            Occupancy.objects.order_by("pk").values_list("pk", "tenant_id", "move_in", "move_out")
        ),
        list(Move.objects.values_list("pk", flat=True)),
        list(BadgeAssignment.objects.order_by("pk").values_list("pk", "returned_at")),
        Tenant.objects.count(),
    )


@pytest.fixture
def flat(in_org_a):
    return make_billing_point(name="Apartment Rez Gauche")


# --- tenants ------------------------------------------------------------------------------


def test_tenant_gets_the_next_customer_number_and_an_audit_event(in_org_a):
    first = make_tenant(name="Mr Blumer")
    second = make_tenant(name="ACME AG", kind="company", contact_person="Ms Frei")
    assert (first.customer_number, second.customer_number) == ("C00001", "C00002")
    assert AuditEvent.objects.filter(action="tenants.tenant.create").count() == 2


def test_duplicate_customer_number_names_the_field_and_saves_nothing(in_org_a):
    make_tenant(name="A", customer_number="K-1")
    with pytest.raises(ValidationError) as exc:
        make_tenant(name="B", customer_number="K-1")
    assert "K-1" in exc.value.message_dict["customer_number"][0]
    assert Tenant.objects.count() == 1


def test_customer_numbers_are_per_organization(world_a, world_b):
    with organization_context(world_a.org):
        make_tenant(name="A", customer_number="K-1")
    with organization_context(world_b.org):
        assert make_tenant(name="B", customer_number="K-1").customer_number == "K-1"


def test_bad_email_and_empty_name_are_refused(in_org_a):
    with pytest.raises(ValidationError) as exc:
        services.tenant_create(name=" ", email="not-an-email")
    assert set(exc.value.message_dict) >= {"name", "email"}
    assert Tenant.objects.count() == 0


def test_tenant_update_records_what_changed(in_org_a):
    tenant = make_tenant(name="Blumer")
    services.tenant_update(tenant=tenant, phone="+41 22 000 00 00", language="fr")
    tenant.refresh_from_db()
    assert (tenant.phone, tenant.language) == ("+41 22 000 00 00", "fr")
    event = AuditEvent.objects.get(action="tenants.tenant.update")
    assert event.detail == {"phone": "+41 22 000 00 00", "language": "fr"}


def test_tenant_with_history_cannot_be_deleted(flat):
    tenant = make_tenant()
    services.occupancy_create(tenant=tenant, billing_point=flat, move_in=at(2022, 1, 1))
    with pytest.raises(Conflict):
        services.tenant_delete(tenant=tenant)
    assert Tenant.objects.filter(pk=tenant.pk).exists()


# --- occupancy ----------------------------------------------------------------------------


def test_overlapping_occupancy_names_the_tenant_and_dates_and_changes_nothing(flat):
    blumer = make_tenant(name="Mr Blumer")
    services.occupancy_create(
        tenant=blumer, billing_point=flat, move_in=at(2021, 12, 1), move_out=at(2022, 6, 1)
    )
    before = rows()
    with pytest.raises(Conflict) as exc:
        services.occupancy_create(
            tenant=make_tenant(name="Ms Keller"), billing_point=flat, move_in=at(2022, 5, 1)
        )
    message = exc.value.message
    assert "Mr Blumer" in message and "over 1 Dec 2021 – 31 May 2022" in message
    assert "move_in" in exc.value.fields
    assert rows()[:3] == before[:3]


def test_move_out_before_move_in_is_refused(flat):
    with pytest.raises(ValidationError) as exc:
        services.occupancy_create(
            tenant=make_tenant(),
            billing_point=flat,
            move_in=at(2022, 5, 1),
            move_out=at(2022, 4, 1),
        )
    assert "move_out" in exc.value.message_dict
    assert not Occupancy.objects.exists()


def test_naive_datetime_is_refused(flat):
    with pytest.raises(ValidationError) as exc:
        services.occupancy_create(
            tenant=make_tenant(),
            billing_point=flat,
            move_in=datetime(2022, 5, 1),  # noqa: DTZ001
        )
    assert "move_in" in exc.value.message_dict


def test_ending_an_occupancy_into_the_next_one_is_refused(flat):
    first = services.occupancy_create(
        tenant=make_tenant(name="First"),
        billing_point=flat,
        move_in=at(2022, 1, 1),
        move_out=at(2022, 3, 1),
    )
    services.occupancy_create(
        tenant=make_tenant(name="Second"), billing_point=flat, move_in=at(2022, 3, 1)
    )
    with pytest.raises(Conflict) as exc:
        services.occupancy_end(occupancy=first, move_out=at(2022, 4, 1))
    assert "Second" in exc.value.message
    first.refresh_from_db()
    assert first.move_out == at(2022, 3, 1)


def test_the_database_refuses_overlaps_the_service_did_not_see(flat):
    """The exclusion constraint holds even for writes that skip the service."""
    from django.db import IntegrityError, transaction

    tenant = make_tenant()
    services.occupancy_create(tenant=tenant, billing_point=flat, move_in=at(2022, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Occupancy.objects.create(tenant=tenant, billing_point=flat, move_in=at(2023, 1, 1))


@pytest.mark.django_db(transaction=True)
def test_concurrent_move_ins_one_wins_the_other_gets_a_conflict(world_a):
    with organization_context(world_a.org):
        flat = make_billing_point()
        tenants = [make_tenant(name=f"Racer {i}") for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def race(tenant):
        try:
            with organization_context(world_a.org):
                barrier.wait()
                services.occupancy_create(tenant=tenant, billing_point=flat, move_in=at(2022, 1, 1))
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(t,)) for t in tenants]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[-1] == "ok" and outcomes.count("ok") == 1
    assert "Racer" in next(o for o in outcomes if o != "ok")
    with organization_context(world_a.org):
        assert Occupancy.objects.count() == 1


# --- moves ----------------------------------------------------------------------------------


def test_move_to_a_new_tenant(flat):
    old, new = make_tenant(name="Mr Blumer"), make_tenant(name="Ms Keller")
    services.occupancy_create(tenant=old, billing_point=flat, move_in=at(2021, 12, 1))
    move = services.move_register(billing_point=flat, moved_at=at(2022, 7, 1), incoming_tenant=new)
    assert move.outgoing.tenant == old and move.outgoing.move_out == at(2022, 7, 1)
    assert move.incoming.tenant == new and move.incoming.move_in == at(2022, 7, 1)
    assert move.incoming.move_out is None
    assert AuditEvent.objects.filter(action="tenants.move.register").exists()


def test_move_out_into_vacancy(flat):
    services.occupancy_create(tenant=make_tenant(), billing_point=flat, move_in=at(2021, 12, 1))
    move = services.move_register(billing_point=flat, moved_at=at(2022, 7, 1).date())
    assert move.is_vacancy and move.outgoing.move_out == at(2022, 7, 1)
    assert Occupancy.objects.count() == 1


def test_move_stores_and_ingests_the_meter_readings(flat):
    from readings.models import Reading

    meter = make_meter(flat, at(2021, 1, 1), serial="E-100", initial="100")
    services.occupancy_create(tenant=make_tenant(), billing_point=flat, move_in=at(2021, 12, 1))
    move = services.move_register(
        billing_point=flat,
        moved_at=at(2022, 7, 1),
        incoming_tenant=make_tenant(),
        readings={"E-100": "1234,5"},
    )
    assert move.readings == {"E-100": "1234.5"}
    reading = Reading.objects.get(meter=meter, read_at=at(2022, 7, 1))
    assert reading.value == Decimal("1234.5")


def test_failed_move_writes_nothing_bad_reading(flat):
    make_meter(flat, at(2021, 1, 1), serial="E-100", initial="100")
    services.occupancy_create(tenant=make_tenant(), billing_point=flat, move_in=at(2021, 12, 1))
    before = rows()
    with pytest.raises(ValidationError) as exc:
        services.move_register(
            billing_point=flat,
            moved_at=at(2022, 7, 1),
            incoming_tenant=make_tenant(name="Late"),
            readings={"E-100": "12x"},
        )
    assert "E-100" in exc.value.message_dict["readings"][0]
    assert rows()[:3] == before[:3]


def test_failed_move_writes_nothing_reading_rejected_by_ingestion(flat):
    """A register value below the meter's initial reading fails at ingestion, after the
    occupancies were already changed inside the transaction: all of it is undone."""
    from readings.models import Reading

    make_meter(flat, at(2021, 1, 1), serial="E-100", initial="5000")
    services.occupancy_create(tenant=make_tenant(), billing_point=flat, move_in=at(2021, 12, 1))
    before = rows()
    newcomer = make_tenant(name="Newcomer")
    with pytest.raises(ValidationError) as exc:
        services.move_register(
            billing_point=flat,
            moved_at=at(2022, 7, 1),
            incoming_tenant=newcomer,
            readings={"E-100": "10"},
        )
    assert "E-100" in exc.value.message_dict["readings"][0]
    assert rows()[:3] == before[:3]
    assert not Reading.objects.exists()


def test_move_with_a_meter_of_another_billing_point_is_refused(flat):
    make_meter(make_billing_point(), at(2021, 1, 1), serial="ELSEWHERE")
    services.occupancy_create(tenant=make_tenant(), billing_point=flat, move_in=at(2021, 12, 1))
    before = rows()
    with pytest.raises(ValidationError) as exc:
        services.move_register(
            billing_point=flat, moved_at=at(2022, 7, 1), readings={"ELSEWHERE": "1"}
        )
    assert "ELSEWHERE" in exc.value.message_dict["readings"][0]
    assert rows() == before


def test_move_into_a_later_booked_occupancy_ends_where_it_starts(flat):
    services.occupancy_create(
        tenant=make_tenant(name="Future"), billing_point=flat, move_in=at(2023, 1, 1)
    )
    move = services.move_register(
        billing_point=flat, moved_at=at(2022, 7, 1), incoming_tenant=make_tenant(name="Interim")
    )
    assert move.outgoing is None
    assert (move.incoming.move_in, move.incoming.move_out) == (at(2022, 7, 1), at(2023, 1, 1))


@pytest.mark.parametrize("case", ["already_vacant", "same_tenant", "before_move_in"])
def test_impossible_moves_are_refused_and_write_nothing(flat, case):
    tenant = make_tenant(name="Mr Blumer")
    if case != "already_vacant":
        services.occupancy_create(tenant=tenant, billing_point=flat, move_in=at(2022, 7, 1))
    before = rows()
    kwargs = {
        "already_vacant": {"moved_at": at(2022, 7, 1)},
        "same_tenant": {"moved_at": at(2022, 8, 1), "incoming_tenant": tenant},
        "before_move_in": {"moved_at": at(2022, 7, 1), "incoming_tenant": make_tenant()},
    }[case]
    with pytest.raises(ValidationError) as exc:
        services.move_register(billing_point=flat, **kwargs)
    field = "moved_at" if case == "before_move_in" else "incoming_tenant"
    assert field in exc.value.message_dict
    assert rows()[:3] == before[:3]


# --- badges ---------------------------------------------------------------------------------


def test_badge_one_holder_at_a_time(in_org_a):
    blumer, keller = make_tenant(name="Mr Blumer"), make_tenant(name="Ms Keller")
    services.badge_assign(uid="04:a2:b3:c4", tenant=blumer, assigned_at=at(2022, 1, 1))
    before = rows()
    with pytest.raises(Conflict) as exc:
        services.badge_assign(uid="04A2B3C4", tenant=keller, assigned_at=at(2022, 2, 1))
    assert "Mr Blumer" in exc.value.message and "04A2B3C4" in exc.value.message
    assert rows() == before
    assert RfidBadge.objects.count() == 1


def test_badge_returned_can_be_handed_to_the_next_tenant(in_org_a):
    blumer, keller = make_tenant(name="Mr Blumer"), make_tenant(name="Ms Keller")
    first = services.badge_assign(uid="04A2", tenant=blumer, assigned_at=at(2022, 1, 1))
    services.badge_return(assignment=first, returned_at=at(2022, 2, 1))
    second = services.badge_assign(uid="04A2", tenant=keller, assigned_at=at(2022, 2, 1))
    assert second.badge == first.badge
    with pytest.raises(Conflict):
        services.badge_return(assignment=first, returned_at=at(2022, 3, 1))


def test_badge_cannot_be_handed_out_again_before_its_last_return(in_org_a):
    first = services.badge_assign(uid="04A2", tenant=make_tenant(), assigned_at=at(2022, 1, 1))
    services.badge_return(assignment=first, returned_at=at(2022, 3, 1))
    with pytest.raises(Conflict):
        services.badge_assign(uid="04A2", tenant=make_tenant(), assigned_at=at(2022, 2, 1))


def test_badge_return_before_handout_is_refused(in_org_a):
    first = services.badge_assign(uid="04A2", tenant=make_tenant(), assigned_at=at(2022, 1, 1))
    with pytest.raises(ValidationError) as exc:
        services.badge_return(assignment=first, returned_at=at(2021, 1, 1))
    assert "returned_at" in exc.value.message_dict
    first.refresh_from_db()
    assert first.returned_at is None


def test_exclusion_violation_is_reported_like_an_overlap(flat):
    """A row a concurrent writer committed after our check: the IntegrityError of the
    constraint becomes the same Conflict naming the tenant and dates."""
    from tenants.services.occupancy import save_period

    services.occupancy_create(
        tenant=make_tenant(name="Early bird"), billing_point=flat, move_in=at(2022, 1, 1)
    )
    late = Occupancy(tenant=make_tenant(name="Late"), billing_point=flat, move_in=at(2022, 3, 1))
    with pytest.raises(Conflict) as exc:
        save_period(late, flat, "move_in")
    assert "Early bird" in exc.value.message and "from 1 Jan 2022" in exc.value.message
    assert Occupancy.objects.count() == 1
