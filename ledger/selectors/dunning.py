"""Reads of dunning for the tenant portal: a tenant's reminders (the notices of their own
accounts), registered as the tenant scope ``ledger_dunning_notice`` so a letter is looked
up among the logged-in tenant's only (another tenant's id answers 404)."""

from __future__ import annotations

from django.db.models import QuerySet

from ledger.models import DunningNotice
from tenants.models import Tenant
from tenants.portal import register_scope


def tenant_notices(tenant: Tenant) -> QuerySet[DunningNotice]:
    return (DunningNotice.objects.filter(account__tenant=tenant)
            .select_related("invoice", "level", "account", "fee_entry")
            .order_by("-run_on", "-pk"))


register_scope("ledger_dunning_notice", tenant_notices)
