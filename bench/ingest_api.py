"""Benchmark ``ingest_api``: ``POST /api/v1/readings/`` with 10,000-reading batches.

    .venv/bin/python bench/ingest_api.py            # 10,000 meters, one reading each per batch
    .venv/bin/python bench/ingest_api.py --small    # 1,000 meters

Each batch carries one new reading (15 minutes after the previous one) for every bench
meter, sent with an ``Idempotency-Key`` through the in-process HTTP stack (API-key
authentication, JSON parsing, the service, the stored and returned per-item result).
The baseline, in the same run, is ``reading_ingest`` called directly with the same
number of rows (no HTTP, no idempotency record, no response body): the difference is
what the API layer costs. Runs alternate; medians are compared. Target: ≥ 10,000
readings/s.

An untimed first batch (20:00 on 1 January) gives every meter its first reading (which
also rolls up its connection day); the timed batches follow every 15 minutes within the
same day. The one batch a day that completes a local day for every meter also writes
that day's rollups: it is timed separately (``day_close_s``, through the service).

Last line: ``BENCH ingest_api rows_per_s=… baseline_rows_per_s=… ratio=… batch=…``
"""

from __future__ import annotations

import argparse
import uuid

import readings_setup as b
from rest_framework.test import APIClient

from billspree.core.models import ApiKeyScope
from billspree.core.scoping import organization_context
from billspree.core.services import api_key_create
from readings.parsing import RowIn
from readings.services import reading_ingest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="1,000-reading batches")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not 1 <= args.runs <= 7:
        parser.error("--runs must be 1 to 7 (the batches must fit before midnight)")
    meter_count = 1_000 if args.small else 10_000
    org = b.bench_org()
    with organization_context(org):
        meters = b.bench_meters(org, meter_count)
        serials, ids = list(meters), list(meters.values())
        b.reset(ids)
        _, secret = api_key_create(
            name="bench", scopes=[ApiKeyScope.READ, ApiKeyScope.WRITE], actor=None
        )
        client = APIClient(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Api-Key {secret}")
        ingest([RowIn(n, *item) for n, item in enumerate(batch(serials, 0))])  # first readings
        api, direct = [], []
        for run in range(args.runs):
            step = 2 * run + 1
            body = [
                {"meterNumber": s, "readAt": at, "value": v} for s, at, v in batch(serials, step)
            ]
            api.append(b.timed(lambda body=body: post(client, body)))
            rows = [RowIn(n, *item) for n, item in enumerate(batch(serials, step + 1))]
            direct.append(b.timed(lambda rows=rows: ingest(rows)))
            print(
                f"run {run + 1}: API {len(body) / api[-1]:,.0f} readings/s, "
                f"service {len(rows) / direct[-1]:,.0f} readings/s"
            )
        closing = [RowIn(n, *item) for n, item in enumerate(batch(serials, 16))]  # 00:00
        day_close = b.timed(lambda: ingest(closing))
        b.reset(ids)
    rate, baseline = meter_count / b.median(api), meter_count / b.median(direct)
    print(
        f"BENCH ingest_api rows_per_s={rate:.0f} baseline_rows_per_s={baseline:.0f} "
        f"ratio={rate / baseline:.3f} batch={meter_count} runs={args.runs} "
        f"batch_s={b.median(api):.3f} baseline_batch_s={b.median(direct):.3f} "
        f"day_close_s={day_close:.3f}"
    )


def batch(serials: list[str], step: int) -> list[tuple[str, str, str]]:
    """One reading per meter at 20:00 on January 1st plus ``step`` quarter hours."""
    at = (b.START + (20 * 4 + step) * b.STEP).isoformat()
    return [(s, at, b.value_at(step, n)) for n, s in enumerate(serials)]


def post(client: APIClient, body: list[dict]) -> None:
    response = client.post(
        "/api/v1/readings/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    assert response.status_code == 200, response.content[:500]
    assert response.json()["counts"]["created"] == len(body), response.json()["counts"]


def ingest(rows: list[RowIn]) -> None:
    outcome = reading_ingest(rows=rows, source="api")
    assert outcome.counts["created"] == len(rows), outcome.counts


if __name__ == "__main__":
    main()
