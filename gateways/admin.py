from django.contrib import admin

from billspree.core.admin_site import OrganizationScopedAdmin
from gateways.models import Gateway, GatewayError, PollRun, Profile, ProfileValue, RegisterMap
from gateways.services.config import POLL_STATE_FIELDS


class ProfileValueInline(admin.TabularInline):
    model = ProfileValue
    exclude = ("organization",)
    extra = 0


@admin.register(Gateway)
class GatewayAdmin(OrganizationScopedAdmin):
    list_display = (
        "name",
        "host",
        "port",
        "transport",
        "enabled",
        "last_success_at",
        "consecutive_failures",
    )
    list_filter = ("enabled", "transport")
    search_fields = ("name", "host")
    readonly_fields = (
        "public_id",
        "last_slot",
        "last_manual_slot",
        *POLL_STATE_FIELDS,
    )


@admin.register(Profile)
class ProfileAdmin(OrganizationScopedAdmin):
    list_display = ("name", "builtin", "manufacturer", "meter_type", "relay_kind")
    search_fields = ("name", "manufacturer")
    inlines = [ProfileValueInline]


@admin.register(RegisterMap)
class RegisterMapAdmin(OrganizationScopedAdmin):
    list_display = (
        "meter",
        "gateway",
        "device_id",
        "profile",
        "enabled",
        "relay_state",
        "last_success_at",
    )
    list_filter = ("enabled", "relay_state")
    search_fields = ("meter__serial_number",)
    raw_id_fields = ("meter",)


@admin.register(PollRun)
class PollRunAdmin(OrganizationScopedAdmin):
    list_display = (
        "gateway",
        "slot",
        "manual",
        "status",
        "requests",
        "readings_stored",
        "error_count",
    )
    list_filter = ("status", "manual")


@admin.register(GatewayError)
class GatewayErrorAdmin(OrganizationScopedAdmin):
    list_display = ("occurred_at", "gateway", "kind", "message")
    list_filter = ("kind",)
    search_fields = ("message",)
