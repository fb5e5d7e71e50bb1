"""Gapless document numbers (invoices, credit notes), one locked sequence per kind and
organization."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from billing.models import (
    DEFAULT_PREFIXES,
    DocumentKind,
    DocumentSequence,
)
from billspree.core.banking import is_qr_iban
from billspree.core.payment_refs import reference_for_invoice
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
    return document_number_claim(kind=kind)[1]


def document_number_claim(*, kind: str = DocumentKind.INVOICE) -> tuple[int, str]:
    """Like :func:`document_number_take`, with the sequence's integer too (what an
    invoice's payment reference is derived from: unique per organization and kind, whatever
    the prefix)."""
    if kind not in DocumentKind.values:
        raise ValueError(f"unknown document kind {kind!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Take a document number inside the transaction that issues it.")
    sequence = sequence_locked(kind)
    number = sequence.next_number
    DocumentSequence.objects.filter(pk=sequence.pk).update(next_number=number + 1)
    return number, sequence.format(number)


def invoice_payment_reference(*, sequence_number: int, number: str, currency: str) -> str:
    """The payment reference an invoice gets when it is numbered (stored with the number,
    printed on its payment slip, matched against bank payments): a QR reference where the
    organization's account is a QR-IBAN and the invoice is in CHF (a QR-bill paid into a
    QR-IBAN must carry one), an ISO 11649 creditor reference otherwise."""
    org = require_organization()
    qr = str(currency) == "CHF" and is_qr_iban(org.iban)
    return reference_for_invoice(sequence_number, number, qr)
