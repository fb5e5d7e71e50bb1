"""``copy_rows``: the COPY writer hot paths use (bank imports) must round-trip every value
exactly and fail as an INSERT would."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from billspree.core.db import copy_rows, next_ids, uuid4_texts

pytestmark = pytest.mark.django_db

TRICKY = ["tab\there", "line\nbreak", "back\\slash", "cr\rhere", "\\N", "Zürich – €", ""]


@pytest.fixture
def scratch():
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE scratch (id bigint UNIQUE, t text, n numeric, d date, "
                    "ts timestamptz, b boolean, u uuid)")
    return "scratch"


def test_values_round_trip_exactly(scratch):
    at = datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Zurich"))  # just after DST
    u = uuid.uuid4()
    rows = [(n, text, Decimal("-1234567.05"), date(2026, 2, 28), at, n % 2 == 0, u)
            for n, text in enumerate(TRICKY)]
    rows.append((99, None, None, None, None, None, None))
    assert copy_rows(scratch, ("id", "t", "n", "d", "ts", "b", "u"), rows) == len(TRICKY) + 1
    with connection.cursor() as cur:
        cur.execute("SELECT id, t, n, d, ts, b, u FROM scratch ORDER BY id")
        back = cur.fetchall()
    assert [r[1] for r in back[:-1]] == TRICKY  # "\\N" as text stays text, not NULL
    assert back[0][2] == Decimal("-1234567.05") and back[0][3] == date(2026, 2, 28)
    assert back[0][4] == at and back[0][5] is True and back[1][5] is False
    assert back[0][6] == u
    assert back[-1] == (99, None, None, None, None, None, None)


def test_a_naive_time_is_refused_before_anything_is_written(scratch):
    with pytest.raises(ValueError, match="naive"):
        copy_rows(scratch, ("id", "ts"), [(1, datetime(2026, 1, 1))])  # noqa: DTZ001 - the point
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM scratch")
        assert cur.fetchone()[0] == 0


def test_a_unique_violation_is_djangos_integrity_error(scratch):
    copy_rows(scratch, ("id",), [(1,)])
    with pytest.raises(IntegrityError), transaction.atomic():
        copy_rows(scratch, ("id",), [(2,), (1,)])
    with connection.cursor() as cur:
        cur.execute("SELECT array_agg(id) FROM scratch")
        assert cur.fetchone()[0] == [1]  # the failed COPY wrote nothing


def test_nothing_to_copy_writes_nothing(scratch):
    assert copy_rows(scratch, ("id",), []) == 0


def test_public_ids_are_distinct_version_4_uuids():
    texts = uuid4_texts(2000)
    parsed = [uuid.UUID(t) for t in texts]
    assert len(set(parsed)) == 2000
    assert {p.version for p in parsed} == {4}
    assert {p.variant for p in parsed} == {uuid.RFC_4122}
    assert all(str(p) == t for p, t in zip(parsed, texts, strict=True))


def test_next_ids_are_fresh_keys_of_the_table():
    from ledger.models import Allocation

    ids = next_ids(Allocation._meta.db_table, 3)
    assert len(set(ids)) == 3 and ids == sorted(ids)
    assert next_ids(Allocation._meta.db_table, 1)[0] > ids[-1]
    assert next_ids(Allocation._meta.db_table, 0) == []


def test_any_lookup_matches_like_in_with_one_array_parameter(world_a):
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    from billspree.core.scoping import organization_context
    from meters.models import Property

    with organization_context(world_a.org):
        for name in ("Any house 1", "Any house 2"):
            Property.objects.create(name=name, time_zone="Europe/Zurich", currency="CHF")
        props = list(Property.objects.order_by("pk"))
        names = [p.name for p in props]
        with CaptureQueriesContext(conn) as q:
            by_any = list(Property.objects.filter(name__any={*names, "no such name"})
                          .order_by("pk"))
        assert by_any == props
        assert "= ANY(" in q.captured_queries[0]["sql"]
        assert list(Property.objects.filter(pk__any=[props[0].pk])) == [props[0]]
        # on a relation (its id column) too
        assert list(Property.objects.filter(organization_id__any=[world_a.org.pk])
                    .order_by("pk")) == props
        assert list(Property.objects.filter(name__any=[])) == []
        # the scoped manager still scopes: another organization's ids find nothing
        others = list(Property.objects.unscoped().exclude(organization=world_a.org)
                      .values_list("pk", flat=True))
        assert list(Property.objects.filter(pk__any=others)) == []
