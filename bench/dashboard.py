"""Benchmark ``dashboard``: the energy dashboard page's p95 under load (locust) against a
trivial page (``/healthz/``) measured in the same run, by the same users, on 127.0.0.1.

    .venv/bin/python bench/dashboard.py            # 2,000 meters
    .venv/bin/python bench/dashboard.py --small    # 200 meters, a shorter run

Data (set-based SQL, never a Python loop per row): a "Bench dashboard" organization
(Europe/Zurich) with 20 properties of 100 billing points (with areas), one meter each
(every 10th cold water), connected 25 months ago. The page reads only the consumption
rollups, never readings, so the year (and the year before it, for the comparison) of
15-minute data is built as the rollups those readings would give, exactly as
``bench/reports.py`` builds its rollups by SQL: each local day's quantity is its number of
quarter hours (92, 96 or 100: DST days count) × the meter's quarter-hour use, each month
the sum of its days (``days`` = how many). Each meter's reading state holds its latest
reading: 15 minutes ago, every 50th 30 h ago (amber), every 100th 100 h ago (red), so the
"not read" list has rows.

Invoices (set-based too: a temporary table of one row per billing point and local month by
``INSERT … SELECT`` over the meters and their monthly rollups, then ``INSERT … SELECT`` of
invoices, lines, credit notes and credit-note lines from it): one tenant per billing point
(``bulk_create``, customer number ``T-<serial>``), and for each billing point and each of
the 25 local months (this month − 24 … this month, so this month, last month and the same
month a year ago all have a cost) one regular invoice ``DSH-<yyyymm>-<n>`` over the local
month (Europe/Zurich midnights, so the period starts at 22:00 or 23:00 UTC the day before),
in EUR, with a standing-charge line (``meter_type=''``) and a usage line of the meter's
type (its monthly rollup's quantity × a price; meter and assignment set), VAT 8.1 % on the
invoice's net rounded once (the lines carry their shares), ``total = net + tax``
(+ cash rounding 0). They are inserted as drafts (the database refuses lines on a
non-draft invoice), then issued in one ``UPDATE``: every third one of the months before
this month paid, about one in 400 credited in full (a credit note with every line negated,
the invoice void), about one in 53 of the others credited partly (a credit note of its usage
line, the invoice stays issued or paid). No ledger entries, statements or billed periods:
the dashboard reads none of them (and no trigger of ``billing_invoice`` requires them).
With 2,000 meters: 50,000 invoices, 100,000 lines, ~1,100 credit notes.

Checked before the load: the dashboard's cost (``energy_dashboard`` in-process, cache off)
of this month, last month and the month a year ago, per meter type and in total, equals an
independent sum over the inserted rows (lines of the issued and paid invoices whose
``period_start`` is the month's local midnight computed in Python, plus the lines of their
credit notes); last month must have credit notes, void and paid invoices, so a query that
ignored credit notes or status would fail the run. ``--explain`` prints
``EXPLAIN (ANALYZE, BUFFERS)`` of the cost query the dashboard runs and its median
execution time over 5 runs (``cost_query_ms`` in the line).

Timed: gunicorn (2 sync workers, as the Dockerfile serves) on 127.0.0.1 with the
environment of this process; locust (headless, ``--users`` users, each requesting the
dashboard and ``/healthz/`` in turn with 0.1–0.3 s between requests, logged in with a real
session cookie) for ``--seconds``; every response time is kept and the p95 computed
exactly (not locust's rounded buckets). A non-200 answer fails the run.

``--keep`` leaves the data, ``--reuse`` then skips rebuilding the days and months when
they are complete for today, and the invoices when they are there for the same 25 months
(the reading states are always rebuilt: they are relative to now). Cleaning up deletes
the rollups, reading states, invoices, lines, credit notes (+ lines) and tenants it made
(issued invoices and credit notes are immutable: their guard triggers are disabled for
the bench organization's ``DELETE`` only, inside its transaction, by ``ALTER TABLE …
DISABLE TRIGGER``, which needs the tables' owner and locks them for that moment).
``--cache-seconds N`` serves with ``DASHBOARD_CACHE_SECONDS=N`` (0: the dashboard's
cache off; ``cache_s`` in the line says which).

Last line: ``BENCH dashboard meters=… invoices=… dashboard_p95_ms=… baseline_p95_ms=… …``.
``dashboard_p95_ms(small=…)`` runs the same and returns the p95 (for ``bench/reports.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import readings_setup as b  # noqa: F401  (Django set-up)
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from billspree.core.middleware import SESSION_KEY
from billspree.core.models import Membership, Organization, Role
from billspree.core.scoping import organization_context
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from monitoring.selectors.dashboard import LAST, PERIODS, add_months, energy_dashboard
from tenants.models import Tenant

ORG_NAME = "Bench dashboard (bench/dashboard.py)"
EMAIL = "bench-dashboard@example.test"
ZONE = "Europe/Zurich"
CURRENCY = "EUR"
MONTHS_BACK = 24
ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = Path(__file__).with_name("dashboard_locust.py")


def setup(org: Organization, count: int) -> list[int]:
    """``count`` meters on their own billing points over 20 properties (made once)."""
    ids = list(Meter.objects.filter(serial_number__startswith="DSH-")
               .order_by("serial_number").values_list("id", flat=True))
    if len(ids) >= count:
        return ids[:count]
    props = [Property.objects.get_or_create(name=f"Bench house {n:02d}",
                                            defaults={"time_zone": ZONE})[0] for n in range(20)]
    serials = [f"DSH-{n:05d}" for n in range(len(ids), count)]
    points = BillingPoint.objects.bulk_create([
        BillingPoint(organization=org, property=props[n % 20], connection_id=s, name=f"Unit {s}",
                     area_m2=None if n % 9 == 0 else 40 + n % 80)
        for n, s in enumerate(serials, len(ids))])
    meters = Meter.objects.bulk_create([
        Meter(organization=org, serial_number=s, register_digits=9,
              type=MeterType.COLD_WATER if n % 10 == 0 else MeterType.ELECTRICITY,
              unit="m³" if n % 10 == 0 else "kWh") for n, s in enumerate(serials, len(ids))])
    first = add_months(timezone.localdate(timezone=org.time_zone).replace(day=1), -MONTHS_BACK)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamp AT TIME ZONE %s", [first, ZONE])
        start = cursor.fetchone()[0]
    MeterAssignment.objects.bulk_create([
        MeterAssignment(organization=org, meter=m, billing_point=p, connected_at=start)
        for m, p in zip(meters, points, strict=True)])
    return setup(org, count)


#: A local day's quantity from 15-minute data: quarter hours in the day × the n-th meter's
#: use per quarter hour ((1 + n mod 7) / 16, with a weekly ripple).
_DAYS = """
INSERT INTO readings_dailyconsumption (organization_id, meter_id, day, quantity)
SELECT %(org)s, m.id, d.day::date,
       round(extract(epoch FROM ((d.day + interval '1 day')::timestamp AT TIME ZONE %(zone)s)
             - (d.day::timestamp AT TIME ZONE %(zone)s)) / 900
             * (1 + m.n %% 7) / 16.0 * (1 + extract(isodow FROM d.day) / 20.0), 4)
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS m(id, n)
CROSS JOIN generate_series(%(first)s::timestamp, %(last)s::timestamp, interval '1 day') AS d(day)
"""
_MONTHS = """
INSERT INTO readings_monthlyconsumption (organization_id, meter_id, month, quantity, days)
SELECT %(org)s, meter_id, date_trunc('month', day)::date, sum(quantity), count(*)
FROM readings_dailyconsumption WHERE meter_id = ANY(%(ids)s) GROUP BY 2, 3
"""
_STATES = """
INSERT INTO readings_meterreadingstate (organization_id, meter_id, last_read_at, last_value,
                                        last_total, window_days, window_use, updated_at)
