"""Bill runs and statements as operators see them, across organizations
(``billspree.core.ops``)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from billing.models import BillRun, InvoiceStatement, StatementDelivery
from billing.models.statements import DeliveryStatus, StatementStatus
from billing.services.runs import LIVE, stalled_runs
from billspree.core.ops import Check


def checks() -> list[Check]:
    live = BillRun.objects.unscoped().filter(status__in=LIVE).count()
    stalled = stalled_runs().count()
    if stalled:
        runs = Check("Bill runs", False, f"{stalled} of {live} live runs made no progress for "
                                         "a lease's time (the sweep re-dispatches them)")
    else:
        runs = Check("Bill runs", True, f"{live} running, none stalled")
    since = timezone.now() - timedelta(hours=24)
    failed_pdfs = InvoiceStatement.objects.unscoped().filter(
        status=StatementStatus.FAILED
    ).count()
    failed_mails = StatementDelivery.objects.unscoped().filter(
        status=DeliveryStatus.FAILED, created_at__gte=since
    ).count()
    statements = Check(
        "Statements",
        None if failed_pdfs or failed_mails else True,
        f"{failed_pdfs} PDF(s) failed and not yet regenerated; {failed_mails} email(s) "
        "failed in the last 24 h",
    )
    return [runs, statements]
