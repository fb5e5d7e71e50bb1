"""Issue 13 §1 and §3 as the outside auditor checks them: a Swiss building set up, read,
billed and read back through the public REST API only (an API key, no services, no ORM).

Hand arithmetic (CHF, lines rounded ROUND_DOWN, VAT per rate ROUND_HALF_UP, cash rounding
CHF 0.05 to the nearest step):

Flat A: the meter reads 1100 on 1 Sep and 1400 on 1 Oct; Ms Old moves out and Mr New moves
in on 16 Sep (no reading that day). Mr New's start is interpolated at 16 Sep 00:00:
1100 + 300 × 15/30 = 1250; his usage 1400 − 1250 = 150 kWh (estimated: start interpolated).
  energy 150 × 0.2013 = 30.195 → 30.19; grid 12.34 × 15/30 = 6.17 → 8.1 % base 36.36,
  VAT 2.94516 → 2.95; water service 20.10 × 15/30 = 10.05 → 2.6 % VAT 0.2613 → 0.26.
  net 46.41, VAT 3.21, gross 49.62 → 49.60: cash rounding −0.02, total 49.60.
Flat B: 2000 on 1 Sep, 2317 on 1 Oct, one tenant all month: 317 kWh (read, not estimated).
  energy 317 × 0.2013 = 63.8121 → 63.81; grid 12.34 → 8.1 % base 76.15, VAT 6.16815 → 6.17;
  water 20.10 → 2.6 % VAT 0.5226 → 0.52. net 96.25, VAT 6.69, gross 102.94 → 102.95:
  cash rounding +0.01, total 102.95.
"""

from decimal import Decimal as D

import pytest

from tests.conftest import api_client

PERIOD = {"start": "2026-09-01", "end": "2026-10-01"}


def _ok(response, code=201):
    assert response.status_code == code, response.content
    return response.json()


@pytest.fixture
def billed(world_a):
    c = api_client(key=world_a.write_key)

    def post(url, body, code=201):
        return _ok(c.post(f"/api/v1/{url}", body, format="json"), code)

    prop = post("properties/", {"name": "Seeblick", "kind": "apartments",
                                "time_zone": "Europe/Zurich", "currency": "CHF"})
    flats = {}
    for key in ("A", "B"):
        flats[key] = post("billing-points/", {"property": prop["id"], "connection_id": f"SB-{key}",
                                              "name": f"Flat {key}", "kind": "apartment"})
        post("meters/", {"serial_number": f"SB-E-{key}", "type": "electricity"})
        post("meter-assignments/", {"connectionID": f"SB-{key}", "meterNumber": f"SB-E-{key}",
                                    "connectionDate": "2026-08-01", "initialReading": "0"})
    old = post("tenants/", {"name": "Ms Old", "email": "old@example.com"})
    new = post("tenants/", {"name": "Mr New", "email": "new@example.com"})
    b_tenant = post("tenants/", {"name": "Ms B", "email": "b@example.com"})
    post("occupancies/", {"tenant": old["id"], "billing_point": flats["A"]["id"],
                          "move_in": "2026-08-01"})
    post("occupancies/", {"tenant": b_tenant["id"], "billing_point": flats["B"]["id"],
                          "move_in": "2026-08-01"})
    post("moves/", {"billing_point": flats["A"]["id"], "moved_at": "2026-09-16",
                    "incoming_tenant": new["id"]})
    readings = _ok(c.post("/api/v1/readings/", [
        {"meterNumber": "SB-E-A", "readAt": "2026-09-01T00:00:00+02:00", "value": "1100"},
        {"meterNumber": "SB-E-A", "readAt": "2026-10-01T00:00:00+02:00", "value": "1400"},
        {"meterNumber": "SB-E-B", "readAt": "2026-09-01T00:00:00+02:00", "value": "2000"},
        {"meterNumber": "SB-E-B", "readAt": "2026-10-01T00:00:00+02:00", "value": "2317"},
    ], format="json"), 200)
    assert readings["counts"]["created"] == 4, readings
    post("cash-roundings/", {"currency": "CHF", "step": "0.05"})
    rl = post("rate-lists/", {"name": "Strom CH", "currency": "CHF",
                              "effective_from": "2026-01-01", "rounding_mode": "ROUND_DOWN"})
    version = rl["versions"][0]["id"]
    post("charge-rules/", {"version": version, "name": "Energy", "kind": "flat",
                           "meter_type": "electricity", "price": "0.2013", "tax_rate": "8.1"})
    post("charge-rules/", {"version": version, "name": "Grid", "kind": "standing",
                           "price": "12.34", "per": "month", "tax_rate": "8.1"})
    post("charge-rules/", {"version": version, "name": "Water service", "kind": "standing",
                           "price": "20.10", "per": "month", "tax_rate": "2.6"})
    plan = post("plans/", {"name": "Wohnen", "rate_lists": [rl["id"]]})
    subs = [post("subscriptions/", {"billing_point": flats[k]["id"], "plan": plan["id"],
                                    "start_date": "2026-08-01"})["id"] for k in ("A", "B")]
    drafts = post("invoices/", {"subscriptions": subs, **PERIOD})
    by_tenant = {d["tenant_name"]: d["id"] for d in drafts}
    invoices = {name: _ok(c.get(f"/api/v1/invoices/{pk}/"), 200)
                for name, pk in by_tenant.items()}
    return c, invoices


def _vat(body):
    return [(D(r["rate"]), D(r["base"]), D(r["vat"])) for r in body["vat_summary"]]


def _totals(body):
    return tuple(D(body[k]) for k in ("net_total", "tax_total", "cash_rounding", "total"))