SELECT %(org)s, m.id, %(now)s - CASE WHEN m.n %% 100 = 0 THEN interval '100 hours'
                                     WHEN m.n %% 50 = 0 THEN interval '30 hours'
                                     ELSE interval '15 minutes' END, 0, 0, 0, 0, now()
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS m(id, n)
"""


# --- invoices ---------------------------------------------------------------------------------

#: One row per bench billing point and local month (this month − 24 … this month): the
#: invoice's number, period, amounts and fate. ``k`` is the month's index (0 = the first).
#: VAT 8.1 % on the invoice's net, rounded once; the usage line's share rounded, the
#: standing charge's the rest (so the lines add up to the invoice).
_PLAN = """
CREATE TEMP TABLE bench_invoice ON COMMIT DROP AS
SELECT v.*, round(v.net * 0.081, 2) AS tax, round(v.usage_amount * 0.081, 2) AS usage_tax,
       v.full_credit OR (v.n * 11 + v.k) %% 53 = 0 AS credited,
       CASE WHEN v.full_credit THEN 'void' WHEN v.k < %(months)s - 1 AND v.n %% 3 = 0
            THEN 'paid' ELSE 'issued' END AS status,
       least(v.period_end + interval '2 days', now()) AS issued_at
FROM (
    SELECT s.*, round(s.quantity * s.price, 2) AS usage_amount,
           s.standing + round(s.quantity * s.price, 2) AS net,
           (s.n * 7 + s.k * 3) %% 401 = 0 AS full_credit
    FROM (
        SELECT m.n, a.billing_point_id AS bp_id, t.id AS tenant_id, m.id AS meter_id,
               a.id AS assignment_id, mm.type, mm.unit, r.month, r.quantity,
               ((extract(year FROM r.month) - extract(year FROM %(first)s::date)) * 12
                + extract(month FROM r.month) - extract(month FROM %(first)s::date))::int AS k,
               'DSH-' || to_char(r.month, 'YYYYMM') || '-' || lpad(m.n::text, 5, '0') AS number,
               r.month::timestamp AT TIME ZONE %(zone)s AS period_start,
               (r.month + interval '1 month')::timestamp AT TIME ZONE %(zone)s AS period_end,
               9.90 + (m.n %% 4) * 2.50 AS standing,
               CASE WHEN mm.type = 'cold_water' THEN 2.10 ELSE 0.25 + (m.n %% 3) * 0.01 END
                   AS price
        FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS m(id, n)
        JOIN meters_meter mm ON mm.id = m.id
        JOIN meters_meterassignment a ON a.meter_id = m.id
        JOIN meters_billingpoint bp ON bp.id = a.billing_point_id
        JOIN tenants_tenant t
          ON t.organization_id = %(org)s AND t.customer_number = 'T-' || bp.connection_id
        JOIN readings_monthlyconsumption r
          ON r.meter_id = m.id AND r.month BETWEEN %(first)s AND %(month)s
    ) s
) v
"""
#: Drafts first: the database refuses lines on an invoice that is no longer a draft.
_INVOICES = """
INSERT INTO billing_invoice (public_id, organization_id, tenant_id, billing_point_id,
    period_start, period_end, currency, status, number, payment_reference, kind, net_total,
    tax_total, cash_rounding, total, notes, created_at, issued_at, stale_reason)
