"""API batches of readings, made idempotent by their ``Idempotency-Key``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billspree.core.errors import Conflict
from billspree.core.models import ApiKey
from readings.ingest_state import RowResult
from readings.models import Source, Upload
from readings.parsing import RowIn
from readings.partitions import months_guess, partitions_precreate
from readings.services.ingestion import reading_ingest
from readings.services.uploads import upload_finish, upload_open

API_BATCH_LIMIT = 10_000


def _request_hash(items: list[dict], replace: bool) -> str:
    body = json.dumps({"items": items, "replace": replace}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()



def reading_batch_submit(
    *,
    items: list[dict],
    idempotency_key: str = "",
    replace: bool = False,
    all_or_nothing: bool = False,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
) -> tuple[dict, bool]:
    """Ingest an API batch; returns (response body, replayed).

    With an ``Idempotency-Key`` the first response is stored on the batch's ``Upload``
    in the same transaction as its readings; the same key with the same body returns
    that response again (``replayed``), with another body it is a conflict.
    """
    if len(items) > API_BATCH_LIMIT:
        raise ValidationError({"items": [f"At most {API_BATCH_LIMIT} readings per request."]})
    key = idempotency_key.strip()[:200]
    digest = _request_hash(items, replace)
    if key and (stored := _replay(key, digest)) is not None:
        return stored, True
    partitions_precreate(months_guess(i.get("readAt") for i in items if isinstance(i, dict)))
    try:
        with transaction.atomic():
            return _submit(items, key, digest, replace, all_or_nothing, actor, api_key), False
    except IntegrityError:
        if key and (stored := _replay(key, digest)) is not None:
            return stored, True  # a concurrent request with the same key won the race
        raise


def _replay(key: str, digest: str) -> dict | None:
    upload = Upload.objects.filter(idempotency_key=key).first()
    if upload is None:
        return None
    if upload.request_hash != digest:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body.",
            fields={"Idempotency-Key": ["reused with another body"]},
            code="idempotency_key_reused",
        )
    return upload.response


def _submit(items, key, digest, replace, all_or_nothing, actor, api_key) -> dict:
    upload = upload_open(
        source=Source.API,
        idempotency_key=key,
        request_hash=digest,
        replace=replace,
        all_or_nothing=all_or_nothing,
        actor=actor,
        api_key=api_key,
        rows_total=len(items),
    )
    rows = [_api_row(index, item) for index, item in enumerate(items)]
    outcome = reading_ingest(
        rows=rows, source=Source.API, upload=upload, replace=replace, all_or_nothing=all_or_nothing
    )
    body = {
        "upload": str(upload.public_id),
        "committed": outcome.committed,
        "counts": outcome.counts,
        "results": [_api_result(r, outcome.committed) for r in outcome.results],
        # what the readings changed in billing: drafts marked stale, adjustments of issued
        # invoices (empty when nothing billed is touched)
        "affects_invoices": [i.as_dict() for i in outcome.impacts],
    }
    upload_finish(upload, outcome, response=body)
    return body


def _api_row(index: int, item: Any) -> RowIn:
    if not isinstance(item, dict):
        return RowIn(line=index, meter_number="", read_at=None, value=None)
    return RowIn(
        line=index,
        meter_number=item.get("meterNumber"),
        read_at=item.get("readAt"),
        value=item.get("value"),
        quality=item.get("quality"),
    )


def _api_result(r: RowResult, committed: bool) -> dict:
    data = r.as_dict()
    data["index"] = data.pop("line")
    if not committed and r.status != "rejected":
        data["status"] = "not_imported"
    return data
