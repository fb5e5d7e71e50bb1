"""Benchmark ``ledger``: 100,000 bank-file payments through the import path against a raw
``COPY`` of the same rows, and aging over 10,000 accounts.

Set-up (not timed; one organization, built set-based): 10,000 tenants with a billing point
each in 100 properties, their accounts (``accounts_for``), one issued invoice per payment
(``bulk_create``, each with its own ``payment_reference``, issued 0–150 days ago so aging
fills every bucket) posted to the ledger in one ``post_documents`` call, and a CSV bank
file of one credit line per invoice (every tenth pays half, the rest in full).

Import path (:func:`import_path`): ``bank_import_create``, what a manager's upload runs —
parse the file, match references to invoices (one query per rule), ``accounts_for``,
``payments_record_ids`` (payment rows, entries through ``post``, allocation to the named
invoice, paid status, audit), and the row report of every bank line; its rows go in with
``COPY`` (``billspree.core.db.copy_rows``).

Baseline: raw ``COPY`` of the same number of payment rows and ledger entry rows into the
same tables (ids, sequence numbers and running balances computed beforehand), plus the
one ``UPDATE`` of the accounts' cached balances the chain trigger demands — triggers on.

Both run in the same process and database, alternating, each inside a savepoint that is
rolled back afterwards, and each ends with ``SET CONSTRAINTS ALL IMMEDIATE`` so the checks
PostgreSQL defers to commit (the cached-balance trigger, deferred foreign keys) are paid
inside the timing, as a commit would. Medians of ``--runs`` (default 3). Aging:
``aging(today, by="account")`` and ``by="property"``, medians of 5 each, on the ledger
before the import (every one of the 10,000 accounts owes) and after one import (most
invoices paid, 100,000 more allocations to read); ``aging_s`` is the slowest of the four.
Everything runs in one transaction that is rolled back: nothing is left in the database.

    .venv/bin/python bench/ledger.py --small    # 5,000 payments, 1,000 accounts
    .venv/bin/python bench/ledger.py            # 100,000 payments, 10,000 accounts
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billspree.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from billing.models import Invoice, InvoiceStatus  # noqa: E402
from billspree.core.models import Organization  # noqa: E402
from billspree.core.scoping import organization_context  # noqa: E402
from billspree.core.timefmt import local_date  # noqa: E402
from ledger.bank_formats import parse_bank_file  # noqa: E402
from ledger.models import Account, EntryKind, LedgerEntry, Payment  # noqa: E402
from ledger.selectors.aging import aging  # noqa: E402
from ledger.services.accounts import accounts_for  # noqa: E402
from ledger.services.bank_imports import bank_import_create  # noqa: E402
from ledger.services.postings_from_billing import post_documents  # noqa: E402
from meters.models import BillingPoint, Property  # noqa: E402
from tenants.models import Tenant  # noqa: E402

ORG_NAME = "Bench ledger (bench/ledger.py)"
CURRENCY = "EUR"


class Rollback(Exception):
    pass


def rf_reference(n: int) -> str:
    """An ISO 11649 creditor reference (``RFcc`` + body, mod-97 check) for invoice ``n``."""
    body = f"B{n:09d}"
    digits = "".join(str(int(c, 36)) for c in body + "RF00")
    return f"RF{98 - int(digits) % 97:02d}{body}"


# --- set-up ----------------------------------------------------------------------------------


def make_invoices(org, tenants, bps, numbers: range, accounts: int, first, now,
                  age_days: tuple[int, int]) -> list[Invoice]:
    lo, span = age_days
    invoices = []
    for n in numbers:
        k = n % accounts
        issued = now - timedelta(days=lo + (n * 7919) % span, hours=1)
        total = Decimal(50 + (n * 37) % 400) + Decimal((n * 13) % 100) / 100
        invoices.append(Invoice(
            organization=org, tenant=tenants[k], billing_point=bps[k],
            # one day each, so a tenant's invoices never overlap (exclusion constraint)
            period_start=first + timedelta(days=n // accounts),
            period_end=first + timedelta(days=n // accounts + 1),
            status=InvoiceStatus.ISSUED, number=f"B-{n:07d}",
            payment_reference=rf_reference(n), net_total=total, total=total,
            issued_at=issued))
    Invoice.objects.bulk_create(invoices, batch_size=5000)
    post_documents(invoice_ids=[i.pk for i in invoices], credit_note_ids=[])
    return invoices


def build(payments: int, accounts: int, history: int):
    """The organization; ``history`` invoices paid by an earlier bank file (a ledger in use:
    the tables and their planner statistics are not empty), then ``payments`` open
    invoices issued 0–150 days ago."""
    org = Organization.objects.create(name=ORG_NAME, default_currency=CURRENCY)
    with organization_context(org):
        props = Property.objects.bulk_create(
            [Property(organization=org, name=f"Bench house {p}", time_zone="Europe/Berlin",
                      currency=CURRENCY) for p in range(100)])
        bps = BillingPoint.objects.bulk_create(
            [BillingPoint(organization=org, property=props[n % len(props)],
                          connection_id=f"BL-{n}", name=f"Flat {n}")
             for n in range(accounts)], batch_size=5000)
        tenants = Tenant.objects.bulk_create(
            [Tenant(organization=org, name=f"Tenant {n}", customer_number=f"BL{n:07d}")
             for n in range(accounts)], batch_size=5000)
        account_ids = accounts_for([(t.pk, CURRENCY) for t in tenants])
        now = timezone.now()
        first = now - timedelta(days=3000)
        today = local_date(now, org)
        old = make_invoices(org, tenants, bps, range(payments, payments + history), accounts,
                            first, now, (200, 100))
        analyze()
        import_path(bank_csv(old, today - timedelta(days=150), full=True))
        invoices = make_invoices(org, tenants, bps, range(payments), accounts, first, now,
                                 (0, 150))
        analyze()
        return org, invoices, account_ids


def analyze() -> None:
    """Statistics for the tables the set-up just filled (a live database has them; without
    them the planner believes the tables empty and picks nested loops)."""
    with connection.cursor() as cur:
        for table in ("ledger_account", "ledger_ledgerentry", "ledger_allocation",
                      "ledger_payment", "billing_invoice", "meters_billingpoint",
                      "tenants_tenant"):
            cur.execute(f"ANALYZE {table}")


def bank_csv(invoices: list[Invoice], day, full: bool = False) -> bytes:
    """One credit line per invoice: every tenth pays half (unless ``full``), the others in
    full."""
    out = io.StringIO()
    out.write("date;amount;currency;reference;remittance;payer name;bank reference\n")
    for n, inv in enumerate(invoices):
        half = n % 10 == 0 and not full
        amount = (inv.total / 2).quantize(Decimal("0.01")) if half else inv.total
        out.write(f"{day.isoformat()};{amount:.2f};{CURRENCY};{inv.payment_reference};"
                  f"Invoice {inv.number};Payer {n % 10_000};BANK-{inv.number}\n")
    return out.getvalue().encode()


# --- the two paths ---------------------------------------------------------------------------


def import_path(data: bytes) -> int:
    """The import path a manager's upload takes (``bank_import_create``: parse, match
    set-based, record the payments, keep the row report). Returns the number of ledger
    entries written."""
    before = LedgerEntry.objects.count()
    bank_import_create(data=data, filename="bank.csv")
    return LedgerEntry.objects.count() - before


def copy_prepare(org, invoices: list[Invoice], data: bytes) -> dict:
    """The baseline's rows, resolved to table columns beforehand (not timed)."""
    lines = parse_bank_file(data, "bank.csv")
    by_ref = {i.payment_reference: i for i in invoices}
    ids = accounts_for({(i.tenant_id, CURRENCY) for i in invoices})
    state = {a: [b, s] for a, b, s in Account.objects.values_list("pk", "balance", "last_seq")}
    with connection.cursor() as cur:
        cur.execute("SELECT nextval('ledger_payment_id_seq') FROM generate_series(1, %s)",
                    [len(lines)])
        payment_ids = [r[0] for r in cur.fetchall()]
    now = timezone.now().isoformat()
    pay, ent = io.StringIO(), io.StringIO()
    for pid, ln in zip(payment_ids, lines, strict=True):
        account = ids[(by_ref[ln.reference].tenant_id, CURRENCY)]
        acc = state[account]
        acc[0] -= ln.amount
        acc[1] += 1
        pay.write(f"{pid}\t{org.pk}\t{uuid.uuid4()}\t{account}\t{ln.amount}\t{CURRENCY}\t"
                  f"{ln.booked_on}\tbank_transfer\t{ln.reference}\t{ln.remittance}\t"
                  f"{ln.payer_name}\t{ln.bank_reference}\t\t\\N\t\\N\t{now}\n")
        ent.write(f"{org.pk}\t{uuid.uuid4()}\t{account}\t{acc[1]}\t{EntryKind.PAYMENT}\t"
                  f"{-ln.amount}\t{acc[0]}\t{ln.booked_on}\t\\N\tPayment (bank transfer): "
                  f"{ln.reference}\t{pid}\t0\t{now}\n")
    touched = sorted({ids[(by_ref[ln.reference].tenant_id, CURRENCY)] for ln in lines})
    return {"payments": pay.getvalue(), "entries": ent.getvalue(), "accounts": touched,
            "balances": [state[a][0] for a in touched], "seqs": [state[a][1] for a in touched],
            "rows": len(lines)}


