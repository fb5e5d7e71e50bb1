"""The admin's share of organization scoping.

Admin pages query through the scoped managers, so the middleware's organization context
already limits every changelist, change form and foreign-key choice to the staff user's
selected organization. :class:`OrganizationScopedAdmin` adds what the manager cannot:
new rows get the current organization, and the field is never editable.
"""

from __future__ import annotations

from django.contrib import admin

from billspree.core.auth_views import ThrottledAdminAuthenticationForm

admin_site = admin.site
# the admin's login counts and locks like the portal's: same accounts, same limiter
admin_site.login_form = ThrottledAdminAuthenticationForm
admin_site.site_header = "Billspree administration"
admin_site.site_title = "Billspree admin"
admin_site.index_title = "Administration of the selected organization"


class OrganizationScopedAdmin(admin.ModelAdmin):
    exclude = ("organization",)
    readonly_fields: tuple[str, ...] = ("public_id",)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.organization = request.organization
        super().save_model(request, obj, form, change)

    def has_module_permission(self, request):
        return getattr(request, "organization", None) is not None and super().has_module_permission(
            request
        )


class ReadOnlyScopedAdmin(OrganizationScopedAdmin):
    """Rows the product writes and people only look at (audit events, uploads, moves):
    the admin may show them, never add, change or delete one behind the services' back."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
