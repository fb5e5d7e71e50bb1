"""Raw readings export (``GET /api/v1/readings/export.csv``): exact CSV of hand-built
readings (a DST day, an estimated reading, two time zones), filters, scoping, bad input,
streaming."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.http import StreamingHttpResponse

from billspree.core.scoping import organization_context
from meters.models import Property
from tests.conftest import api_client, login_client
from tests.readings.helpers import ingest, make_meter

pytestmark = pytest.mark.django_db
URL = "/api/v1/readings/export.csv"
HEADER = "meter,meter_id,unit,read_at,value,source,quality,estimated,anomaly"
NOW = datetime(2026, 4, 30, tzinfo=UTC)


@pytest.fixture
def data(world_a):
    """EXP-1 in Zurich (CET +01:00, CEST +02:00 from 29 March 2026 02:00 local = 01:00 UTC),
    EXP-2 in a UTC property. Instants in UTC → local:

    * 2026-03-27T23:00Z → 2026-03-28T00:00+01:00, 100
    * 2026-03-28T23:00Z → 2026-03-29T00:00+01:00, 110.5 (start of the 23-hour day)
    * 2026-03-29T01:00Z → 2026-03-29T03:00+02:00, 112.25 (first hour after the change)
    * 2026-03-29T22:00Z → 2026-03-30T00:00+02:00, 130, estimated (end of the DST day)
    * EXP-2: 2026-03-29T12:00Z → 2026-03-29T12:00+00:00, 5
    """
    with organization_context(world_a.org):
        one = make_meter("EXP-1", tz="Europe/Zurich", connected_at=datetime(2026, 3, 1, tzinfo=UTC))
        two = make_meter("EXP-2", tz="UTC", connected_at=datetime(2026, 3, 1, tzinfo=UTC))
        result = ingest(
            ("EXP-1", "2026-03-27T23:00:00Z", "100"),
            ("EXP-1", "2026-03-28T23:00:00Z", "110.5"),
            ("EXP-1", "2026-03-29T01:00:00Z", "112.25"),
            ("EXP-1", "2026-03-29T22:00:00Z", "130", "estimated"),
            ("EXP-2", "2026-03-29T12:00:00Z", "5"),
            now=NOW,
        )
        assert result.counts["created"] == 5, result
        zurich = Property.objects.get(name="House Europe/Zurich")
    return one, two, zurich


def lines(one, two) -> dict[str, str]:
    a, b = f"EXP-1,{one.public_id},kWh,", f"EXP-2,{two.public_id},kWh,"
    return {
        "28": a + "2026-03-28T00:00:00+01:00,100.0000,api,actual,false,false",
        "29": a + "2026-03-29T00:00:00+01:00,110.5000,api,actual,false,false",
        "29dst": a + "2026-03-29T03:00:00+02:00,112.2500,api,actual,false,false",
        "30": a + "2026-03-30T00:00:00+02:00,130.0000,api,estimated,true,false",
        "utc": b + "2026-03-29T12:00:00+00:00,5.0000,api,actual,false,false",
    }


def csv_of(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    assert body.endswith("\r\n")
    rows = body.split("\r\n")[:-1]
    assert rows[0] == HEADER
    return rows[1:]


def test_every_reading_exactly_as_stored_in_each_meters_zone(world_a, data):
    one, two, _ = data
    expected = lines(one, two)
    client = api_client(key=world_a.read_key)
    response = client.get(URL)
    assert response["Content-Disposition"] == 'attachment; filename="readings.csv"'
    # meter by meter (by number), then by time; the DST day's 23 hours show as
    # 00:00+01:00 … 03:00+02:00; the estimated reading is flagged
    assert csv_of(response) == [expected[k] for k in ("28", "29", "29dst", "30", "utc")]


def test_a_meter_number_a_spreadsheet_would_evaluate_is_exported_as_text(world_a, data):
    with organization_context(world_a.org):
        evil = make_meter('=HYPERLINK("http://x","a,b")', tz="UTC",
                          connected_at=datetime(2026, 3, 1, tzinfo=UTC))
        ingest(('=HYPERLINK("http://x","a,b")', "2026-03-29T12:00:00Z", "7"), now=NOW)
        neg = make_meter("-12", tz="UTC", connected_at=datetime(2026, 3, 1, tzinfo=UTC))
        ingest(("-12", "2026-03-29T12:00:00Z", "8"), now=NOW)
    client = api_client(key=world_a.read_key)
    rows = csv_of(client.get(URL, {"meter": [str(evil.public_id), "-12"]}))
    # a leading quote, then CSV quoting (the text has quotes and a comma); a plain number
    # as a meter number stays as printed
    assert rows == [
        f"-12,{neg.public_id},kWh,2026-03-29T12:00:00+00:00,8.0000,api,actual,false,false",
        f'"\'=HYPERLINK(""http://x"",""a,b"")",{evil.public_id},kWh,'
        "2026-03-29T12:00:00+00:00,7.0000,api,actual,false,false"]


def test_filters_local_days_local_times_instants_meters_and_property(world_a, data):
    one, two, zurich = data
    expected = lines(one, two)
    client = login_client(world_a.viewer, world_a.org)  # a member's session works too

    def get(**query):
        return csv_of(client.get(URL, query))

    # the DST day, inclusive: [29 Mar 00:00+01:00, 30 Mar 00:00+02:00) in Zurich → 2 rows
    assert get(meter="EXP-1", **{"from": "2026-03-29", "to": "2026-03-29"}) == [
        expected["29"], expected["29dst"]]
    # the same local day for every meter, each in its own zone: + EXP-2's 12:00 UTC
    assert get(**{"from": "2026-03-29", "to": "2026-03-29"}) == [
        expected["29"], expected["29dst"], expected["utc"]]
    # instants: [00:30Z, 22:00Z) holds only 01:00Z (03:00+02:00); by meter id
    assert get(meter=str(one.public_id),
               **{"from": "2026-03-29T00:30:00Z", "to": "2026-03-29T22:00:00Z"}) == [
        expected["29dst"]]
    # a local time without offset, from 03:00 local on: 03:00+02:00 and 30 Mar
    assert get(meter="EXP-1", **{"from": "2026-03-29T03:00"}) == [
        expected["29dst"], expected["30"]]
    # several meters, repeated and comma-separated; a property's meters
    assert get(meter="EXP-2,EXP-1", to="2026-03-28") == [expected["28"]]
    both = client.get(URL + "?meter=EXP-2&meter=EXP-1&from=2026-03-30")
    assert csv_of(both) == [expected["30"]]
    assert get(property=str(zurich.public_id)) == [
        expected[k] for k in ("28", "29", "29dst", "30")]
    # nothing in the period: the header alone
    assert get(**{"from": "2026-04-01"}) == []


def _error(response) -> dict:
    assert response.status_code == 400, response.content[:300]
    return response.json()["error"]


def test_bad_input_is_a_400_naming_the_parameter(world_a, data):
    client = api_client(key=world_a.read_key)
    err = _error(client.get(URL, {"from": "2026-02-30"}))
    assert list(err["fields"]) == ["from"] and "Not an ISO date" in err["fields"]["from"][0]
    err = _error(client.get(URL, {"to": "yesterday"}))
    assert list(err["fields"]) == ["to"]
    err = _error(client.get(URL, {"from": "2026-03-30", "to": "2026-03-29"}))
    assert list(err["fields"]) == ["to"] and "before it begins" in err["message"]
    err = _error(client.get(URL, {"from": "0001-01-01"}))
    assert "1900-01-01" in err["fields"]["from"][0]
    err = _error(client.get(URL, {"meter": "NO-SUCH"}))
    assert err["fields"] == {"meter": ["No meter 'NO-SUCH' in this organization."]}
    err = _error(client.get(URL, {"property": "not-a-uuid"}))
    assert list(err["fields"]) == ["property"]
    err = _error(client.get(URL, {"meter": "EXP-1", "property": str(data[2].public_id)}))
    assert list(err["fields"]) == ["property"]
    err = _error(client.get(URL, {"format": ""}))
    assert list(err["fields"]) == ["format"] and "use csv" in err["fields"]["format"][0]
    assert client.get(URL, {"format": "csv"}).status_code == 200


def test_another_organizations_meter_is_unknown_as_a_missing_one(world_a, world_b, data):
    with organization_context(world_b.org):
        theirs = make_meter("EXP-B", tz="UTC")
        ingest(("EXP-B", "2026-03-29T12:00:00Z", "7"), now=NOW)
        their_property = Property.objects.get(name="House UTC")
    client = api_client(key=world_a.read_key)
    for value in ("EXP-B", str(theirs.public_id)):
        err = _error(client.get(URL, {"meter": value}))
        assert err["fields"] == {"meter": [f"No meter {value!r} in this organization."]}
    assert list(_error(client.get(URL, {"property": str(their_property.public_id)}))["fields"]) \
        == ["property"]
    # the whole organization's export has A's rows only
    assert all(not r.startswith("EXP-B") for r in csv_of(client.get(URL)))


def test_streamed_in_chunks_and_an_abandoned_stream_leaves_the_connection_usable(
        world_a, data, monkeypatch):
    from readings import exports

    monkeypatch.setattr(exports, "FETCH_ROWS", 2)
    client = api_client(key=world_a.read_key)
    response = client.get(URL, {"meter": "EXP-1"}, HTTP_ACCEPT="text/csv")
    assert response.streaming
    chunks = list(response.streaming_content)
    # the header, then FETCHes of 2 rows: 2 + 2 (4 readings)
    assert [c.count(b"\r\n") for c in chunks] == [1, 2, 2]
    # a client that goes away: the server closes the stream mid-way (the test client's
    # response.close() would also close the test's connection, so the generator directly)
    with organization_context(world_a.org):
        stream = exports.readings_csv()
        assert next(stream).decode() == HEADER + "\r\n"
        assert next(stream).count(b"\r\n") == 2  # the server-side cursor is open
        stream.close()
        with connection.cursor() as cursor:  # cursor closed, savepoint rolled back
            cursor.execute("SELECT count(*) FROM pg_cursors")
            assert cursor.fetchone() == (0,)


def test_anonymous_is_refused(data):
    assert api_client().get(URL).status_code == 401