SELECT gen_random_uuid(), %(org)s, b.tenant_id, b.bp_id, b.period_start, b.period_end,
       %(currency)s, 'draft', b.number, '', 'regular', b.net, b.tax, 0, b.net + b.tax, '',
       b.issued_at - interval '1 hour', b.issued_at, ''
FROM bench_invoice b ORDER BY b.month, b.n
"""
_LINES = """
INSERT INTO billing_invoiceline (public_id, organization_id, invoice_id, position, kind,
    description, quantity, unit, unit_price, amount, tax_rate, tax_amount, meter_type, charge,
    start_at, end_at, estimated, meter_id, assignment_id, start_basis, end_basis,
    start_sources, end_sources, quantity_note)
SELECT gen_random_uuid(), %(org)s, i.id, 1, 'standing', 'Standing charge', 1, '', b.standing,
       b.standing, 8.10, b.tax - b.usage_tax, '', 'Standing charge', i.period_start,
       i.period_end, false, NULL, NULL, '', '', '[]'::jsonb, '[]'::jsonb, ''
FROM bench_invoice b JOIN billing_invoice i ON i.organization_id = %(org)s AND i.number = b.number
UNION ALL
SELECT gen_random_uuid(), %(org)s, i.id, 2, 'usage', 'Energy ' || b.type, b.quantity, b.unit,
       b.price, b.usage_amount, 8.10, b.usage_tax, b.type, 'Energy', i.period_start,
       i.period_end, false, b.meter_id, b.assignment_id, 'read', 'read', '[]'::jsonb,
       '[]'::jsonb, ''
