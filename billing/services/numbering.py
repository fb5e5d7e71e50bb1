"""Gapless document numbers (invoices, credit notes), one locked sequence per kind and
organization."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from billing.models import (
    DEFAULT_PREFIXES,
    DocumentKind,
    DocumentSequence,
)
from billspree.core.scoping import require_organization


def sequence_locked(kind: str) -> DocumentSequence:
    org = require_organization()
    try:
        with transaction.atomic():
            DocumentSequence.objects.get_or_create(
                organization=org, kind=kind, defaults={"prefix": DEFAULT_PREFIXES[kind]}
            )
    except IntegrityError:
        pass  # another transaction created it first; lock theirs below
    return DocumentSequence.objects.select_for_update().get(kind=kind)


def document_number_take(*, kind: str = DocumentKind.INVOICE) -> str:
    """The next number of ``kind`` in the current organization, consumed only if the
    caller's transaction commits (so numbers have neither gaps nor duplicates)."""
    if kind not in DocumentKind.values:
        raise ValueError(f"unknown document kind {kind!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Take a document number inside the transaction that issues it.")
    sequence = sequence_locked(kind)
    number = sequence.next_number
    DocumentSequence.objects.filter(pk=sequence.pk).update(next_number=number + 1)
    return sequence.format(number)
