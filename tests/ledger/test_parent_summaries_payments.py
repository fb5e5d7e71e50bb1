"""A parent pays its summary: by the reference printed on it, in a bank file or by hand /
API. The money is split over the children's invoices on the summary, oldest due first
across the children; what is left is credit on the parent account; twice adds nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.models import InvoiceStatus
from billspree.core.models import Organization
from billspree.core.payment_refs import is_valid_creditor_reference, is_valid_qr_reference
from billspree.core.timefmt import local_date
from ledger.models import Account, BankLineStatus, Payment
from ledger.selectors.invoices import invoices_money
from ledger.selectors.summaries import summaries_queryset
from ledger.services.accounts import account_for_tenant, account_set_parent
from ledger.services.bank_imports import bank_import_create
from ledger.services.payments import payment_record
from ledger.services.summaries import parent_summaries_create
from tenants import services as tenant_services
from tests.billing.builders import make_house
from tests.ledger.builders import issued
from tests.ledger.test_bank_imports import camt054, strd

D = Decimal


def terms(org, days: int) -> None:
    Organization.objects.filter(pk=org.pk).update(payment_terms_days=days)
    org.refresh_from_db()


@pytest.fixture
def group(in_org_a):
    """Retail Group pays for shops A and B (CHF). Due: A2 in 10 days, B1 in 20, A1 in 30."""
    w = in_org_a
    shop_a, shop_b = make_house(currency="CHF"), make_house(currency="CHF")
    parent = account_for_tenant(tenant_services.tenant_create(name="Retail Group AG"), "CHF")
    for shop in (shop_a, shop_b):
        account_set_parent(account=account_for_tenant(shop.tenant, "CHF"), parent=parent)
    terms(w.org, 30)
    a1 = issued(shop_a.tenant, shop_a.bp, "100.00", currency="CHF")
    terms(w.org, 10)
    a2 = issued(shop_a.tenant, shop_a.bp, "50.00", currency="CHF")
    terms(w.org, 20)
    b1 = issued(shop_b.tenant, shop_b.bp, "200.00", currency="CHF")
    today = local_date(timezone.now(), w.org)
    [summary] = parent_summaries_create(first_day=today, last_day=today)
    accounts = {"parent": parent, "a": account_for_tenant(shop_a.tenant, "CHF"),
                "b": account_for_tenant(shop_b.tenant, "CHF")}
    return w, today, summary, accounts, {"a1": a1, "a2": a2, "b1": b1}


def open_of(invs, today) -> dict[str, Decimal]:
    money = invoices_money([i.pk for i in invs.values()], today)
    return {k: money[i.pk].open for k, i in invs.items()}


def balances(accounts) -> dict[str, Decimal]:
    return {k: Account.objects.get(pk=a.pk).balance for k, a in accounts.items()}


def line(ref: str, amount: str, bank_ref: str) -> dict:
    return {"bank_ref": bank_ref, "amount": amount, "payer": "Retail Group AG",
            "rmt": strd(ref)}


def test_the_summary_has_its_own_reference_unlike_any_invoice(group):
    w, today, summary, accounts, invs = group
    assert is_valid_creditor_reference(summary.payment_reference)  # no QR-IBAN: SCOR
    assert summary.payment_reference not in {i.payment_reference for i in invs.values()}
    Organization.objects.filter(pk=w.org.pk).update(iban="CH4431999123000889012")
    w.org.refresh_from_db()
    shop = make_house(currency="CHF")
    other = account_for_tenant(tenant_services.tenant_create(name="Other Group"), "CHF")
    account_set_parent(account=account_for_tenant(shop.tenant, "CHF"), parent=other)
    issued(shop.tenant, shop.bp, "10.00", currency="CHF")
    [qr] = parent_summaries_create(first_day=today, last_day=today, parent=other)
    assert is_valid_qr_reference(qr.payment_reference) and qr.payment_reference[0] == "9"


def test_a_bank_line_paying_the_summary_in_full_pays_every_child_invoice(group):
    w, today, summary, accounts, invs = group
    ref = summary.payment_reference
    spaced = " ".join(ref[i:i + 4] for i in range(0, len(ref), 4)).lower()
    data = camt054(today.isoformat(), [line(spaced, "350.00", "S1")])
    imp = bank_import_create(data=data, filename="camt054.xml")
    assert (imp.lines_count, imp.matched_count, imp.unmatched_count) == (1, 1, 0)
    assert open_of(invs, today) == {"a1": D("0"), "a2": D("0"), "b1": D("0")}
    for inv in invs.values():
        inv.refresh_from_db()
        assert inv.status == InvoiceStatus.PAID
    assert balances(accounts) == {"parent": D("0"), "a": D("0"), "b": D("0")}
    parts = list(Payment.objects.filter(reference=ref).order_by("pk"))
    assert sorted((p.account_id, p.amount) for p in parts) == sorted(
        [(accounts["a"].pk, D("150.00")), (accounts["b"].pk, D("200.00"))])
    assert [p.bank_reference for p in parts].count("S1") == 1  # the line is paid in once
    row = imp.lines.get()
    assert row.status == BankLineStatus.MATCHED and row.account_id == accounts["parent"].pk
    assert "paid to 2 accounts" in row.reason
    [listed] = summaries_queryset().filter(pk=summary.pk)
    assert (listed.invoices_count, listed.open_amount) == (3, D("0"))
    # the same file again adds nothing; the same line in another file is a duplicate
    assert bank_import_create(data=data, filename="again.xml").repeat is True
    other = bank_import_create(data=camt054(today.isoformat(), [
        line(ref, "350.00", "S1"), line("RF18539007547034", "1.00", "S9")]), filename="b.xml")
    assert other.duplicate_count == 1
    assert Payment.objects.filter(reference=ref).count() == 2
    assert balances(accounts) == {"parent": D("0"), "a": D("0"), "b": D("0")}


def test_a_partial_payment_pays_oldest_due_first_across_the_children(group):
    """120.00 of 350.00: A2 (due in 10 days) 50.00 in full, then B1 (20 days) 70.00 of
    200.00; A1 (30 days) stays open. Then 300.00: B1's 130.00, A1's 100.00, and the
    70.00 left over is credit on the parent account."""
    w, today, summary, accounts, invs = group
    ref = summary.payment_reference
    bank_import_create(data=camt054(today.isoformat(), [line(ref, "120.00", "P1")]),
                       filename="one.xml")
    assert open_of(invs, today) == {"a1": D("100.00"), "a2": D("0"), "b1": D("130.00")}
    assert balances(accounts) == {"parent": D("0"), "a": D("100.00"), "b": D("130.00")}
    [listed] = summaries_queryset().filter(pk=summary.pk)
    assert listed.open_amount == D("230.00")
    imp = bank_import_create(data=camt054(today.isoformat(), [line(ref, "300.00", "P2")]),
                             filename="two.xml")
    assert open_of(invs, today) == {"a1": D("0"), "a2": D("0"), "b1": D("0")}
    assert balances(accounts) == {"parent": D("-70.00"), "a": D("0"), "b": D("0")}
    assert "70.00 credit on the parent" in imp.lines.get().reason
    assert sorted(Payment.objects.filter(reference=ref).values_list("amount", flat=True)) == [
        D("50.00"), D("70.00"), D("70.00"), D("100.00"), D("130.00")]


def test_two_lines_of_one_file_share_what_is_open(group):
    w, today, summary, accounts, invs = group
    ref = summary.payment_reference
    bank_import_create(data=camt054(today.isoformat(), [
        line(ref, "200.00", "T1"), line(ref, "200.00", "T2")]), filename="two-lines.xml")
    assert open_of(invs, today) == {"a1": D("0"), "a2": D("0"), "b1": D("0")}
    assert balances(accounts) == {"parent": D("-50.00"), "a": D("0"), "b": D("0")}


def test_a_manual_or_api_payment_quoting_the_summary_is_split_once_per_key(group):
    w, today, summary, accounts, invs = group
    ref = summary.payment_reference.lower()
    first, created = payment_record(account=accounts["parent"], amount=D("80.00"),
                                    received_on=today, reference=ref, idempotency_key="k-1")
    assert created and first.account_id == accounts["a"].pk and first.amount == D("50.00")
    assert open_of(invs, today) == {"a1": D("100.00"), "a2": D("0"), "b1": D("170.00")}
    again, created = payment_record(account=accounts["parent"], amount=D("80.00"),
                                    received_on=today, reference=ref, idempotency_key="k-1")
    assert (again.pk, created) == (first.pk, False)
    assert Payment.objects.filter(reference=summary.payment_reference).count() == 2
    assert open_of(invs, today)["b1"] == D("170.00")
    # on a child's account the reference is just text: an ordinary payment of that child
    p, _ = payment_record(account=accounts["b"], amount=D("5.00"), received_on=today,
                          reference=ref)
    assert p.account_id == accounts["b"].pk and open_of(invs, today)["b1"] == D("165.00")


def test_a_bad_summary_payment_changes_nothing(group):
    w, today, summary, accounts, invs = group
    with pytest.raises(ValidationError) as exc:
        payment_record(account=accounts["parent"], amount=D("10.001"), received_on=today,
                       reference=summary.payment_reference)
    assert "amount" in exc.value.message_dict
    assert not Payment.objects.filter(reference=summary.payment_reference).exists()
    imp = bank_import_create(data=camt054(today.isoformat(), [
        line(summary.payment_reference, "10.00", "E1")]).replace(b'Ccy="CHF">10.00',
                                                                  b'Ccy="EUR">10.00'),
        filename="eur.xml")
    row = imp.lines.get()
    assert row.status == BankLineStatus.UNMATCHED and "CHF" in row.reason
    assert open_of(invs, today)["a2"] == D("50.00")


def test_the_portal_says_a_payment_on_the_parent_was_split(group):
    from tests.conftest import login_client

    w, today, summary, accounts, invs = group
    client = login_client(w.manager, w.org)
    url = f"/ledger/accounts/{accounts['parent'].public_id}/"
    response = client.post(url + "payments/new/", {
        "amount": "80.00", "received_on": today.isoformat(), "method": "bank_transfer",
        "reference": summary.payment_reference, "note": "", "allocation": "oldest"})
    assert response.status_code == 302
    html = client.get(url).content.decode()
    assert (f"Payment of 80.00 CHF quotes summary reference {summary.payment_reference}: "
            "it was split over the children") in html
    # 80.00 → a2 50.00 (due first) and b1 30.00: nothing stays on the parent
    assert open_of(invs, today) == {"a1": D("100.00"), "a2": D("0"), "b1": D("170.00")}
    assert "Balance now 0.00 CHF." in html
