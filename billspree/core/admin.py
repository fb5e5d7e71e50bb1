from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import models
from django.urls import reverse

from billspree.core.admin_site import OrganizationScopedAdmin, ReadOnlyScopedAdmin
from billspree.core.files import LimitedImageField
from billspree.core.forms import LogoInput
from billspree.core.models import ApiKey, AuditEvent, Invitation, Membership, Organization, User


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    """Only the selected organization; organizations are created from the portal."""

    list_display = ("name", "default_currency", "time_zone", "created_at")
    readonly_fields = ("public_id",)
    # the logo is a private file: the widget links the scoped view (a storage URL would be
    # under /media/, which nothing serves)
    formfield_overrides = {
        models.ImageField: {"widget": LogoInput, "form_class": LimitedImageField},
    }

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and obj.logo:
            form.base_fields["logo"].widget.logo_url = (
                reverse("portal:organization_logo", args=[obj.public_id])
                + f"?v={obj.logo_version}"
            )
        return form

    def get_queryset(self, request):
        org = getattr(request, "organization", None)
        return super().get_queryset(request).filter(pk=org.pk if org else None)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Only people who are members of the selected organization."""

    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    list_filter = ("is_staff", "is_active")

    def get_queryset(self, request):
        org = getattr(request, "organization", None)
        if org is None:  # a staff user of no organization: ``organization=None`` would
            return super().get_queryset(request).none()  # match every non-member (tenants)
        return super().get_queryset(request).filter(memberships__organization=org).distinct()

    def has_module_permission(self, request):
        return getattr(request, "organization", None) is not None and super().has_module_permission(
            request
        )


@admin.register(Membership)
class MembershipAdmin(OrganizationScopedAdmin):
    list_display = ("user", "role", "created_at")
    list_filter = ("role",)
    raw_id_fields = ("user",)


@admin.register(Invitation)
class InvitationAdmin(OrganizationScopedAdmin):
    list_display = ("email", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    readonly_fields = ("public_id", "token_hash", "invited_by", "sent_at", "accepted_at")

    def has_add_permission(self, request):
        return False  # invitations are created in the portal so that the email is sent


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScopedAdmin):
    list_display = (
        "name", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"
    )
    readonly_fields = ("public_id", "prefix", "created_by", "created_at", "last_used_at")
    exclude = ("organization", "key_hash")

    def has_add_permission(self, request):
        return False  # keys are created in the portal or API, where the secret is shown once


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyScopedAdmin):
    list_display = ("created_at", "action", "target", "actor", "api_key")
    list_filter = ("action",)


def _unregister_beat_schedules() -> None:
    """The admin shows the selected organization's rows only, and celery beat's rows are
    not organizations' (billing batches and gateway polls of every organization, under one
    table): their pages would show another organization's schedules. They are written by
    the batch and gateway services; the System status page shows how beat is doing."""
    from django_celery_beat import models as beat

    for model in (beat.PeriodicTask, beat.IntervalSchedule, beat.CrontabSchedule,
                  beat.SolarSchedule, beat.ClockedSchedule):
        if admin.site.is_registered(model):
            admin.site.unregister(model)


_unregister_beat_schedules()  # after django_celery_beat's admin (it is installed before core)
