"""The financial page's numbers, by hand: aging buckets with a fixed today, billed vs
collected per month, outstanding by property, top debtors; and each number's list."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billspree.core.timefmt import local_date
from ledger.models import Account, EntryKind
from ledger.selectors.accounts import AccountFilters, account_list
from ledger.selectors.finance import billed_vs_collected, by_property, top_debtors
from ledger.services.payments import payment_record
from ledger.services.posting import Posting, post
from tests.billing.builders import make_house
from tests.conftest import login_client
from tests.ledger.builders import issued

D = Decimal
TODAY = date(2026, 6, 15)  # a fixed "today" for the selectors (dates below are before it)


def _debit(account, amount: str, due: date, kind=EntryKind.ADJUSTMENT, booked=None):
    post([Posting(account_id=account.pk, kind=kind, amount=D(amount),
                  booked_on=booked or due - timedelta(days=14), due_on=due,
                  description=f"{kind} {amount}")])


@pytest.fixture
def aged(in_org_a):
    house = make_house()
    account = Account.objects.get(tenant=house.tenant, currency="EUR")
    for amount, due in [("100.00", date(2026, 6, 20)),  # not due
                        ("40.00", date(2026, 6, 15)),   # due today: not due (0 days late)
                        ("30.00", date(2026, 6, 14)),   # 1 day late
                        ("20.00", date(2026, 5, 16)),   # 30 days
                        ("25.00", date(2026, 5, 15)),   # 31 days
                        ("15.00", date(2026, 3, 17)),   # 90 days
                        ("12.00", date(2026, 3, 16))]:  # 91 days
        _debit(account, amount, due)
    # 5.00 pays the oldest due first: 12.00 → 7.00 open
    payment_record(account=account, amount=D("5.00"), received_on=date(2026, 1, 10))
    return in_org_a, house, account


def test_aging_buckets_by_hand(aged):
    from ledger.selectors.aging import aging

    w, house, account = aged
    [row] = aging(TODAY)
    assert row.buckets == {"not_due": D("140.00"), "d1_30": D("50.00"), "d31_60": D("25.00"),
                           "d61_90": D("15.00"), "d90_plus": D("7.00")}
    assert (row.total, row.overdue) == (D("237.00"), D("97.00"))


def test_account_list_selection_adds_up_to_the_bucket(aged):
    w, house, account = aged
    rows = {a.pk: a for a in account_list(AccountFilters(bucket="d1_30"), TODAY)}
    assert list(rows) == [account.pk]
    assert rows[account.pk].selected == D("50.00")
    assert rows[account.pk].overdue == D("97.00")
    [a] = account_list(AccountFilters(bucket="overdue"), TODAY)
    assert a.selected == D("97.00")
    [a] = account_list(AccountFilters(bucket="d90_plus"), TODAY)
    assert a.selected == D("7.00")
    assert not list(account_list(AccountFilters(bucket="d1_30"), date(2026, 1, 1)))
    everyone = list(account_list(AccountFilters(sort="overdue"), TODAY))
    assert everyone[0].pk == account.pk and len(everyone) >= 2  # the owner too


def test_billed_vs_collected_per_month_by_hand(in_org_a):
    house = make_house()
    account = Account.objects.get(tenant=house.tenant, currency="EUR")
    for amount, booked in [("10.00", date(2026, 4, 3)), ("5.50", date(2026, 4, 28)),
                           ("20.00", date(2026, 6, 1)),
                           ("99.00", date(2025, 6, 30))]:  # before the 12 months
        _debit(account, amount, booked + timedelta(days=14), kind=EntryKind.FEE, booked=booked)
    _debit(account, "33.00", date(2026, 5, 20))  # an adjustment is not "billed"
    payment_record(account=account, amount=D("12.00"), received_on=date(2026, 4, 10))
    payment_record(account=account, amount=D("7.00"), received_on=date(2026, 5, 20))
    [mm] = billed_vs_collected(TODAY)
    assert mm.currency == "EUR"
    assert mm.months[0] == date(2025, 7, 1) and mm.months[-1] == date(2026, 6, 1)
    got = {m: (b, c) for m, b, c in mm.rows if b or c}
    assert got == {date(2026, 4, 1): (D("15.50"), D("12.00")),
                   date(2026, 5, 1): (D("0"), D("7.00")),
                   date(2026, 6, 1): (D("20.00"), D("0"))}
    assert (mm.total_billed, mm.total_collected) == (D("35.50"), D("19.00"))


def test_outstanding_by_property_and_top_debtors(in_org_a):
    w = in_org_a
    one, two = make_house(), make_house()
    issued(one.tenant, one.bp, "100.00")
    issued(one.tenant, one.bp, "50.00")
    issued(two.tenant, two.bp, "80.00")
    acc_one = Account.objects.get(tenant=one.tenant)
    payment_record(account=acc_one, amount=D("120.00"),
                   received_on=local_date(timezone.now(), w.org))
    today = local_date(timezone.now(), w.org)
    rows = {pm.property.pk: pm.row for pm in by_property(today)}
    assert rows[one.prop.pk].total == D("30.00") and rows[one.prop.pk].overdue == D("0")
    assert rows[two.prop.pk].total == D("80.00")
    late = {pm.property.pk: pm.row for pm in by_property(today + timedelta(days=20))}
    assert late[two.prop.pk].buckets["d1_30"] == D("80.00")  # due at issue + 14 days
    debtors = top_debtors(today)
    assert [(d.account.tenant_id, d.account.balance) for d in debtors] == [
        (two.tenant.pk, D("80.00")), (one.tenant.pk, D("30.00"))]
    client = login_client(w.viewer, w.org)
    html = client.get("/ledger/").content.decode()
    assert "Top debtors" in html and "80.00" in html
    assert f"property={one.prop.public_id}" in html  # the number links to its list
    listing = client.get("/ledger/accounts/", {"property": str(one.prop.public_id),
                                               "sort": "selected"}).content.decode()
    assert one.tenant.name in listing and two.tenant.name not in listing
    dash = client.get("/").content.decode()
    assert "Balance outstanding" in dash and "110.00 EUR" in dash
    assert "Collected this month" in dash and "120.00 EUR" in dash


def test_finance_page_empty_states(in_org_a):
    client = login_client(in_org_a.viewer, in_org_a.org)
    html = client.get("/ledger/").content.decode()
    assert "Nothing is open" in html and "Nobody owes anything" in html