def copy_path(prep: dict) -> int:
    with connection.cursor() as cur:
        cur.copy_expert(
            "COPY ledger_payment (id, organization_id, public_id, account_id, amount, currency,"
            " received_on, method, reference, remittance, payer_name, bank_reference, note,"
            " idempotency_key, created_by_id, created_at) FROM STDIN",
            io.StringIO(prep["payments"]))
        cur.execute(
            "UPDATE ledger_account a SET balance = v.balance, last_seq = v.seq "
            "FROM unnest(%s::bigint[], %s::numeric[], %s::bigint[]) AS v(id, balance, seq) "
            "WHERE a.id = v.id", [prep["accounts"], prep["balances"], prep["seqs"]])
        cur.copy_expert(
            "COPY ledger_ledgerentry (organization_id, public_id, account_id, seq, kind, amount,"
            " balance_after, booked_on, due_on, description, payment_id, tax_amount,"
            " created_at) FROM STDIN", io.StringIO(prep["entries"]))
    return prep["rows"]


def timed_in_savepoint(fn, *args) -> tuple[float, int]:
    """Run ``fn`` as a commit would see it (deferred checks included), then undo it."""
    sid = transaction.savepoint()
    try:
        t = time.perf_counter()
        n = fn(*args)
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        elapsed = time.perf_counter() - t
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL DEFERRED")
    finally:
        transaction.savepoint_rollback(sid)
    return elapsed, n


