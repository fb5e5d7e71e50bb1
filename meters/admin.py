"""Admin of the meter registry (scoped to the staff user's selected organization).

Assignments are read-only here: their rules (no overlap, one open per meter, readings at
the edges) live in the services, which the portal and the API use.
"""

from django.contrib import admin

from billspree.core.admin_site import OrganizationScopedAdmin
from meters.models import BillingPoint, Meter, MeterAssignment, Property, Sensor


@admin.register(Property)
class PropertyAdmin(OrganizationScopedAdmin):
    list_display = ("name", "kind", "time_zone", "currency", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "address")


@admin.register(BillingPoint)
class BillingPointAdmin(OrganizationScopedAdmin):
    list_display = ("name", "connection_id", "property", "kind", "floor", "area_m2")
    list_filter = ("kind", "property")
    search_fields = ("name", "connection_id")
    list_select_related = ("property",)


@admin.register(Meter)
class MeterAdmin(OrganizationScopedAdmin):
    list_display = ("serial_number", "label", "type", "unit", "multiplier", "parent")
    list_filter = ("type",)
    search_fields = ("serial_number", "label")
    list_select_related = ("parent",)
    raw_id_fields = ("parent",)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "serial_number") if obj else fields


@admin.register(MeterAssignment)
class MeterAssignmentAdmin(OrganizationScopedAdmin):
    list_display = (
        "meter",
        "billing_point",
        "connected_at",
        "removed_at",
        "initial_reading",
        "final_reading",
    )
    list_select_related = ("meter", "billing_point")
    search_fields = ("meter__serial_number", "billing_point__connection_id", "billing_point__name")
    readonly_fields = ("public_id", *list_display)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Sensor)
class SensorAdmin(OrganizationScopedAdmin):
    list_display = ("serial_number", "label", "kind", "property", "billing_point", "area")
    list_filter = ("kind", "property")
    search_fields = ("serial_number", "label", "area")
    list_select_related = ("property", "billing_point")
