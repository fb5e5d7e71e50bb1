"""Billing in the admin: read-only (documents change only through billing.services, so
numbering, immutability and the audit trail hold)."""

from django.contrib import admin

from billing.models import (
    BilledPeriod,
    CreditNote,
    CreditNoteLine,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    Subscription,
)
from billspree.core.admin_site import OrganizationScopedAdmin


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(OrganizationScopedAdmin):
    list_display = ("kind", "prefix", "next_number", "digits")
    readonly_fields = ("public_id", "next_number")


class ReadOnlyAdmin(OrganizationScopedAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    exclude = ("organization",)
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("billing_point", "plan", "variant", "start_date", "end_date")
    list_select_related = ("billing_point", "plan", "variant")


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ("position", "kind", "description", "quantity", "unit", "unit_price", "amount",
              "tax_rate", "tax_amount", "meter", "start_read_at", "start_value", "end_read_at",
              "end_value", "estimated")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "status", "tenant", "billing_point", "period_start", "total")
    list_filter = ("status",)
    list_select_related = ("tenant", "billing_point")
    search_fields = ("number", "tenant__name")
    inlines = [InvoiceLineInline]


@admin.register(BilledPeriod)
class BilledPeriodAdmin(ReadOnlyAdmin):
    list_display = ("invoice", "meter", "start_at", "end_at", "quantity", "active")
    list_select_related = ("invoice", "meter")


class CreditNoteLineInline(ReadOnlyInline):
    model = CreditNoteLine
    fields = ("position", "description", "quantity", "unit_price", "amount", "tax_amount")


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = ("number", "invoice", "total", "issued_at")
    list_select_related = ("invoice",)
    inlines = [CreditNoteLineInline]