FROM bench_invoice b JOIN billing_invoice i ON i.organization_id = %(org)s AND i.number = b.number
"""
_ISSUE = """
UPDATE billing_invoice i
SET status = b.status,
    paid_at = CASE WHEN b.status = 'paid' THEN least(b.issued_at + interval '12 days', now())
              END,
    voided_at = CASE WHEN b.status = 'void' THEN least(b.issued_at + interval '5 days', now())
                END
FROM bench_invoice b WHERE i.organization_id = %(org)s AND i.number = b.number
"""
#: A full credit note negates every line (its invoice is void); a partial one credits the
#: usage line (its invoice stays issued or paid). ``total = net + tax`` (cash rounding 0).
_CREDIT_NOTES = """
INSERT INTO billing_creditnote (public_id, organization_id, invoice_id, number, reason,
    currency, net_total, tax_total, cash_rounding, total, "full", issued_at, pdf)
SELECT gen_random_uuid(), %(org)s, i.id, 'CN-' || b.number,
       CASE WHEN b.full_credit THEN 'Bench: credited in full' ELSE 'Bench: usage credited' END,
       %(currency)s, n.net, n.tax, 0, n.net + n.tax, b.full_credit,
       coalesce(i.voided_at, least(b.issued_at + interval '7 days', now())), ''
FROM bench_invoice b JOIN billing_invoice i ON i.organization_id = %(org)s AND i.number = b.number
CROSS JOIN LATERAL (SELECT CASE WHEN b.full_credit THEN -b.net ELSE -b.usage_amount END AS net,
                           CASE WHEN b.full_credit THEN -b.tax ELSE -b.usage_tax END AS tax) n
WHERE b.credited
"""
_CREDIT_NOTE_LINES = """
INSERT INTO billing_creditnoteline (public_id, organization_id, credit_note_id,
    invoice_line_id, position, description, quantity, unit, unit_price, amount, tax_rate,
    tax_amount)
SELECT gen_random_uuid(), %(org)s, c.id, l.id, l.position, l.description, l.quantity, l.unit,
       -l.unit_price, -l.amount, l.tax_rate, -l.tax_amount
FROM bench_invoice b
JOIN billing_creditnote c ON c.organization_id = %(org)s AND c.number = 'CN-' || b.number
JOIN billing_invoiceline l ON l.invoice_id = c.invoice_id
WHERE b.credited AND (b.full_credit OR l.kind = 'usage')
"""
_BILLING_TABLES = ("billing_creditnoteline", "billing_creditnote", "billing_invoiceline",
                   "billing_invoice")
_GUARDS = {"billing_creditnoteline": "billing_credit_note_line_guard",
           "billing_creditnote": "billing_credit_note_guard",
           "billing_invoiceline": "billing_invoice_line_guard",
           "billing_invoice": "billing_invoice_guard"}


def make_tenants(org: Organization, ids: list[int]) -> None:
    """One tenant per bench billing point (customer number ``T-<connection id>``)."""
    points = list(MeterAssignment.objects.filter(meter_id__in=ids)
                  .values_list("billing_point__connection_id", flat=True))
    have = set(Tenant.objects.filter(customer_number__startswith="T-DSH-")
               .values_list("customer_number", flat=True))
    Tenant.objects.bulk_create([
        Tenant(organization=org, name=f"Tenant {c}", customer_number=f"T-{c}")
        for c in points if f"T-{c}" not in have], batch_size=2000)


def _invoices_built(org: Organization, ids: list[int], params: dict) -> bool:
    """A --keep run left one invoice per meter and month of the same 25 months."""
    first = datetime.combine(params["first"], datetime.min.time(), ZoneInfo(ZONE))
    last = datetime.combine(params["month"], datetime.min.time(), ZoneInfo(ZONE))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), min(period_start), max(period_start) "
                       "FROM billing_invoice WHERE organization_id = %s", [org.pk])
        count, lo, hi = cursor.fetchone()
    return count == len(ids) * (MONTHS_BACK + 1) and lo == first and hi == last


def build_invoices(org: Organization, ids: list[int], params: dict, *, reuse: bool) -> None:
    if reuse and _invoices_built(org, ids, params):
        print("reusing the invoices of an earlier --keep run")
        return
    cleanup_invoices(org)
    make_tenants(org, ids)
    params = {**params, "months": MONTHS_BACK + 1, "currency": CURRENCY}
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        counts = []
        for sql in (_PLAN, _INVOICES, _LINES, _ISSUE, _CREDIT_NOTES, _CREDIT_NOTE_LINES):
            cursor.execute(sql, params)
            counts.append(cursor.rowcount)
    print(f"built invoices: {counts[1]:,} invoices, {counts[2]:,} lines, {counts[4]:,} credit "
          f"notes, {counts[5]:,} credit-note lines in {time.perf_counter() - began:.1f} s")
    with connection.cursor() as cursor:
        for table in (*_BILLING_TABLES, "tenants_tenant"):
            cursor.execute(f"ANALYZE {table}")  # as autovacuum would have


def cleanup_invoices(org: Organization) -> None:
    """Delete the bench organization's invoices, lines, credit notes (+ lines) and tenants.
    Issued documents are immutable: their guard triggers are off for these deletes only
    (the ``ALTER TABLE``s are part of the transaction, so they end with it either way)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM billing_invoice WHERE organization_id = %s LIMIT 1",
                       [org.pk])
        if cursor.fetchone() is not None:
            # no deferred foreign-key checks may be pending when a trigger is re-enabled
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in _BILLING_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {_GUARDS[table]}")
            for table in _BILLING_TABLES:
                cursor.execute(f"DELETE FROM {table} WHERE organization_id = %s",  # noqa: S608
                               [org.pk])
            for table in _BILLING_TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {_GUARDS[table]}")
        cursor.execute("DELETE FROM tenants_tenant WHERE organization_id = %s "
                       "AND customer_number LIKE 'T-DSH-%%'", [org.pk])


