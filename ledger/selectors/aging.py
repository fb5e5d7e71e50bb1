"""Aging: what is owed, by how long past its due date.

Buckets as collections people read them: not yet due, 1–30, 31–60, 61–90 and more than 90
days overdue, per currency (never added across currencies), for the organization, per
property or per account. Open amounts are the debits' amounts less their allocations — the
same arithmetic as an invoice's paid status — computed in one SQL statement so 10,000
accounts age in well under a second (``bench/ledger.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection

from billspree.core.scoping import require_organization
from ledger.models.entries import DEBIT_KINDS

ZERO = Decimal("0")
BUCKETS = (
    ("not_due", "Not due"),
    ("d1_30", "1–30 days"),
    ("d31_60", "31–60 days"),
    ("d61_90", "61–90 days"),
    ("d90_plus", "> 90 days"),
)
BUCKET_KEYS = tuple(k for k, _ in BUCKETS)

#: what a row is grouped by: nothing (the organization), the property of the invoice a
#: debit belongs to (fees and opening balances without one: ``None``), or the account
GROUPS = {
    "organization": "NULL::bigint",
    "property": "bp.property_id",
    "account": "e.account_id",
}


@dataclass
class AgingRow:
    currency: str
    key: int | None  # property id / account id / None
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKET_KEYS,
                                                                              ZERO))

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)

    @property
    def overdue(self) -> Decimal:
        return self.total - self.buckets["not_due"]


SQL = """
WITH paid AS (
    SELECT debit_id, sum(amount) AS amount FROM ledger_allocation
    WHERE organization_id = %(org)s GROUP BY debit_id
), open_items AS (
    SELECT e.account_id, e.invoice_id, e.amount - COALESCE(p.amount, 0) AS left_open,
           %(today)s::date - COALESCE(e.due_on, e.booked_on) AS late
    FROM ledger_ledgerentry e LEFT JOIN paid p ON p.debit_id = e.id
    WHERE e.organization_id = %(org)s AND e.amount > 0 AND e.kind = ANY(%(kinds)s)
      AND e.amount - COALESCE(p.amount, 0) > 0
)
SELECT a.currency, {group} AS key,
       CASE WHEN late <= 0 THEN 'not_due' WHEN late <= 30 THEN 'd1_30'
            WHEN late <= 60 THEN 'd31_60' WHEN late <= 90 THEN 'd61_90'
            ELSE 'd90_plus' END AS bucket,
       sum(left_open)
FROM open_items e
JOIN ledger_account a ON a.id = e.account_id
LEFT JOIN billing_invoice i ON i.id = e.invoice_id
LEFT JOIN meters_billingpoint bp ON bp.id = i.billing_point_id
WHERE {where}
GROUP BY 1, 2, 3
"""


def aging(today: date, *, by: str = "organization", property_id: int | None = None,
          account_ids: list[int] | None = None) -> list[AgingRow]:
    """Aging rows (one per currency and group), biggest total first."""
    where = ["TRUE"]
    params = {"org": require_organization().pk, "today": today,
              "kinds": [str(k) for k in DEBIT_KINDS]}
    if property_id is not None:
        where.append("bp.property_id = %(prop)s")
        params["prop"] = property_id
    if account_ids is not None:
        where.append("e.account_id = ANY(%(accounts)s)")
        params["accounts"] = account_ids
    sql = SQL.format(group=GROUPS[by], where=" AND ".join(where))
    rows: dict[tuple[str, int | None], AgingRow] = {}
    with connection.cursor() as cur:
        cur.execute(sql, params)
        for currency, key, bucket, amount in cur.fetchall():
            row = rows.setdefault((currency, key), AgingRow(currency, key))
            row.buckets[bucket] = amount
    return sorted(rows.values(), key=lambda r: (-r.total, r.currency, r.key or 0))
