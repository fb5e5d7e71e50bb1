"""A reading correction and a back-dated move of one issued period at the same moment:
no deadlock, and together they are billed exactly once (the decisions are serialized)."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection

from billing import services
from billing.models import Adjustment, Invoice
from billspree.core.scoping import organization_context
from readings.models import Source
from readings.parsing import RowIn
from readings.services import reading_ingest
from tenants import services as tenant_services
from tests.billing.builders import at, make_house, read

SEP, OCT, MID = date(2026, 9, 1), date(2026, 10, 1), date(2026, 9, 16)


@pytest.mark.django_db(transaction=True)
def test_concurrent_correction_and_back_dated_move_bill_each_kwh_once(world_a):
    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
        services.invoice_issue(invoice=Invoice.objects.get(pk=inv.pk))
        bea = tenant_services.tenant_create(name="Bea", email="bea@example.com")
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def run(work) -> None:
        try:
            with organization_context(world_a.org):
                barrier.wait()
                work()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    def correct() -> None:
        reading_ingest(rows=[RowIn(0, h.meter.serial_number, at(OCT), D("1442.5"))],
                       source=Source.API, replace=True)

    def move() -> None:
        tenant_services.move_register(billing_point=h.bp, moved_at=at(MID), incoming_tenant=bea,
                                      readings={h.meter.serial_number: "1250"})

    threads = [threading.Thread(target=run, args=(w,)) for w in (correct, move)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with organization_context(world_a.org):
        kwh = {}
        for a in Adjustment.objects.filter(kind="usage"):
            kwh[a.tenant_id] = kwh.get(a.tenant_id, D(0)) + a.quantity
    # billed 300 to A; truth: A 1100 → 1250 = 150 (−150), B 1250 → 1442.5 = 192.5
    assert kwh == {h.tenant.pk: D("-150"), bea.pk: D("192.5")}
