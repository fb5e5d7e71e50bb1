"""The one tenant-vs-tenant isolation mechanism of the tenant portal (``/my/``).

Organization scoping (the scoped manager) keeps other organizations out; inside one
organization a tenant must see only *their* rows. Every ``/my/`` view inherits
:class:`TenantPortalMixin` and reads through :func:`for_tenant` — a registry of
tenant-scoped querysets, one per *kind* of row ("occupancy", "meter", "invoice", ...). A
view names its kind in ``scope`` and looks objects up with :meth:`get_object`, which
searches only the tenant's queryset, so another tenant's id answers 404 exactly like a
random id; a view cannot forget the filter because it never writes it. Apps above
tenants (billing) register their kinds with :func:`register_scope` (tenants never
imports billing).

The tenant comes from :mod:`tenants.middleware` (``request.tenant``); a member, a staff
user or a tenant whose access was revoked has none and gets a 403 page saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured
from django.db.models import DateTimeField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from meters.models import BillingPoint, Meter, MeterAssignment
from tenants.models import Occupancy, Tenant

FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
ScopeFn = Callable[[Tenant], QuerySet]
_SCOPES: dict[str, ScopeFn] = {}


def register_scope(kind: str, queryset_for: ScopeFn) -> ScopeFn:
    """Declare how rows of ``kind`` are limited to one tenant (apps above tenants call it)."""
    existing = _SCOPES.get(kind)
    if existing is not None and existing is not queryset_for:
        raise ImproperlyConfigured(f"Tenant scope {kind!r} is registered twice")
    _SCOPES[kind] = queryset_for
    return queryset_for


def for_tenant(kind: str, tenant: Tenant) -> QuerySet:
    """The rows of ``kind`` that ``tenant`` may see (fails loudly for an unknown kind)."""
    try:
        queryset_for = _SCOPES[kind]
    except KeyError:
        raise ImproperlyConfigured(f"No tenant scope {kind!r}; register_scope() it") from None
    return queryset_for(tenant)


# --- the scopes of tenants' own data --------------------------------------------------------


def tenant_occupancies(tenant: Tenant) -> QuerySet[Occupancy]:
    return Occupancy.objects.filter(tenant=tenant).select_related("billing_point__property")


def tenant_billing_points(tenant: Tenant) -> QuerySet[BillingPoint]:
    return BillingPoint.objects.filter(
        Exists(Occupancy.objects.filter(tenant=tenant, billing_point=OuterRef("pk")))
    ).select_related("property")


def tenant_assignments(tenant: Tenant) -> QuerySet[MeterAssignment]:
    """Assignments at the tenant's billing points that overlap one of their occupancies
    (a meter installed after they moved out, or removed before they moved in, is not theirs)."""
    overlapping = Occupancy.objects.filter(
        tenant=tenant,
        billing_point=OuterRef("billing_point"),
        move_in__lt=Coalesce(OuterRef("removed_at"), Value(FOREVER, output_field=DateTimeField())),
    ).filter(Q(move_out__isnull=True) | Q(move_out__gt=OuterRef("connected_at")))
    return MeterAssignment.objects.filter(Exists(overlapping))


def tenant_meters(tenant: Tenant) -> QuerySet[Meter]:
    return Meter.objects.filter(pk__in=tenant_assignments(tenant).values("meter_id"))


register_scope("occupancy", tenant_occupancies)
register_scope("billing_point", tenant_billing_points)
register_scope("assignment", tenant_assignments)
register_scope("meter", tenant_meters)



# --- the view base ------------------------------------------------------------------------


class TenantPortalMixin(LoginRequiredMixin):
    """Base of every ``/my/`` view: a logged-in tenant, and lookups through :func:`for_tenant`.

    ``scope`` names the kind of row the view's ``id`` refers to (None for pages about the
    tenant themself, which take no id).
    """

    scope: str | None = None
    slug_url_kwarg = "id"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if getattr(request, "tenant", None) is None:
            return render(request, "tenant_portal/no_access.html", status=403)
        if kwargs.get(self.slug_url_kwarg) is not None and self.scope is None:
            raise ImproperlyConfigured(f"{type(self).__name__} takes an id but names no scope")
        return super().dispatch(request, *args, **kwargs)

    @property
    def tenant(self) -> Tenant:
        return self.request.tenant

    def scoped(self, kind: str | None = None) -> QuerySet:
        """The tenant's rows of ``kind`` (default: this view's scope)."""
        return for_tenant(kind or self.scope, self.tenant)

    def get_object(self, queryset: QuerySet | None = None):
        """The row named by the URL's id, searched among the tenant's rows only (else 404)."""
        return get_object_or_404(
            queryset if queryset is not None else self.scoped(),
            public_id=self.kwargs[self.slug_url_kwarg],
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)  # type: ignore[misc]
        ctx.update(tenant=self.tenant, portal_organization=self.request.tenant_access.organization)
        return ctx
