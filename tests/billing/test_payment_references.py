"""Payment references of invoices: set in the UPDATE that numbers them (by hand and in a
bill run's set-based issue), unique per organization, matching the organization's account
(QRR with a QR-IBAN on CHF invoices, SCOR otherwise), and as final as the number."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from billing import services
from billing.models import Invoice
from billing.services import runs
from billspree.core.models import Organization
from billspree.core.payment_refs import (
    is_valid_creditor_reference,
    is_valid_qr_reference,
    normalise_reference,
)
from tests.billing.builders import at, make_house, read

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


def set_iban(org, iban: str) -> None:
    Organization.objects.filter(pk=org.pk).update(iban=iban)
    org.refresh_from_db()


def batch_of(n: int, currency: str, **options):
    houses = [make_house(tenant_email=f"t{i}@example.com", currency=currency) for i in range(n)]
    for h in houses:
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    batch = services.batch_create(name=f"Monthly {currency}", **options)
    services.batch_subscriptions_set(batch=batch, add=[h.subscription for h in houses])
    return batch


def drafts(n: int, currency: str) -> list[Invoice]:
    out = []
    for i in range(n):
        h = make_house(tenant_email=f"d{i}@example.com", currency=currency)
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        out += services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
    return out


def test_bill_run_issue_sets_unique_qr_references_from_the_sequence(
    in_org_a, django_capture_on_commit_callbacks
):
    set_iban(in_org_a.org, "CH4431999123000889012")
    batch = batch_of(3, "CHF", send_statements=False)
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.bill_run_start(batch=batch, period_start=SEP, period_end=OCT, trigger="api")
    with django_capture_on_commit_callbacks(execute=False):
        issued = runs.bill_run_issue(run=run)
    stored = {i.number: i.payment_reference
              for i in Invoice.objects.filter(bill_run=run)}
    assert stored == {i.number: i.payment_reference for i in issued}  # in memory = stored
    for number, ref in stored.items():
        assert is_valid_qr_reference(ref)
        assert int(ref[:-1]) == int(number.removeprefix("INV-"))  # maps back


def test_hand_issue_sets_a_scor_for_eur_and_normal_ibans(in_org_a):
    set_iban(in_org_a.org, "CH4431999123000889012")  # a QR-IBAN, but EUR takes SCOR
    [draft] = drafts(1, "EUR")
    assert draft.payment_reference == ""
    inv = services.invoice_issue(invoice=draft)
    assert is_valid_creditor_reference(inv.payment_reference)
    assert inv.payment_reference == f"RF{inv.payment_reference[2:4]}INV000001"
    typed = f" {inv.payment_reference[:4].lower()} {inv.payment_reference[4:]} "
    assert Invoice.objects.get(payment_reference=normalise_reference(typed)) == inv


def test_the_reference_of_an_issued_invoice_cannot_change(in_org_a):
    [draft] = drafts(1, "EUR")
    inv = services.invoice_issue(invoice=draft)
    with pytest.raises(IntegrityError, match="only its status may change"), \
            transaction.atomic():
        Invoice.objects.filter(pk=inv.pk).update(payment_reference="RF18539007547034")


def test_references_are_unique_per_organization(in_org_a):
    first, second = drafts(2, "EUR")
    first = services.invoice_issue(invoice=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=second.pk).update(payment_reference=first.payment_reference)
