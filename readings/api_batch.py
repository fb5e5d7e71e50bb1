"""What ``POST /api/v1/readings/`` answers: a summary, and a status that tells rejection.

Why: a batch whose rows were rejected used to answer ``200`` like a clean one, with the
rejection only inside ``results[]``; an integrator that checks the status (as most HTTP
clients do) lost readings without noticing. Now (rows are stored individually unless the
batch is ``atomic``):

* ``200``: no row rejected. Every row is stored, by this request (``accepted``) or already
  with the same value (``duplicates``: a repeat of a batch, or a row repeated inside it;
  idempotent, nothing changes).
* ``207`` (Multi-Status): some rows rejected, the others stored; ``results[]`` is the
  status of each row.
* ``422``: rows were rejected and nothing was stored (every row rejected, or an
  ``atomic`` batch with a rejected row, whose valid rows are ``not_imported``). The body
  carries the usual ``error`` (``code`` ``readings_rejected``, the rejected rows in
  ``fields`` as ``readings[<index>].<field>``) next to the summary and results.

A replay with the same ``Idempotency-Key`` answers the first answer's status and body.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billspree.core.api_errors import ErrorDetailSerializer, error_body
from billspree.core.api_fields import BoundedDateTimeField
from billspree.core.billing_inputs import IMPACTS_SCHEMA

MULTI_STATUS = 207
UNPROCESSABLE = 422
#: Rejected rows named in the error's ``fields`` (``results[]`` has every one).
FIELDS_LIMIT = 100


def batch_summary(body: dict[str, Any]) -> dict[str, int]:
    """Counts of the rows by outcome, from the stored body's ``counts``."""
    counts = body["counts"]
    stored = counts.get("created", 0) + counts.get("replaced", 0)
    duplicates = counts.get("unchanged", 0)
    rejected = counts.get("rejected", 0)
    received = stored + duplicates + rejected
    if not body.get("committed", True):
        return {"received": received, "accepted": 0, "duplicates": 0, "rejected": rejected,
                "not_imported": stored + duplicates}
    return {"received": received, "accepted": stored, "duplicates": duplicates,
            "rejected": rejected, "not_imported": 0}


def batch_status(summary: dict[str, int]) -> int:
    if not summary["rejected"]:
        return 200
    return MULTI_STATUS if summary["accepted"] + summary["duplicates"] else UNPROCESSABLE


def _rejected_fields(results: list[dict[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for row in [r for r in results if r.get("status") == "rejected"][:FIELDS_LIMIT]:
        for error in row.get("errors", []):
            fields.setdefault(f"readings[{row['index']}].{error['field']}", []).append(
                error["message"])
    return fields


def _rejected_message(summary: dict[str, int], fields: dict[str, list[str]]) -> str:
    head = f"{summary['rejected']} of {summary['received']} readings were rejected"
    why = ("; nothing was stored (atomic batch: all or nothing)" if summary["not_imported"]
           else "; nothing was stored")
    first = next(iter(fields.items()), None)
    return head + why + (f". First: {first[0]}: {first[1][0]}" if first else ".")


def batch_answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and the body of a batch's answer (also of a replayed one)."""
    summary = batch_summary(body)
    code = batch_status(summary)
    answer = {"summary": summary, **body}
    if code == UNPROCESSABLE:
        fields = _rejected_fields(body.get("results", []))
        answer = {**error_body(code, "readings_rejected", _rejected_message(summary, fields),
                               fields), **answer}
    return code, answer


# --- OpenAPI --------------------------------------------------------------------------------


class BatchSummarySerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Rows in the request.")
    accepted = serializers.IntegerField(
        help_text="Rows stored by this request (created, or replaced with replace).")
    duplicates = serializers.IntegerField(
        help_text="Rows already stored with the same value (a repeated batch, or a row "
        "repeated in this one): nothing changed.")
    rejected = serializers.IntegerField(help_text="Rows refused; results[] says why.")
    not_imported = serializers.IntegerField(
        help_text="Valid rows not stored because an atomic batch had a rejected row.")


class BatchCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    replaced = serializers.IntegerField()
    rejected = serializers.IntegerField()
    anomalies = serializers.IntegerField(help_text="Stored rows flagged as anomalies.")


class RowErrorSerializer(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()


class ReadingRowResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in the request.")
    meterNumber = serializers.CharField()  # noqa: N815 - the API's published field names
    readAt = BoundedDateTimeField(allow_null=True)  # noqa: N815
    value = serializers.CharField(allow_null=True, help_text="The value as parsed.")
    status = serializers.ChoiceField(
        choices=["created", "unchanged", "replaced", "rejected", "not_imported"])
    anomaly = serializers.CharField(allow_null=True)
    errors = RowErrorSerializer(many=True)


@extend_schema_field(IMPACTS_SCHEMA)
class AffectsInvoicesField(serializers.ListField):
    pass


class ReadingBatchResultSerializer(serializers.Serializer):
    upload = serializers.UUIDField(help_text="The upload that records this batch.")
    committed = serializers.BooleanField(
        help_text="False when an atomic batch was rolled back.")
    summary = BatchSummarySerializer()
    counts = BatchCountsSerializer()
    results = ReadingRowResultSerializer(many=True)
    affects_invoices = AffectsInvoicesField(
        help_text="What the stored readings changed in billing: drafts marked stale "
        "(recompute before issuing), adjustments of issued invoices (billed once on the "
        "tenant's next invoice). Empty when nothing billed is touched.")


class ReadingBatchRejectedSerializer(ReadingBatchResultSerializer):
    error = ErrorDetailSerializer(help_text="The rows that were rejected and why.")
