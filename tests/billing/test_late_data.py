"""Late data never lost, never billed twice (issue 13 §2): golden scenarios by hand.

Every house is Berlin, 9.90 EUR a month standing charge and 0.30 EUR/kWh, both at 19 % VAT
(``make_house(flat="0.30")``); read 1100 on 1 Sep and 1400 on 1 Oct 2026 (300 kWh).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from billing import services
from billing.models import Adjustment, BilledPeriod, Invoice, InvoiceStatus, LineKind
from billspree.core.errors import Conflict
from billspree.core.models import AuditEvent
from readings.models import Source
from readings.parsing import RowIn
from readings.services import reading_ingest
from tenants import services as tenant_services
from tests.billing.builders import at, make_house, read

SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
MID = date(2026, 9, 16)


@pytest.fixture
def ctx(in_org_a):
    return in_org_a


def september(h):
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
    return Invoice.objects.get(pk=inv.pk)


def correct(meter, day: date, value: str):
    """The API's path for a correction: the same instant again with ``replace``."""
    result = reading_ingest(rows=[RowIn(0, meter.serial_number, at(day), D(value))],
                            source=Source.API, replace=True)
    assert [r.status for r in result.results] == ["replaced"], result.results
    return result


def amounts(inv):
    return [(x.kind, x.quantity, x.amount, x.tax_amount) for x in inv.lines.order_by("position")]


# --- drafted: stale, refused at issue, recomputed ------------------------------------------


def test_golden_late_correction_before_issue_marks_the_draft_stale_until_recomputed(ctx):
    h = make_house(flat="0.30")
    inv = september(h)
    # before: standing 9.90 (VAT 1.881 → 1.88); 300 kWh × 0.30 = 90.00 (VAT 17.10)
    assert (inv.net_total, inv.tax_total, inv.total) == (D("99.90"), D("18.98"), D("118.88"))

    result = correct(h.meter, OCT, "1442.5")  # the 1 Oct reading was 1442.5, not 1400

    [impact] = result.impacts
    assert impact.code == "draft_stale" and impact.invoice_id == str(inv.public_id)
    assert "stale" in impact.message and "+42.5 kWh" in impact.message
    inv.refresh_from_db()
    assert inv.is_stale and "+42.5 kWh" in inv.stale_reason
    assert inv.total == D("118.88")  # a draft is not silently changed either
    with pytest.raises(Conflict) as refused:
        services.invoice_issue(invoice=inv)
    assert refused.value.code == "invoice_stale"
    assert AuditEvent.objects.filter(action="invoice.stale", target=str(inv.public_id)).exists()

    again = services.invoice_recompute(invoice=inv)
    assert again.pk == inv.pk and not again.is_stale
    # standing 9.90 / 1.88; 342.5 kWh × 0.30 = 102.75, VAT 19.5225 → 19.52
    assert amounts(again) == [("standing", D("1"), D("9.90"), D("1.88")),
                              ("usage", D("342.5"), D("102.75"), D("19.52"))]
    assert (again.net_total, again.tax_total, again.total) == (
        D("112.65"), D("21.40"), D("134.05"))
    [period] = BilledPeriod.objects.filter(invoice=inv)
    assert period.quantity == D("342.5") and period.end_value == D("1442.5")
    issued = services.invoice_issue(invoice=again)
    assert issued.status == InvoiceStatus.ISSUED


def test_a_reading_that_changes_nothing_billed_tells_nothing(ctx):
    h = make_house(flat="0.30")
    inv = september(h)
    result = reading_ingest(rows=[RowIn(0, h.meter.serial_number, at(date(2026, 10, 5)),
                                        D("1420"))], source=Source.API)
    assert result.impacts == []  # the period ends at the 1 Oct reading: unaffected
    inv.refresh_from_db()
    assert not inv.is_stale


# --- issued: adjustment on the next invoice ---------------------------------------------------