#: The same cost, independently: the lines of the issued and paid invoices whose period
#: starts at the given instant, and the lines of their credit notes.
_INDEPENDENT = """
SELECT t, sum(a) FROM (
    SELECT l.meter_type AS t, l.amount AS a
    FROM billing_invoice i JOIN billing_invoiceline l ON l.invoice_id = i.id
    WHERE i.organization_id = %(org)s AND i.status IN ('issued', 'paid')
      AND i.period_start = %(start)s
    UNION ALL
    SELECT il.meter_type, c.amount
    FROM billing_invoice i JOIN billing_creditnote cn ON cn.invoice_id = i.id
    JOIN billing_creditnoteline c ON c.credit_note_id = cn.id
    JOIN billing_invoiceline il ON il.id = c.invoice_line_id
    WHERE i.organization_id = %(org)s AND i.status IN ('issued', 'paid')
      AND i.period_start = %(start)s
) x GROUP BY t
"""
_MONTH_FACTS = """
SELECT count(*) FILTER (WHERE i.status = 'void'), count(*) FILTER (WHERE i.status = 'paid'),
       (SELECT count(*) FROM billing_creditnote c JOIN billing_invoice j ON j.id = c.invoice_id
        WHERE j.organization_id = %(org)s AND j.period_start = %(start)s AND NOT c."full")
FROM billing_invoice i WHERE i.organization_id = %(org)s AND i.period_start = %(start)s
"""


def check_cost(org: Organization) -> dict:
    """The dashboard's cost (cache off) equals the independent sum, for its three months;
    returns the SQL of the cost query it ran (for ``--explain``)."""
    with override_settings(DASHBOARD_CACHE_SECONDS=0), \
            CaptureQueriesContext(connection) as queries:
        dash = energy_dashboard()
    zone = ZoneInfo(ZONE)
    for key in PERIODS:
        start = datetime.combine(dash.periods[key].first, datetime.min.time(), zone)
        with connection.cursor() as cursor:
            cursor.execute(_INDEPENDENT, {"org": org.pk, "start": start})
            expected = dict(cursor.fetchall())
        got = {c.meter_type: c.amounts[key] for c in dash.costs
               if c.currency == CURRENCY and c.amounts[key] is not None}
        expected[None] = sum(expected.values())
        assert expected[None] > 0 and got == expected, (key, got, expected)
        if key == LAST:
            with connection.cursor() as cursor:
                cursor.execute(_MONTH_FACTS, {"org": org.pk, "start": start})
                void, paid, partial = cursor.fetchone()
            assert void and paid and partial, (void, paid, partial)
            print(f"checked: the dashboard's cost of {dash.periods[key].first:%b %Y} "
                  f"{got[None]} {CURRENCY} = the lines' sum ({partial} partial credit notes, "
                  f"{void} void and {paid} paid invoices in that month); likewise this month "
                  f"and a year ago")
    # the cost query: billing's cost rollup for whole months (the lines for other periods)
    [sql] = [q["sql"] for q in queries
             if "billing_monthlycost" in q["sql"] or "billing_invoiceline" in q["sql"]]
    return {"sql": ";".join(p for p in sql.split(";")
                            if p.strip() and not p.strip().upper().startswith("SET "))}


