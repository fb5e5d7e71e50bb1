from django.contrib import admin

from billing.models import DocumentSequence
from billspree.core.admin_site import OrganizationScopedAdmin


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(OrganizationScopedAdmin):
    list_display = ("kind", "prefix", "next_number", "digits")
    readonly_fields = ("public_id", "next_number")