def test_golden_late_correction_after_issue_is_billed_once_as_an_adjustment(ctx):
    h = make_house(flat="0.30")
    inv = services.invoice_issue(invoice=september(h))
    assert inv.total == D("118.88")

    result = correct(h.meter, OCT, "1442.5")

    [impact] = result.impacts
    assert impact.code == "adjustment" and impact.invoice == inv.number
    assert f"already invoiced as {inv.number}" in impact.message
    assert "+42.5 kWh will be billed" in impact.message
    inv.refresh_from_db()
    assert (inv.status, inv.total) == (InvoiceStatus.ISSUED, D("118.88"))  # issued is final
    [adj] = Adjustment.objects.all()
    # 42.5 kWh × 0.30 = 12.75; VAT: the period now carries 102.75 → 19.52, it carried 17.10
    assert (adj.quantity, adj.amount, adj.tax_amount) == (D("42.5"), D("12.75"), D("2.42"))
    assert adj.original_invoice == inv and adj.end_value == D("1442.5")
    assert adj.end_read_at == at(OCT) and adj.status == "pending"
    assert AuditEvent.objects.filter(action="billing.adjustment.create",
                                     target=inv.number).exists()

    again = reading_ingest(rows=[RowIn(0, h.meter.serial_number, at(OCT), D("1442.5"))],
                           source=Source.API, replace=True)  # the same again: unchanged
    assert again.impacts == [] and Adjustment.objects.count() == 1

    read(h.meter, (at(NOV), "1542.5"))  # October: 100 kWh from the corrected value
    [oct_inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=OCT, end=NOV)
    oct_inv = Invoice.objects.get(pk=oct_inv.pk)
    # standing 9.90 (1.88); 100 kWh × 0.30 = 30.00 (5.70); adjustment +12.75 (2.42)
    assert amounts(oct_inv) == [("standing", D("1"), D("9.90"), D("1.88")),
                                ("usage", D("100"), D("30.00"), D("5.70")),
                                ("adjustment", D("42.5"), D("12.75"), D("2.42"))]
    line = oct_inv.lines.get(kind=LineKind.ADJUSTMENT)
    assert line.adjustment == adj and inv.number in line.description
    assert (line.meter_id, line.end_value, line.end_read_at) == (h.meter.pk, D("1442.5"), at(OCT))
    adj_period = BilledPeriod.objects.get(adjustment=adj)
    assert adj_period.invoice_id == oct_inv.pk and adj_period.quantity == D("42.5")
    assert adj_period.adjusts == BilledPeriod.objects.get(invoice=inv)
    # billed once: 300 (Sep) + 42.5 (adjustment) + 100 (Oct) = 1542.5 − 1100
    usage = sum(x.quantity for i in Invoice.objects.exclude(status="void")
                for x in i.lines.filter(kind__in=["usage", "adjustment"]))
    assert usage == D("442.5")

    services.invoice_void(invoice=oct_inv)  # voiding the carrier makes it pending again
    adj.refresh_from_db()
    assert adj.status == "pending" and not BilledPeriod.objects.get(adjustment=adj).active
    [again] = services.invoice_create_draft(subscriptions=[h.subscription], start=OCT, end=NOV)
    assert Invoice.objects.get(pk=again.pk).lines.filter(adjustment=adj).count() == 1


def test_an_adjustment_is_billed_at_most_once_by_the_database(ctx):
    from django.db import IntegrityError, transaction

    h = make_house(flat="0.30")
    inv = services.invoice_issue(invoice=september(h))
    correct(h.meter, OCT, "1442.5")
    read(h.meter, (at(NOV), "1542.5"))
    [oct_inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=OCT, end=NOV)
    adj = Adjustment.objects.get()
    first = BilledPeriod.objects.get(adjustment=adj)
    with pytest.raises(IntegrityError), transaction.atomic():
        BilledPeriod.objects.create(
            invoice_id=oct_inv.pk, meter=h.meter, assignment_id=first.assignment_id,
            start_at=first.start_at, end_at=first.end_at, quantity=D("42.5"), adjustment=adj,
        )
    # an original period overlapping the issued one is still refused
    with pytest.raises(IntegrityError), transaction.atomic():
        BilledPeriod.objects.create(
            invoice_id=oct_inv.pk, meter=h.meter, assignment_id=first.assignment_id,
            start_at=at(MID), end_at=at(OCT), quantity=D("1"),
        )
    assert inv.status == InvoiceStatus.ISSUED


def test_a_draft_after_the_period_is_stale_when_an_adjustment_appears(ctx):
    h = make_house(flat="0.30")
    services.invoice_issue(invoice=september(h))
    read(h.meter, (at(NOV), "1500"))
    [oct_inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=OCT, end=NOV)
    result = correct(h.meter, OCT, "1442.5")
    assert {i.code for i in result.impacts} == {"adjustment", "draft_stale"}
    oct_inv.refresh_from_db()
    assert oct_inv.is_stale
    # the October draft's own usage changes too (it starts at the corrected 1 Oct value)
    fresh = services.invoice_recompute(invoice=oct_inv)
    kinds = {x.kind: x for x in fresh.lines.all()}
    assert kinds["usage"].quantity == D("57.5") and kinds["adjustment"].quantity == D("42.5")