def explain_cost(sql: str, runs: int = 5) -> float:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of the dashboard's cost query: prints the plan of the
    last run, returns the median execution time (ms) of ``runs``."""
    times, plan = [], []
    for _ in range(runs):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
        times.append(float(plan[-1].split(":")[1].split()[0]))
    print("\n".join(plan))
    return b.median(times)


def build(org: Organization, ids: list[int], *, reuse: bool = False) -> None:
    today = timezone.localdate(timezone=org.time_zone)
    params = {"org": org.pk, "ids": ids, "zone": ZONE, "now": timezone.now(),
              "first": add_months(today.replace(day=1), -MONTHS_BACK),
              "month": today.replace(day=1),
              "last": today - timedelta(days=1)}  # complete days only
    steps = (("days", _DAYS), ("months", _MONTHS), ("states", _STATES))
    rollups_kept = reuse and _built(ids, params)
    if rollups_kept:
        print("reusing the days and months of an earlier --keep run")
        steps = steps[2:]
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM readings_meterreadingstate WHERE meter_id = ANY(%s)",
                           [ids])
    else:
        cleanup(org, ids)
    with connection.cursor() as cursor:
        for name, sql in steps:
            began = time.perf_counter()
            with transaction.atomic():
                cursor.execute("SET LOCAL jit = off")
                cursor.execute(sql, params)
            print(f"built {name}: {cursor.rowcount:,} rows in {time.perf_counter() - began:.1f} s")
        for table in ("meters_meter", "meters_meterassignment", "meters_billingpoint",
                      "readings_dailyconsumption", "readings_monthlyconsumption",
                      "readings_meterreadingstate"):
            cursor.execute(f"ANALYZE {table}")  # as autovacuum would have
    # the usage lines bill the monthly rollups: kept only with them
    build_invoices(org, ids, params, reuse=rollups_kept)


def _built(ids: list[int], params: dict) -> bool:
    """The days (up to yesterday) and months of every meter are there from a --keep run."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT meter_id), min(day), max(day) "
                       "FROM readings_dailyconsumption WHERE meter_id = ANY(%s)", [ids])
        meters, first, last = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM readings_monthlyconsumption "
                       "WHERE meter_id = ANY(%s)", [ids])
        months = cursor.fetchone()[0]
    return (meters == len(ids) and first == params["first"] and last == params["last"]
            and months == len(ids) * (MONTHS_BACK + 1))


def cleanup(org: Organization, ids: list[int]) -> None:
    cleanup_invoices(org)
    with connection.cursor() as cursor:
        for table in ("dailyconsumption", "monthlyconsumption", "meterreadingstate"):
            cursor.execute(f"DELETE FROM readings_{table} WHERE meter_id = ANY(%s)",  # noqa: S608
                           [ids])


