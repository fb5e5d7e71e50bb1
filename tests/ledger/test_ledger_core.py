"""The ledger's rules, from the books' point of view: what an invoice, a payment, a credit
note and a bounced payment do to a balance and to an invoice's paid status."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing import services as billing
from billing.models import InvoiceStatus
from billspree.core.errors import Conflict
from billspree.core.timefmt import local_date
from ledger.models import Account, Allocation, EntryKind, LedgerEntry, Payment
from ledger.selectors.invoices import PayState, invoices_money
from ledger.services.accounts import account_for_tenant
from ledger.services.payments import payment_record, payment_reverse
from tests.billing.builders import make_house
from tests.ledger.builders import issued

D = Decimal


@pytest.fixture
def acct(in_org_a):
    house = make_house()
    return in_org_a, house.tenant, house.bp


def balance(account) -> Decimal:
    account.refresh_from_db()
    total = sum((e.amount for e in LedgerEntry.objects.filter(account=account)), D(0))
    assert account.balance == total  # the cache is the sum, always
    return total


def today(org) -> date:
    return local_date(timezone.now(), org)


def test_tenant_gets_an_account_and_an_issued_invoice_is_a_debit_due_after_the_terms(acct):
    w, tenant, bp = acct
    account = Account.objects.get(tenant=tenant, currency="EUR")
    start = balance(account)
    inv = issued(tenant, bp, "119.00")
    entry = LedgerEntry.objects.get(kind=EntryKind.INVOICE, invoice=inv)
    issue_day = local_date(inv.issued_at, bp.property.time_zone)
    assert entry.amount == D("119.00")
    assert entry.booked_on == issue_day
    assert entry.due_on == issue_day + timedelta(days=w.org.payment_terms_days)
    assert balance(account) == start + D("119.00")
    assert entry.balance_after == account.balance


def test_partial_then_rest_then_overpayment_credit_pays_the_next_invoice(acct):
    w, tenant, bp = acct
    account = account_for_tenant(tenant, "EUR")
    start = balance(account)
    first = issued(tenant, bp, "100.00")
    payment_record(account=account, amount=D("30.00"), received_on=today(w.org),
                   invoices=[(first.pk, None)])
    money = invoices_money([first.pk], today(w.org))[first.pk]
    assert (money.paid, money.open, money.state) == (D("30.00"), D("70.00"),
                                                    PayState.PARTIALLY_PAID)
    first.refresh_from_db()
    assert first.status == InvoiceStatus.ISSUED
    payment_record(account=account, amount=D("90.00"), received_on=today(w.org),
                   invoices=[(first.pk, None)])
    first.refresh_from_db()
    assert first.status == InvoiceStatus.PAID and first.paid_at is not None
    assert balance(account) == start + D("100.00") - D("120.00")  # 20 of credit
    second = issued(tenant, bp, "50.00")
    money = invoices_money([second.pk], today(w.org))[second.pk]
    assert (money.paid, money.state) == (D("20.00"), PayState.PARTIALLY_PAID)
    assert balance(account) == start + D("30.00")


def test_oldest_due_invoice_is_paid_first_when_the_payer_names_none(acct):
    w, tenant, bp = acct
    account = account_for_tenant(tenant, "EUR")
    older = issued(tenant, bp, "40.00")
    newer = issued(tenant, bp, "40.00")
    payment_record(account=account, amount=D("50.00"), received_on=today(w.org))
    m = invoices_money([older.pk, newer.pk], today(w.org))
    assert (m[older.pk].paid, m[newer.pk].paid) == (D("40.00"), D("10.00"))


def test_bounced_payment_reopens_the_invoice_and_the_reversal_is_idempotent(acct):
    w, tenant, bp = acct
    account = account_for_tenant(tenant, "EUR")
    start = balance(account)
    inv = issued(tenant, bp, "80.00")
    pay, created = payment_record(account=account, amount=D("80.00"),
                                  received_on=today(w.org), invoices=[(inv.pk, None)])
    inv.refresh_from_db()
    assert created and inv.status == InvoiceStatus.PAID
    rev = payment_reverse(payment=pay, reason="Returned by the bank: account closed")
    again = payment_reverse(payment=pay, reason="twice")
    assert rev.pk == again.pk and rev.kind == EntryKind.PAYMENT_REVERSAL
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.ISSUED and inv.paid_at is None
    assert invoices_money([inv.pk], today(w.org))[inv.pk].open == D("80.00")
    assert balance(account) == start + D("80.00")


def test_credit_note_pays_its_own_invoice_first(acct):
    w, tenant, bp = acct
    account = account_for_tenant(tenant, "EUR")
    start = balance(account)
    older = issued(tenant, bp, "60.00")
    inv = issued(tenant, bp, "100.00")
    note = billing.credit_note_create(invoice=inv, reason="Wrong reading", amount=D("25.00"))
    m = invoices_money([older.pk, inv.pk], today(w.org))
    assert m[older.pk].paid == D("0")
    assert m[inv.pk].paid == -note.total
    assert balance(account) == start + D("160.00") + note.total


def test_mark_paid_records_a_payment_of_what_is_open(acct):
    w, tenant, bp = acct
    account = account_for_tenant(tenant, "EUR")
    inv = issued(tenant, bp, "70.00")
    payment_record(account=account, amount=D("20.00"), received_on=today(w.org),
                   invoices=[(inv.pk, None)])
    paid = billing.invoice_mark_paid(invoice=inv)
    assert paid.status == InvoiceStatus.PAID
    pays = list(Payment.objects.filter(account=account).order_by("pk"))
    assert [p.amount for p in pays][-2:] == [D("20.00"), D("50.00")]
    assert pays[-1].reference == inv.number
    billing.invoice_mark_paid(invoice=inv)  # again: nothing more
    assert Payment.objects.filter(account=account).count() == len(pays)


def test_replayed_idempotency_key_records_one_payment(acct):
    w, tenant, bp = acct
    account = account_for_tenant(tenant, "EUR")
    results = [payment_record(account=account, amount=D("12.50"), received_on=today(w.org),
                              idempotency_key="pay-42") for _ in range(10)]
    assert len({p.pk for p, _ in results}) == 1
    assert [c for _, c in results] == [True] + [False] * 9
    assert LedgerEntry.objects.filter(payment=results[0][0]).count() == 1
    with pytest.raises(Conflict, match="pay-42"):
        payment_record(account=account, amount=D("13.00"), received_on=today(w.org),
                       idempotency_key="pay-42")


@pytest.mark.parametrize("amount, field, says", [
    (D("0"), "amount", "greater than 0"),
    (D("-5"), "amount", "greater than 0"),
    (D("1.005"), "amount", "more decimals"),
])
def test_bad_payment_is_refused_and_changes_nothing(acct, amount, field, says):
    w, tenant, bp = acct
    account = account_for_tenant(tenant, "EUR")
    before = (Payment.objects.count(), LedgerEntry.objects.count(), balance(account))
    with pytest.raises(ValidationError) as err:
        payment_record(account=account, amount=amount, received_on=today(w.org))
    assert says in " ".join(err.value.message_dict[field])
    assert (Payment.objects.count(), LedgerEntry.objects.count(), balance(account)) == before


def test_payment_in_the_future_is_refused(acct):
    w, tenant, bp = acct
    account = account_for_tenant(tenant, "EUR")
    with pytest.raises(ValidationError) as err:
        payment_record(account=account, amount=D("5"), received_on=today(w.org) + timedelta(2))
    assert "future" in err.value.message_dict["received_on"][0]


# --- the database refuses what would break the books -------------------------------------


def raw(sql: str, params=()):
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_entries_cannot_be_updated_or_deleted(acct):
    w, tenant, bp = acct
    entry = LedgerEntry.objects.get(invoice=issued(tenant, bp, "10.00"))
    with pytest.raises(IntegrityError, match="append-only"):
        raw("UPDATE ledger_ledgerentry SET amount = 1 WHERE id = %s", [entry.pk])
    with pytest.raises(IntegrityError, match="append-only"):
        raw("DELETE FROM ledger_ledgerentry WHERE id = %s", [entry.pk])


def test_an_entry_that_breaks_the_chain_is_refused(acct):
    w, tenant, bp = acct
    entry = LedgerEntry.objects.get(invoice=issued(tenant, bp, "10.00"))
    account = entry.account
    with pytest.raises(IntegrityError, match="breaks the chain"):
        raw("UPDATE ledger_account SET balance = balance + 5, last_seq = last_seq + 1 "
            "WHERE id = %s; INSERT INTO ledger_ledgerentry (organization_id, public_id, "
            "account_id, seq, kind, amount, balance_after, booked_on, description, tax_amount, "
            "created_at) VALUES (%s, gen_random_uuid(), %s, %s, 'adjustment', 5, %s, "
            "CURRENT_DATE, 'x', 0, now())",
            [account.pk, w.org.pk, account.pk, entry.seq + 1, entry.balance_after + 6])


def test_an_entry_without_its_account_moving_is_refused(acct):
    w, tenant, bp = acct
    entry = LedgerEntry.objects.get(invoice=issued(tenant, bp, "10.00"))
    with pytest.raises(IntegrityError, match="does not cache"):
        raw("INSERT INTO ledger_ledgerentry (organization_id, public_id, account_id, seq, "
            "kind, amount, balance_after, booked_on, description, tax_amount, created_at) "
            "VALUES (%s, gen_random_uuid(), %s, %s, 'adjustment', 5, %s, CURRENT_DATE, 'x', 0, "
            "now())", [w.org.pk, entry.account_id, entry.seq + 1, entry.balance_after + 5])


def test_a_cached_balance_the_entries_do_not_prove_is_refused_at_commit(acct):
    w, tenant, bp = acct
    entry = LedgerEntry.objects.get(invoice=issued(tenant, bp, "10.00"))
    with pytest.raises(IntegrityError, match="not the sum of its ledger entries"):
        raw("UPDATE ledger_account SET balance = balance - 10 WHERE id = %s",
            [entry.account_id])


def test_an_allocation_beyond_the_debit_is_refused(acct):
    w, tenant, bp = acct
    account = account_for_tenant(tenant, "EUR")
    inv = issued(tenant, bp, "10.00")
    pay, _ = payment_record(account=account, amount=D("50.00"), received_on=today(w.org),
                            invoices=[(inv.pk, None)])
    debit = LedgerEntry.objects.get(invoice=inv, kind=EntryKind.INVOICE)
    credit = LedgerEntry.objects.get(payment=pay, kind=EntryKind.PAYMENT)
    assert Allocation.objects.get(debit=debit).amount == D("10.00")
    with pytest.raises(IntegrityError, match="paid more than its amount"):
        raw("INSERT INTO ledger_allocation (organization_id, public_id, credit_id, debit_id, "
            "amount, created_at) VALUES (%s, gen_random_uuid(), %s, %s, 1, now())",
            [w.org.pk, credit.pk, debit.pk])