def test_reading_api_answers_with_what_a_correction_affects(ctx):
    from readings.services import reading_batch_submit

    h = make_house(flat="0.30")
    inv = services.invoice_issue(invoice=september(h))
    body, _ = reading_batch_submit(items=[{
        "meterNumber": h.meter.serial_number, "readAt": at(OCT).isoformat(), "value": "1442.5",
    }], replace=True)
    [affect] = body["affects_invoices"]
    assert affect["code"] == "adjustment" and affect["invoice"] == inv.number
    assert "+42.5 kWh" in affect["message"]


# --- moves ----------------------------------------------------------------------------------


def test_golden_back_dated_move_after_issue_moves_days_and_usage_to_the_incoming_tenant(ctx):
    h = make_house(flat="0.30")
    inv = services.invoice_issue(invoice=september(h))  # A billed 30 days and 300 kWh
    newcomer = tenant_services.tenant_create(name="Bea Newcomer", email="bea@example.com")

    move = tenant_services.move_register(billing_point=h.bp, moved_at=at(MID),
                                         incoming_tenant=newcomer,
                                         readings={h.meter.serial_number: "1250"})

    messages = [i.message for i in move.impacts]
    assert len(messages) == 2 and all(inv.number in m for m in messages), messages
    mine = {(a.tenant_id, a.kind): a for a in Adjustment.objects.all()}
    # A paid 1–30 Sep; A owed 1–15 Sep: −15 days standing (15/30 × 9.90 = 4.95, VAT 0.94)
    # and −150 kWh (1100 → 1250 is A's; 1250 → 1400 is B's: 150 × 0.30 = 45.00, VAT 8.55)
    a_standing, a_usage = mine[(h.tenant.pk, "standing")], mine[(h.tenant.pk, "usage")]
    assert (a_standing.amount, a_standing.tax_amount) == (D("-4.95"), D("-0.94"))
    assert (a_usage.quantity, a_usage.amount, a_usage.tax_amount) == (
        D("-150"), D("-45.00"), D("-8.55"))
    # B owes 16–30 Sep only (not the days A already paid): +4.95 and +150 kWh
    b_standing, b_usage = mine[(newcomer.pk, "standing")], mine[(newcomer.pk, "usage")]
    assert (b_standing.amount, b_usage.quantity, b_usage.amount) == (
        D("4.95"), D("150"), D("45.00"))
    assert (b_usage.start_value, b_usage.end_value) == (D("1250"), D("1400"))
    assert all(a.original_invoice == inv for a in mine.values())
    inv.refresh_from_db()
    assert inv.total == D("118.88") and inv.status == InvoiceStatus.ISSUED

    read(h.meter, (at(NOV), "1500"))
    [oct_b] = services.invoice_create_draft(subscriptions=[h.subscription], start=OCT, end=NOV)
    oct_b = Invoice.objects.get(pk=oct_b.pk)
    assert oct_b.tenant == newcomer
    # October: 9.90 + 100 kWh × 0.30 = 30.00; adjustments of September: +4.95, +45.00
    assert sorted(x.amount for x in oct_b.lines.all()) == [
        D("4.95"), D("9.90"), D("30.00"), D("45.00")]
    assert oct_b.net_total == D("89.85")
    # A's overpayment is pending for A (no later invoice: credit it, see credit notes)
    pending = Adjustment.objects.filter(tenant=h.tenant, invoice__isnull=True)
    assert sum(a.amount for a in pending) == D("-49.95")


def test_back_dated_move_into_a_drafted_period_stales_the_draft_and_recompute_splits_it(ctx):
    h = make_house(flat="0.30")
    inv = september(h)
    newcomer = tenant_services.tenant_create(name="Bea Newcomer", email="bea@example.com")
    move = tenant_services.move_register(billing_point=h.bp, moved_at=at(MID),
                                         incoming_tenant=newcomer,
                                         readings={h.meter.serial_number: "1250"})
    assert [i.code for i in move.impacts] == ["draft_stale"]
    inv.refresh_from_db()
    assert inv.is_stale
    fresh = services.invoice_recompute(invoice=inv)
    # A: 1–15 Sep: standing 4.95 + 150 kWh 45.00; B gets a draft of their own, the same
    assert sorted(x.amount for x in fresh.lines.all()) == [D("4.95"), D("45.00")]
    [b_inv] = fresh.new_drafts
    b_inv = Invoice.objects.get(pk=b_inv.pk)
    assert b_inv.tenant == newcomer and b_inv.net_total == D("49.95")


