"""Admin of tenants. Periods (occupancies, moves, badge assignments, ownership) are
read-only here: they change through the services (portal, API), which check overlaps and
write the audit trail; the admin is for looking and for fixing a tenant's details."""

from django.contrib import admin

from billspree.core.admin_site import OrganizationScopedAdmin, ReadOnlyScopedAdmin
from tenants.models import BadgeAssignment, Move, Occupancy, Ownership, RfidBadge, Tenant


@admin.register(Tenant)
class TenantAdmin(OrganizationScopedAdmin):
    list_display = ("customer_number", "name", "kind", "email", "language", "created_at")
    list_filter = ("kind", "language")
    search_fields = ("name", "customer_number", "email", "contact_person")

    def has_delete_permission(self, request, obj=None):
        return False  # tenants carry billing history; the API deletes only unused ones


@admin.register(RfidBadge)
class RfidBadgeAdmin(OrganizationScopedAdmin):
    list_display = ("uid", "label", "created_at")
    search_fields = ("uid", "label")
    readonly_fields = ("public_id", "uid")

    def has_add_permission(self, request):
        return False  # registered when first handed out

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Occupancy)
class OccupancyAdmin(ReadOnlyScopedAdmin):
    list_display = ("tenant", "billing_point", "move_in", "move_out")
    list_select_related = ("tenant", "billing_point")
    search_fields = ("tenant__name", "billing_point__name", "billing_point__connection_id")


@admin.register(Move)
class MoveAdmin(ReadOnlyScopedAdmin):
    list_display = ("billing_point", "moved_at", "outgoing", "incoming", "created_at")
    list_select_related = ("billing_point", "outgoing__tenant", "incoming__tenant")


@admin.register(BadgeAssignment)
class BadgeAssignmentAdmin(ReadOnlyScopedAdmin):
    list_display = ("badge", "tenant", "assigned_at", "returned_at")
    list_select_related = ("badge", "tenant")


@admin.register(Ownership)
class OwnershipAdmin(ReadOnlyScopedAdmin):
    list_display = ("owner", "property", "billing_point", "created_at")
    list_select_related = ("owner", "property", "billing_point")
