"""Accounts: opened with the tenant, found (or opened) for whatever gets posted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from ledger.models import Account


def on_tenant_saved(sender, instance, created: bool = False, raw: bool = False, **kwargs) -> None:
    """Every tenant (the owner too) has an account from the start, in the organization's
    currency, so the account page and the API never meet a tenant without one."""
    if not created or raw:
        return
    org = instance.organization
    Account.objects.unscoped().get_or_create(
        organization=org, tenant=instance, currency=str(org.default_currency),
    )


def accounts_for(pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """The account id of each (tenant id, currency), opening the missing ones in one
    statement (a tenant billed in a second currency gets a second account)."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    org_id = require_organization().pk
    tenants = [t for t, _ in wanted]
    currencies = [c for _, c in wanted]
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO ledger_account (organization_id, public_id, tenant_id, currency, "
            "kind, balance, last_seq, dunning_pause_reason, created_at) "
            "SELECT %s, gen_random_uuid(), v.tenant, v.currency, 'postpaid', 0, 0, '', now() "
            "FROM unnest(%s::bigint[], %s::text[]) AS v(tenant, currency) "
            "JOIN tenants_tenant t ON t.id = v.tenant AND t.organization_id = %s "
            "ON CONFLICT (organization_id, tenant_id, currency) DO NOTHING",
            [org_id, tenants, currencies, org_id],
        )
        cur.execute(
            "SELECT a.tenant_id, a.currency, a.id FROM ledger_account a "
            "JOIN unnest(%s::bigint[], %s::text[]) AS v(tenant, currency) "
            "ON a.tenant_id = v.tenant AND a.currency = v.currency "
            "WHERE a.organization_id = %s",
            [tenants, currencies, org_id],
        )
        found = {(t, c): a for t, c, a in cur.fetchall()}
    if len(found) != len(wanted):
        raise LookupError("a tenant of another organization cannot have an account here")
    return found


def account_for_tenant(tenant, currency: str | None = None) -> Account:
    currency = currency or str(tenant.organization.default_currency)
    account_id = accounts_for([(tenant.pk, currency)])[(tenant.pk, currency)]
    return Account.objects.select_related("tenant").get(pk=account_id)


@transaction.atomic
def account_set_parent(*, account: Account, parent: Account | None, actor=None,
                       api_key=None) -> Account:
    """Let ``parent`` receive this account's bills (or stop). Same currency only; no
    circles; an account with an open balance is not moved away from its parent (KB#762:
    the debt would be paid twice)."""
    acc = Account.objects.select_for_update().get(pk=account.pk)
    if parent is not None:
        if parent.pk == acc.pk:
            raise ValidationError({"parent": ["An account cannot be its own parent."]})
        if parent.currency != acc.currency:
            raise ValidationError({"parent": [
                f"The parent account is in {parent.currency}, this one in {acc.currency}."]})
        node = parent
        while node.parent_id is not None:
            if node.parent_id == acc.pk:
                raise ValidationError({"parent": ["That would make a circle of parents."]})
            node = Account.objects.get(pk=node.parent_id)
    if acc.parent_id and acc.parent_id != getattr(parent, "pk", None) and acc.balance != 0:
        raise Conflict(f"The account still has a balance of {acc.balance:.2f} "
                       f"{acc.currency}: settle it before moving it to another parent.")
    acc.parent = parent
    acc.save(update_fields=["parent"])
    audit_record(action="account.parent", actor=actor, api_key=api_key,
                 target=str(acc.public_id),
                 detail={"parent": str(parent.public_id) if parent else None})
    return acc


@transaction.atomic
def dunning_pause(*, account: Account, until: date | None, reason: str = "", actor=None,
                  api_key=None) -> Account:
    """Hold reminders for the account until ``until`` ("payment promised until …");
    ``None`` resumes them."""
    acc = Account.objects.select_for_update().get(pk=account.pk)
    if until is not None and not reason.strip():
        raise ValidationError({"reason": ["Say why reminders wait (e.g. payment promised)."]})
    acc.dunning_paused_until = until
    acc.dunning_pause_reason = reason.strip()[:200] if until else ""
    acc.save(update_fields=["dunning_paused_until", "dunning_pause_reason"])
    audit_record(action="account.dunning_pause" if until else "account.dunning_resume",
                 actor=actor, api_key=api_key, target=str(acc.public_id),
                 detail={"until": until.isoformat() if until else None, "reason": reason})
    return acc