def test_back_dated_vacancy_after_issue_moves_the_days_to_the_owner(ctx):
    h = make_house(flat="0.30")
    inv = services.invoice_issue(invoice=september(h))
    move = tenant_services.move_register(billing_point=h.bp, moved_at=at(MID),
                                         incoming_tenant=None,
                                         readings={h.meter.serial_number: "1250"})
    assert {i.code for i in move.impacts} == {"adjustment"}
    owner = {a.kind: a.amount for a in Adjustment.objects.filter(tenant=h.owner)}
    tenant = {a.kind: a.amount for a in Adjustment.objects.filter(tenant=h.tenant)}
    # the owner owes the vacant 16–30 Sep: 15/30 × 9.90 = 4.95 and 150 kWh × 0.30 = 45.00
    assert owner == {"standing": D("4.95"), "usage": D("45.00")}
    assert tenant == {"standing": D("-4.95"), "usage": D("-45.00")}
    assert all(a.original_invoice == inv for a in Adjustment.objects.all())


def test_a_vacancy_nobody_can_be_billed_for_adjusts_nothing_and_says_so(ctx):
    from tenants.models import Ownership

    h = make_house(flat="0.30")
    inv = services.invoice_issue(invoice=september(h))
    Ownership.objects.filter(property=h.prop).delete()  # no owner recorded
    move = tenant_services.move_register(billing_point=h.bp, moved_at=at(MID),
                                         incoming_tenant=None,
                                         readings={h.meter.serial_number: "1250"})
    [impact] = move.impacts
    assert impact.code == "adjustment_blocked" and inv.number in impact.message
    assert "owner" in impact.message and not Adjustment.objects.exists()


def test_meter_replacement_back_dated_into_an_issued_period_becomes_an_adjustment(ctx):
    from meters import services as meter_services
    from meters.models import MeterAssignment

    h = make_house(flat="0.30")
    inv = services.invoice_issue(invoice=september(h))
    new = meter_services.meter_create(type="electricity", serial_number=f"{h.meter.serial_number}N")
    # the meter was in fact swapped on 16 Sep at 1250; the new one read 160 on 1 Oct
    replaced = meter_services.meter_replace(
        assignment=MeterAssignment.objects.get(meter=h.meter), new_meter=new,
        replaced_at=at(MID), final_reading=D("1250"), initial_reading=D("0"),
    )
    read(new, (at(OCT), "160"))
    assert all(inv.number in i.message for i in replaced.impacts)
    # old meter 1100 → 1250 = 150 (was 300: −150); new meter 0 → 160 = +160: net +10 kWh
    usage = {a.meter_id: a.quantity for a in Adjustment.objects.filter(kind="usage")}
    assert usage == {h.meter.pk: D("-150"), new.pk: D("160")}


# --- any order of events: each kWh and each standing day billed exactly once --------------

EVENTS = ("correct", "move", "issue")


def _issue_september(h):
    for inv in Invoice.objects.filter(status="draft", period_start=at(SEP)):
        if Invoice.objects.get(pk=inv.pk).status != "draft":
            continue
        inv = services.invoice_recompute(invoice=inv) if inv.is_stale else inv
        if inv.status == "draft":
            services.invoice_issue(invoice=inv)


def _billed(tenant) -> tuple[D, D]:
    """(kWh, net) billed to ``tenant``: their invoices' usage, standing and adjustment lines
    plus their adjustments not yet on an invoice."""
    lines = [x for i in Invoice.objects.exclude(status="void").filter(tenant=tenant)
             for x in i.lines.all()]
    kwh = sum((x.quantity for x in lines if x.kind == "usage"
               or (x.kind == "adjustment" and x.adjustment.kind == "usage")), D(0))
    net = sum((x.amount for x in lines), D(0))
    pending = Adjustment.objects.filter(tenant=tenant, invoice__isnull=True,
                                        credit_note__isnull=True)
    kwh += sum((a.quantity for a in pending if a.kind == "usage"), D(0))
    net += sum((a.amount for a in pending), D(0))
    return kwh, net


