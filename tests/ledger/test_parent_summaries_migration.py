"""Migration ledger 0007: summaries created before payment references get theirs (RF
creditor reference of SUM<id>; a QR reference in CHF where the organization's account is
a QR-IBAN), unique in the organization."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from billspree.core.models import Organization
from billspree.core.payment_refs import (
    creditor_reference,
    is_valid_qr_reference,
    qr_reference,
)
from billspree.core.scoping import organization_context
from billspree.core.timefmt import local_date
from ledger.models import ParentSummary
from ledger.services.accounts import account_for_tenant, account_set_parent
from ledger.services.summaries import parent_summaries_create
from tenants import services as tenant_services
from tests.billing.builders import make_house
from tests.ledger.builders import issued

BEFORE = [("ledger", "0006_bank_imports")]
AFTER = [("ledger", "0007_summary_payment_reference")]


def summary_of(world, currency: str) -> ParentSummary:
    with organization_context(world.org):
        shop = make_house(currency=currency)
        parent = account_for_tenant(tenant_services.tenant_create(name="Group"), currency)
        account_set_parent(account=account_for_tenant(shop.tenant, currency), parent=parent)
        issued(shop.tenant, shop.bp, "10.00", currency=currency)
        day = local_date(timezone.now(), world.org)
        [summary] = parent_summaries_create(first_day=day, last_day=day, parent=parent)
    return summary


@pytest.mark.django_db(transaction=True)
def test_existing_summaries_get_their_reference(world_a, world_b):
    Organization.objects.filter(pk=world_b.org.pk).update(iban="CH4431999123000889012")
    world_b.org.refresh_from_db()
    eur, chf = summary_of(world_a, "EUR"), summary_of(world_b, "CHF")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        MigrationExecutor(connection).migrate(AFTER)
    finally:  # every app back to its latest
        MigrationExecutor(connection).migrate(
            MigrationExecutor(connection).loader.graph.leaf_nodes())
    refs = dict(ParentSummary.objects.unscoped().values_list("pk", "payment_reference"))
    assert refs[eur.pk] == creditor_reference(f"SUM{eur.pk}")
    assert refs[chf.pk] == qr_reference("9" + str(chf.pk).zfill(25))
    assert is_valid_qr_reference(refs[chf.pk])
