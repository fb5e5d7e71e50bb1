"""Rows of every billing model for one organization (the isolation test uses them too).

Runs after the meters, readings, tenants and tariffs populators and reuses their billing
point, meter, assignment, tenant and plan from ``world.objects``. Every row carries
``world.marker`` in a visible text field.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction

from billing import services
from billing.models import Adjustment, BilledPeriod, Invoice, InvoiceLine, LineKind
from meters.models import MeterAssignment

BERLIN = ZoneInfo("Europe/Berlin")


def _invoice(world, sub, month: int) -> Invoice:
    """A draft with one usage line traced to the world's meter, written directly (the
    engine is tested on its own; here only rows are needed)."""
    start = datetime(2025, month, 1, tzinfo=BERLIN)
    end = datetime(2025, month + 1, 1, tzinfo=BERLIN)
    meter = world.objects["meter"]
    assignment = MeterAssignment.objects.filter(meter=meter).order_by("connected_at").first()
    inv = Invoice.objects.create(
        tenant=world.objects["tenant"], billing_point=sub.billing_point, subscription=sub,
        period_start=start, period_end=end, currency="EUR", net_total=Decimal("12.00"),
        tax_total=Decimal("2.28"), total=Decimal("14.28"), notes=f"Invoice {world.marker}",
    )
    period = BilledPeriod.objects.create(
        invoice=inv, meter=meter, assignment=assignment, start_at=start, end_at=end,
        quantity=Decimal("40"), start_read_at=start, start_value=Decimal("100"),
        end_read_at=end, end_value=Decimal("140"),
    )
    InvoiceLine.objects.create(
        invoice=inv, position=1, kind=LineKind.USAGE, description=f"Energy {world.marker}",
        quantity=Decimal("40"), unit="kWh", unit_price=Decimal("0.30"), amount=Decimal("12.00"),
        tax_rate=Decimal("19"), tax_amount=Decimal("2.28"), meter_type="electricity",
        start_at=start, end_at=end, billed_period=period, meter=meter, assignment=assignment,
        start_read_at=start, start_value=Decimal("100"), end_read_at=end,
        end_value=Decimal("140"),
    )
    return inv


def populate(world) -> None:
    with transaction.atomic():
        world.objects["invoice_number"] = services.document_number_take()
    m = world.marker
    sub = services.subscription_create(
        billing_point=world.objects["billing_point"], plan=world.objects["plan"],
        variant=world.objects.get("plan_variant"), start_date=date(2025, 1, 1),
        note=f"Subscription {m}",
    )
    credited = services.invoice_issue(invoice=_invoice(world, sub, 2))
    note = services.credit_note_create(invoice=credited, reason=f"Wrong reading {m}")
    draft = _invoice(world, sub, 3)
    line = services.invoice_line_add(invoice=draft, description=f"Key deposit {m}",
                                     quantity=Decimal("1"), unit_price=Decimal("20"))
    issued = services.invoice_issue(invoice=_invoice(world, sub, 4))
    adjustment = Adjustment.objects.create(  # late data about the issued period
        original_invoice=issued, tenant=issued.tenant, billing_point=sub.billing_point,
        subscription=sub, period_start=issued.period_start, period_end=issued.period_end,
        kind=LineKind.USAGE, charge=f"Energy {m}", meter=world.objects["meter"],
        quantity=Decimal("5"), unit="kWh", unit_price=Decimal("0.30"), amount=Decimal("1.50"),
        tax_rate=Decimal("19"), tax_amount=Decimal("0.29"), reason=f"Reading corrected {m}",
    )
    world.objects.update(
        adjustment=adjustment,
        subscription=sub, invoice=draft, issued_invoice=issued, credited_invoice=credited,
        invoice_line=line, billed_period=draft.billed_periods.get(), credit_note=note,
        credit_note_line=note.lines.first(),
    )