@pytest.mark.parametrize("order", [
    ("correct", "move", "issue"), ("correct", "issue", "move"), ("move", "correct", "issue"),
    ("move", "issue", "correct"), ("issue", "correct", "move"), ("issue", "move", "correct"),
])
def test_every_order_of_events_bills_each_kwh_and_each_day_once(ctx, order):
    h = make_house(flat="0.30")
    september(h)
    newcomer = tenant_services.tenant_create(name="Bea Newcomer", email="bea@example.com")
    for event in order:
        if event == "correct":
            correct(h.meter, OCT, "1442.5")
        elif event == "move":
            tenant_services.move_register(billing_point=h.bp, moved_at=at(MID),
                                          incoming_tenant=newcomer,
                                          readings={h.meter.serial_number: "1250"})
        else:
            _issue_september(h)
    _issue_september(h)
    read(h.meter, (at(NOV), "1542.5"))
    services.invoice_create_draft(subscriptions=[h.subscription], start=OCT, end=NOV)
    # the truth: A 1–15 Sep: 150 kWh (1100 → 1250), standing 4.95 + 45.00 = 49.95 net;
    # B 16 Sep – 31 Oct: 192.5 + 100 kWh; standing 4.95 + 9.90; usage 57.75 + 30.00
    assert _billed(h.tenant) == (D("150"), D("49.95"))
    assert _billed(newcomer) == (D("292.5"), D("102.60"))
    assert not Invoice.objects.filter(status="draft", period_start=at(SEP)).exists()


def test_full_credit_of_an_invoice_adjusted_on_a_later_one_is_refused_until_that_is_credited(
        ctx):
    """September billed 300 kWh (INV-1); its 1 Oct reading corrected to 1442.5 → +42.5 kWh
    carried by October's invoice (INV-2, 100 kWh). Crediting INV-1 in full and billing
    September again billed 142.5 kWh for 1542.5 − 1100 = 442.5 (the adjustment on INV-2
    still covers September, so its re-bill had no usage): refused, naming INV-2 and what to
    do, nothing changed. Done in the order it says
    (credit INV-2 in full, then INV-1, bill both months again): 342.5 + 100 = 442.5 kWh and
    two months' standing charge, once each."""
    h = make_house(flat="0.30")
    sep_inv = services.invoice_issue(invoice=september(h))
    correct(h.meter, OCT, "1442.5")
    read(h.meter, (at(NOV), "1542.5"))
    [oct_inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=OCT, end=NOV)
    oct_inv = services.invoice_issue(invoice=Invoice.objects.get(pk=oct_inv.pk))
    [adj] = Adjustment.objects.all()
    assert adj.invoice == oct_inv and adj.quantity == D("42.5")

    with pytest.raises(Conflict) as refused:
        services.credit_note_create(invoice=sep_inv, reason="Wrong tenant")
    message = str(refused.value)
    assert refused.value.code == "adjusted_on_later_invoice"
    assert oct_inv.number in message and sep_inv.number in message
    assert f"Credit {oct_inv.number} in full first" in message
    sep_inv.refresh_from_db()
    assert sep_inv.status == InvoiceStatus.ISSUED and not sep_inv.credit_notes.exists()

    services.credit_note_create(invoice=oct_inv, reason="Re-bill October")
    adj.refresh_from_db()
    assert adj.status == "pending"
    services.credit_note_create(invoice=sep_inv, reason="Wrong tenant")
    adj.refresh_from_db()
    assert adj.credit_note is not None and adj.invoice is None  # settled by the full credit
    services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
    services.invoice_create_draft(subscriptions=[h.subscription], start=OCT, end=NOV)
    live = Invoice.objects.exclude(status="void")
    kwh = sum(x.quantity for i in live for x in i.lines.filter(kind__in=["usage", "adjustment"]))
    days = sum(x.quantity for i in live for x in i.lines.filter(kind="standing"))
    assert (kwh, days) == (D("442.5"), D("2"))


def test_adjustment_texts_show_the_period_through_the_one_formatter(ctx):
    """The warning and the adjustment line name September as people read it, "1–30 Sep
    2026" (as invoices, PDFs and lists do), not "2026-09-01 – 2026-09-30"."""
    h = make_house(flat="0.30")
    inv = services.invoice_issue(invoice=september(h))
    [impact] = correct(h.meter, OCT, "1442.5").impacts
    assert f"{inv.number} (1–30 Sep 2026)" in impact.message, impact.message
    read(h.meter, (at(NOV), "1542.5"))
    [oct_inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=OCT, end=NOV)
    line = Invoice.objects.get(pk=oct_inv.pk).lines.get(kind=LineKind.ADJUSTMENT)
    assert line.description.startswith(f"Adjustment of {inv.number} (1–30 Sep 2026): ")
    assert "2026-09" not in impact.message + line.description
