"""Many writers on one account at once: no lost update, no duplicate (real PostgreSQL,
one connection per thread)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing import services as billing
from billspree.core.scoping import organization_context
from billspree.core.timefmt import local_date
from ledger.models import EntryKind, LedgerEntry, Payment
from ledger.services.accounts import account_for_tenant
from ledger.services.payments import payment_record
from tests.billing.builders import make_house
from tests.ledger.builders import draft

D = Decimal


def run_threads(jobs, workers: int = 10) -> list[str]:
    """Run the callables from ``workers`` threads, released together; their errors."""
    barrier = threading.Barrier(workers)
    errors: list[str] = []
    chunks = [jobs[n::workers] for n in range(workers)]

    def work(chunk):
        try:
            barrier.wait()
            for job in chunk:
                job()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_50_payments_and_50_invoice_issues_at_once_leave_the_exact_balance(world_a):
    org = world_a.org
    with organization_context(org):
        house = make_house()
        account = account_for_tenant(house.tenant, "EUR")
        drafts = [draft(house.tenant, house.bp, D("10.00") + n) for n in range(50)]
        today = local_date(timezone.now(), org)
        start = account.balance
    pays = [D("3.00") + D(n) / 100 for n in range(50)]

    def issue(inv):
        def job():
            with organization_context(org):
                billing.invoice_issue(invoice=inv)
        return job

    def pay(n, amount):
        def job():
            with organization_context(org):
                payment_record(account=account, amount=amount, received_on=today,
                               idempotency_key=f"conc-{n}")
        return job

    jobs = [j for n in range(50) for j in (issue(drafts[n]), pay(n, pays[n]))]
    assert run_threads(jobs) == []
    with organization_context(org):
        account.refresh_from_db()
        entries = list(LedgerEntry.objects.filter(account=account).order_by("seq"))
        invoiced = sum((d.total for d in drafts), D(0))
        assert account.balance == start + invoiced - sum(pays, D(0))
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert sum((e.amount for e in entries), D(0)) == account.balance
        assert LedgerEntry.objects.filter(account=account, kind=EntryKind.INVOICE).count() == 50
        assert Payment.objects.filter(account=account).count() == 50


@pytest.mark.django_db(transaction=True)
def test_the_same_payment_replayed_by_ten_clients_at_once_is_recorded_once(world_a):
    org = world_a.org
    with organization_context(org):
        house = make_house()
        account = account_for_tenant(house.tenant, "EUR")
        today = local_date(timezone.now(), org)
        before = account.balance
    seen: list[tuple[int, bool]] = []

    def replay():
        with organization_context(org):
            p, created = payment_record(account=account, amount=D("99.95"), received_on=today,
                                        idempotency_key="replay-1")
            seen.append((p.pk, created))

    assert run_threads([replay] * 10) == []
    assert len({pk for pk, _ in seen}) == 1
    assert sorted(c for _, c in seen) == [False] * 9 + [True]
    with organization_context(org):
        account.refresh_from_db()
        assert account.balance == before - D("99.95")
        assert LedgerEntry.objects.filter(account=account, kind=EntryKind.PAYMENT).count() == 1