def test_newcomer_invoice_vat_per_rate_and_cash_rounding_down(billed):
    _, invoices = billed
    inv = invoices["Mr New"]
    assert _vat(inv) == [(D("2.6"), D("10.05"), D("0.26")), (D("8.1"), D("36.36"), D("2.95"))]
    net, tax, cash, total = _totals(inv)
    assert (net, tax, cash, total) == (D("46.41"), D("3.21"), D("-0.02"), D("49.60"))
    assert net + tax + cash == total
    assert sum(D(x["tax_amount"]) for x in inv["lines"]) == tax
    assert sum(D(x["amount"]) for x in inv["lines"]) == net


def test_full_month_invoice_cash_rounding_up(billed):
    _, invoices = billed
    inv = invoices["Ms B"]
    assert _vat(inv) == [(D("2.6"), D("20.10"), D("0.52")), (D("8.1"), D("76.15"), D("6.17"))]
    net, tax, cash, total = _totals(inv)
    assert (net, tax, cash, total) == (D("96.25"), D("6.69"), D("0.01"), D("102.95"))
    assert net + tax + cash == total


def _usage(inv):
    [line] = [x for x in inv["lines"] if x["kind"] == "usage"]
    return line


def _consumption(c, serial, start, end):
    return _ok(c.get("/api/v1/readings/consumption/",
                     {"meter": serial, "from": start, "to": end}), 200)


def test_newcomer_line_starts_at_the_interpolated_value_and_the_api_agrees(billed):
    c, invoices = billed
    line = _usage(invoices["Mr New"])
    assert (D(line["start_value"]), line["start_basis"]) == (D("1250"), "interpolated")
    assert (D(line["end_value"]), line["end_basis"]) == (D("1400"), "read")
    assert D(line["quantity"]) == D("150") and line["estimated"] is True
    used = _consumption(c, "SB-E-A", line["start_at"], line["end_at"])
    assert D(used["quantity"]) == D(line["quantity"])
    assert used["estimated"] is line["estimated"]
    [seg] = used["segments"]
    assert D(seg["start"]["value"]) == D(line["start_value"]) == D("1250")
    assert D(seg["end"]["value"]) == D(line["end_value"])


def test_outgoing_and_full_month_lines_agree_with_the_consumption_api(billed):
    c, invoices = billed
    old = _usage(invoices["Ms Old"])
    assert (D(old["start_value"]), D(old["end_value"]), D(old["quantity"])) == (
        D("1100"), D("1250"), D("150"))
    assert old["estimated"] is True  # the end on 16 Sep is interpolated
    b = _usage(invoices["Ms B"])
    assert (D(b["quantity"]), b["estimated"]) == (D("317"), False)
    for line in (old, b):
        used = _consumption(c, line["meter_serial"], line["start_at"], line["end_at"])
        assert (D(used["quantity"]), used["estimated"]) == (D(line["quantity"]),
                                                             line["estimated"])


def test_issued_pdf_shows_vat_per_rate_and_the_cash_rounding_after_the_total(
        billed, settings, tmp_path, django_capture_on_commit_callbacks):
    """The stored statement PDF, fetched from the API and read back as text (pypdf): per
    rate its base, rate and VAT; net, VAT, the total; the cash rounding after it; the amount
    due. Mr New's numbers (see the module docstring)."""
    from tests.billing.test_statements import pdf_text, statements_location
    from tests.billing.test_statements_portal import body as body_bytes

    settings.STORAGES = {**settings.STORAGES, "statements": statements_location(tmp_path)}
    c, invoices = billed
    inv = invoices["Mr New"]
    with django_capture_on_commit_callbacks(execute=True):
        _ok(c.post(f"/api/v1/invoices/{inv['id']}/issue/"), 200)
    pdf = c.get(f"/api/v1/invoices/{inv['id']}/statement/pdf/")
    assert pdf.status_code == 200, pdf.content
    text = pdf_text(body_bytes(pdf))
    squashed = "".join(text.split())

    def pos(needle: str) -> int:
        at = squashed.find("".join(needle.split()))
        assert at >= 0, f"{needle!r} not in the PDF: {text}"
        return at

    net = pos("Net amount 46.41")
    vat_26 = pos("VAT 2.60 % on 10.05 0.26")
    vat_81 = pos("VAT 8.10 % on 36.36 2.95")
    total_vat = pos("Total VAT 3.21")
    total = pos("Total 49.62")
    cash = pos("Cash rounding -0.02")
    due = pos("Total due 49.60 CHF")
    assert net < vat_26 < vat_81 < total_vat < total < cash < due
    # the interpolated start carries the E mark and the legend explains it
    assert pos("1,250 E") and pos("E = estimated")


def test_consumption_api_reads_plain_dates_in_the_meters_property_zone(billed, world_a):
    """An organization in UTC with a Zurich building: ``from=2026-09-01`` is midnight in
    Zurich (as the invoice's period and as reading upload read plain dates), so the API
    gives the invoice's 317 kWh, read at both ends, not a UTC-shifted interpolation."""
    c, invoices = billed
    world_a.org.time_zone = "UTC"
    world_a.org.save()
    line = _usage(invoices["Ms B"])
    used = _consumption(c, "SB-E-B", "2026-09-01", "2026-10-01")
    assert used["from"] == "2026-08-31T22:00:00Z"  # midnight in Zurich, in the API's UTC form
    assert (D(used["quantity"]), used["estimated"]) == (D(line["quantity"]), False)
    listed = _ok(c.get("/api/v1/readings/", {"meter": "SB-E-B", "from": "2026-09-01",
                                              "to": "2026-10-01"}), 200)
    assert [r["value"] for r in listed["results"]] == ["2000.0000"]
