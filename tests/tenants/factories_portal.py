"""Tenant portal rows: ``populate`` gives the isolation world TenantAccess rows (marked), and
:func:`make_portal_tenant` builds a tenant with a login, a home, a meter with readings, an
issued invoice with a real PDF statement and a draft, for the portal's own tests and the
tenant-vs-tenant walk in ``tests/test_isolation.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from itertools import count
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile

from billspree.core.models import User
from meters.models import BillingPoint, Meter, MeterAssignment, Property
from readings.models import Source
from readings.parsing import RowIn
from readings.services import reading_ingest
from tenants import services
from tenants.models import Occupancy, Tenant, TenantAccess
from tests.factories import make_user

BERLIN = ZoneInfo("Europe/Berlin")
_seq = count(1)


def populate(world) -> None:
    """An active login for the world's tenant and an open invitation for the newcomer."""
    marker = world.marker.lower()
    tenant, newcomer = world.objects["tenant"], world.objects["newcomer"]
    user = make_user(f"portal-{marker}@example.test", first_name=f"Portal {world.marker}")
    access, token = services.tenant_portal_invite(
        tenant=tenant, email=user.email, actor=world.admin
    )
    services.tenant_portal_accept(token=token, user=user)
    pending, _ = services.tenant_portal_invite(
        tenant=newcomer, email=f"invited-{marker}@example.test", actor=world.admin
    )
    world.objects.update(tenant_access=access, tenant_portal_user=user,
                         tenant_access_pending=pending)


@cache
def small_pdf() -> bytes:
    """A real PDF (B's generator makes the real statements; this stands in until then)."""
    import weasyprint

    return weasyprint.HTML(string="<h1>Statement</h1><p>Total 14.28 EUR</p>").write_pdf()


@dataclass
class PortalTenant:
    label: str
    tenant: Tenant
    user: User
    access: TenantAccess
    billing_point: BillingPoint
    meter: Meter
    occupancy: Occupancy
    invoice: object  # billing.Invoice (issued, with a ready statement)
    draft: object  # billing.Invoice (draft: never shown in the portal)
    extra: dict = field(default_factory=dict)

    def ids(self) -> set[str]:
        """Public ids of everything this tenant may see."""
        rows = [self.tenant, self.access, self.billing_point, self.meter, self.occupancy,
                self.invoice, self.invoice.statement, self.draft,
                *MeterAssignment.objects.unscoped().filter(meter=self.meter)]
        return {str(r.public_id) for r in rows}


def at(year: int, month: int, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=BERLIN)


def read(meter: Meter, *points: tuple[datetime, str]) -> None:
    rows = [RowIn(n, meter.serial_number, moment, Decimal(value))
            for n, (moment, value) in enumerate(points)]
    result = reading_ingest(rows=rows, source=Source.API)
    assert not [r for r in result.results if r.status == "rejected"], result.results


def portal_login(tenant: Tenant, email: str, actor=None) -> tuple[User, TenantAccess]:
    user = make_user(email, first_name=tenant.name)
    _, token = services.tenant_portal_invite(tenant=tenant, email=email, actor=actor)
    return user, services.tenant_portal_accept(token=token, user=user)


def issued_invoice_with_statement(tenant: Tenant, bp: BillingPoint, meter: Meter, label: str,
                                  month: int = 2, *, issue: bool = True):
    """An invoice with one usage line (written directly, as tests/billing/factories does),
    issued and given a ready statement holding a real PDF: billing's own statement when its
    generator ran on commit (live-server tests), else a small stand-in PDF."""
    from billing import services as billing_services
    from billing.models import Invoice, InvoiceLine, InvoiceStatement, LineKind, StatementStatus

    start, end = at(2025, month), at(2025, month + 1)
    inv = Invoice.objects.create(
        tenant=tenant, billing_point=bp, period_start=start, period_end=end, currency="EUR",
        net_total=Decimal("12.00"), tax_total=Decimal("2.28"), total=Decimal("14.28"),
        notes=f"Invoice {label}",
    )
    InvoiceLine.objects.create(
        invoice=inv, position=1, kind=LineKind.USAGE, description=f"Energy {label}",
        quantity=Decimal("40"), unit="kWh", unit_price=Decimal("0.30"), amount=Decimal("12.00"),
        tax_rate=Decimal("19"), tax_amount=Decimal("2.28"), meter_type="electricity",
        start_at=start, end_at=end, meter=meter,
        assignment=MeterAssignment.objects.filter(meter=meter).order_by("connected_at").first(),
        start_read_at=start, start_value=Decimal("100"), end_read_at=end, end_value=Decimal("140"),
    )
    if not issue:
        return inv
    inv = billing_services.invoice_issue(invoice=inv)
    statement, _ = InvoiceStatement.objects.get_or_create(invoice=inv)
    if statement.status == StatementStatus.READY:
        return inv  # billing's generator already rendered it (transactional tests)
    statement.file.save(f"test-{inv.public_id}.pdf", ContentFile(small_pdf()), save=False)
    statement.status, statement.size = StatementStatus.READY, len(small_pdf())
    statement.save()
    return inv


def make_home(label: str, prop: Property | None = None) -> tuple[BillingPoint, Meter]:
    """A flat with an electricity meter (connected 1 Jan 2025) and two readings."""
    n = next(_seq)
    prop = prop or Property.objects.create(name=f"Portal house {n}", time_zone="Europe/Berlin")
    bp = BillingPoint.objects.create(property=prop, connection_id=f"P{n}-{label}",
                                     name=f"Flat {label}")
    meter = Meter.objects.create(type="electricity", unit="kWh", serial_number=f"E-{label}",
                                 label=f"Meter {label}")
    MeterAssignment.objects.create(meter=meter, billing_point=bp, connected_at=at(2025, 1),
                                   initial_reading=Decimal("100"))
    read(meter, (at(2025, 2), "140"), (at(2025, 3), "200"))
    return bp, meter


def make_portal_tenant(world, label: str, *, prop: Property | None = None) -> PortalTenant:
    """A tenant named after ``label`` (a marker) with everything the portal shows."""
    bp, meter = make_home(label, prop)
    tenant = services.tenant_create(name=f"Tenant {label}", email=f"{label.lower()}@example.test",
                                    notes=f"note {label}")
    occupancy = services.occupancy_create(tenant=tenant, billing_point=bp, move_in=at(2025, 1))
    user, access = portal_login(tenant, tenant.email, world.admin)
    invoice = issued_invoice_with_statement(tenant, bp, meter, label)
    draft = issued_invoice_with_statement(tenant, bp, meter, f"draft {label}", month=3,
                                          issue=False)
    return PortalTenant(label, tenant, user, access, bp, meter, occupancy, invoice, draft)