def median_of(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--payments", type=int, default=None)
    parser.add_argument("--accounts", type=int, default=None)
    parser.add_argument("--history", type=int, default=None,
                        help="invoices paid before the measured imports (default 2,000)")
    args = parser.parse_args()
    payments = args.payments or (5_000 if args.small else 100_000)
    accounts = args.accounts or (1_000 if args.small else 10_000)
    history = args.history if args.history is not None else (500 if args.small else 2_000)
    result: dict = {}
    try:
        with transaction.atomic():
            t = time.perf_counter()
            org, invoices, _ = build(payments, accounts, history)
            with organization_context(org):
                today = local_date(timezone.now(), org)
                data = bank_csv(invoices, today - timedelta(days=1))
                prep = copy_prepare(org, invoices, data)
                print(f"set up {accounts:,} accounts, {payments:,} issued invoices on the ledger "
                      f"and a {len(data) / 1e6:.1f} MB bank file in "
                      f"{time.perf_counter() - t:.1f} s", flush=True)
                imp, cp = [], []
                for n in range(args.runs):
                    order = (("import", import_path, data), ("copy", copy_path, prep))
                    for name, fn, arg in (order if n % 2 == 0 else order[::-1]):
                        elapsed, rows = timed_in_savepoint(fn, arg)
                        assert rows == payments, (name, rows)
                        (imp if name == "import" else cp).append(elapsed)
                    print(f"run {n + 1}: import {payments / imp[-1]:,.0f} entries/s "
                          f"({imp[-1]:.2f} s), COPY {payments / cp[-1]:,.0f} entries/s "
                          f"({cp[-1]:.2f} s)", flush=True)
                ages: dict[str, list[float]] = {"account": [], "property": []}

                def time_aging(when: str) -> None:
                    for by in ("account", "property"):
                        rows = aging(today, by=by)
                        ages[by].append(median_of(lambda by=by: aging(today, by=by), 5))
                        print(f"aging by {by} {when}: {len(rows):,} rows, median "
                              f"{ages[by][-1]:.3f} s", flush=True)

                # every account owing (all invoices open), then after one import (most paid,
                # allocations to read; undone afterwards)
                time_aging("before the import")
                sid = transaction.savepoint()
                import_path(data)
                assert Payment.objects.count() == payments + history
                paid_in = LedgerEntry.objects.filter(kind=EntryKind.PAYMENT).count()
                assert paid_in == payments + history
                time_aging("after the import")
                transaction.savepoint_rollback(sid)
            result = {"import": statistics.median(imp), "copy": statistics.median(cp),
                      "ages": ages}
            raise Rollback
    except Rollback:
        pass
    import_eps = payments / result["import"]
    copy_eps = payments / result["copy"]
    aging_s = max(max(v) for v in result["ages"].values())
    print(f"import median {result['import']:.2f} s, COPY median {result['copy']:.2f} s; "
          f"aging (medians of 5; before / after the import) by account "
          f"{' / '.join(f'{x:.3f}' for x in result['ages']['account'])} s, by property "
          f"{' / '.join(f'{x:.3f}' for x in result['ages']['property'])} s")
    print(f"BENCH ledger payments={payments} import_eps={import_eps:.0f} "
          f"copy_eps={copy_eps:.0f} ratio={import_eps / copy_eps:.3f} aging_s={aging_s:.3f}")


if __name__ == "__main__":
    main()