def session_cookie(org: Organization) -> str:
    """A logged-in session of the organization's manager (the cookie locust sends)."""
    user = get_user_model().objects.filter(email=EMAIL).first() or \
        get_user_model().objects.create_user(EMAIL, "bench-not-a-secret")
    Membership.objects.get_or_create(organization=org, user=user,
                                     defaults={"role": Role.MANAGER})
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = str(org.public_id)
    session.save()
    return session.session_key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, server: subprocess.Popen) -> None:
    for _ in range(200):
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def _warm(port: int, cookie: str) -> None:
    """Both workers booted and each page answered once (not timed)."""
    opener = urllib.request.build_opener()
    opener.addheaders = [("Cookie", f"sessionid={cookie}")]
    for path in ("/healthz/", "/monitoring/") * 4:
        with opener.open(f"http://127.0.0.1:{port}{path}", timeout=120) as answer:
            assert answer.status == 200 and answer.url.endswith(path), (path, answer.url)


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank) of response times in ms."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def load(cookie: str, *, users: int, seconds: int,
         cache_seconds: int | None = None) -> dict[str, list[float]]:
    """Serve on 127.0.0.1 with gunicorn, run locust against it; response times by page."""
    port = _free_port()
    python = Path(sys.executable)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "billspree.settings"}
    if cache_seconds is not None:
        env["DASHBOARD_CACHE_SECONDS"] = str(cache_seconds)
    # served as in production: hashed static names from the manifest (as the Dockerfile)
    subprocess.run([str(python), "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT,
                   env=env, check=True)
    server = subprocess.Popen(
        [str(python.with_name("gunicorn")), "billspree.wsgi:application", "-w", "2",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        _wait(port, server)
        _warm(port, cookie)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "times.json"
            subprocess.run(
                [str(python.with_name("locust")), "-f", str(LOCUSTFILE), "--headless",
                 "--only-summary", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
                 "--host", f"http://127.0.0.1:{port}", "--loglevel", "WARNING"],
                cwd=ROOT, check=True,
                env={**env, "BENCH_SESSION": cookie, "BENCH_TIMES": str(out)})
            return json.loads(out.read_text())
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(*, small: bool, users: int = 4, seconds: int | None = None,
        keep: bool = False, reuse: bool = False, cache_seconds: int | None = None,
        explain: bool = False) -> dict[str, float]:
    count = 200 if small else 2000
    seconds = seconds or (15 if small else 40)
    org = Organization.objects.filter(name=ORG_NAME).first() or Organization.objects.create(
        name=ORG_NAME, time_zone=ZONE)
    with organization_context(org):
        ids = setup(org, count)
        try:
            build(org, ids, reuse=reuse)
            cost = check_cost(org)
            cost_ms = explain_cost(cost["sql"]) if explain else None
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM billing_invoice WHERE organization_id = %s",
                               [org.pk])
                invoices = cursor.fetchone()[0]
            cookie = session_cookie(org)
            times = load(cookie, users=users, seconds=seconds, cache_seconds=cache_seconds)
        finally:
            if not keep:
                cleanup(org, ids)
    if times["failures"] or not times["dashboard"]:
        raise RuntimeError(f"failed requests: {times['failures'][:5]}")
    if cache_seconds is None:
        from django.conf import settings
        cache_seconds = settings.DASHBOARD_CACHE_SECONDS
    return {"meters": count, "invoices": invoices, "cost_query_ms": cost_ms,
            "users": users, "seconds": seconds, "cache_s": cache_seconds,
            "dashboard_p95_ms": p95(times["dashboard"]), "baseline_p95_ms": p95(times["healthz"]),
            "dashboard_n": len(times["dashboard"]), "baseline_n": len(times["healthz"]),
            "dashboard_median_ms": b.median(times["dashboard"])}


def dashboard_p95_ms(*, small: bool) -> float:
    """The dashboard page's p95 in ms (data built, measured, cleaned up): for bench/reports."""
    return run(small=small)["dashboard_p95_ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="200 meters, 15 s")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="leave the data for another run")
    parser.add_argument("--reuse", action="store_true",
                        help="use the days and months a --keep run left if they are complete")
    parser.add_argument("--cache-seconds", type=int, default=None,
                        help="DASHBOARD_CACHE_SECONDS for the server (0: no cache; default: "
                             "the setting's)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN (ANALYZE, BUFFERS) of the dashboard's cost query "
                             "and its median time over 5 runs (cost_query_ms)")
    args = parser.parse_args()
    r = run(small=args.small, users=args.users, seconds=args.seconds, keep=args.keep,
            reuse=args.reuse, cache_seconds=args.cache_seconds, explain=args.explain)
    cost_ms = "na" if r["cost_query_ms"] is None else f"{r['cost_query_ms']:.2f}"
    print(f"BENCH dashboard meters={r['meters']} invoices={r['invoices']} "
          f"dashboard_p95_ms={r['dashboard_p95_ms']:.1f} "
          f"baseline_p95_ms={r['baseline_p95_ms']:.1f} "
          f"dashboard_median_ms={r['dashboard_median_ms']:.1f} users={r['users']} "
          f"seconds={r['seconds']} requests={r['dashboard_n']}+{r['baseline_n']} "
          f"cache_s={r['cache_s']} cost_query_ms={cost_ms} target_ms=150")


if __name__ == "__main__":
    main()
