from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from billspree.core.admin_site import OrganizationScopedAdmin
from tariffs.models import (
    AddOn,
    BillingPointRateList,
    ChargeRule,
    Holiday,
    HolidayCalendar,
    Plan,
    PlanVariant,
    PricingTemplate,
    RateList,
    RateListVersion,
)
from tariffs.validation import RULE_FIELDS, clean_rule


class ScopedInline(admin.TabularInline):
    exclude = ("organization",)
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        org = getattr(request, "organization", None)

        class OrgFormSet(formset):
            def save_new(self, form, commit=True):
                form.instance.organization = org
                return super().save_new(form, commit)

        return OrgFormSet


class ChargeRuleForm(forms.ModelForm):
    """The admin validates rules exactly like the services do."""

    class Meta:
        model = ChargeRule
        fields = ("version", *sorted(RULE_FIELDS))

    def clean(self):
        data = super().clean()
        values = {k: data.get(k) for k in RULE_FIELDS if k in data}
        for name in ("kind", "name"):
            values.setdefault(name, getattr(self.instance, name, ""))
        try:
            data.update(clean_rule(values))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return data


class VersionInline(ScopedInline):
    model = RateListVersion
    fields = ("number", "effective_from", "effective_to", "note")
    readonly_fields = ("number", "effective_from", "effective_to", "note")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # new versions go through the portal/API service (closes the previous)


@admin.register(RateList)
class RateListAdmin(OrganizationScopedAdmin):
    list_display = ("name", "currency", "rounding_mode", "created_at")
    search_fields = ("name",)
    list_filter = ("currency",)
    inlines = [VersionInline]

    def get_readonly_fields(self, request, obj=None):
        return ("public_id", "currency") if obj else ("public_id",)


class RuleInline(ScopedInline):
    model = ChargeRule
    form = ChargeRuleForm
    fields = ("position", "name", "kind", "meter_type", "unit", "price", "per", "tax_rate")
    show_change_link = True


@admin.register(RateListVersion)
class RateListVersionAdmin(OrganizationScopedAdmin):
    list_display = ("rate_list", "number", "effective_from", "effective_to", "note")
    list_select_related = ("rate_list",)
    readonly_fields = ("public_id", "rate_list", "number", "effective_from", "effective_to")
    inlines = [RuleInline]

    def has_add_permission(self, request):
        return False


@admin.register(ChargeRule)
class ChargeRuleAdmin(OrganizationScopedAdmin):
    form = ChargeRuleForm
    list_display = ("name", "version", "kind", "meter_type", "price", "tax_rate")
    list_filter = ("kind", "meter_type")
    list_select_related = ("version__rate_list",)
    search_fields = ("name",)


class HolidayInline(ScopedInline):
    model = Holiday


@admin.register(HolidayCalendar)
class HolidayCalendarAdmin(OrganizationScopedAdmin):
    list_display = ("name",)
    inlines = [HolidayInline]


@admin.register(Holiday)
class HolidayAdmin(OrganizationScopedAdmin):
    list_display = ("date", "name", "calendar")
    list_select_related = ("calendar",)


@admin.register(AddOn)
class AddOnAdmin(OrganizationScopedAdmin):
    list_display = ("name", "price", "currency", "per", "meter_type", "tax_rate", "active")
    list_filter = ("active", "per")


@admin.register(Plan)
class PlanAdmin(OrganizationScopedAdmin):
    list_display = ("name", "property_kind", "active")
    filter_horizontal = ("rate_lists", "add_ons")


@admin.register(PlanVariant)
class PlanVariantAdmin(OrganizationScopedAdmin):
    list_display = ("name", "plan")
    list_select_related = ("plan",)
    filter_horizontal = ("rate_lists", "add_ons")


@admin.register(PricingTemplate)
class PricingTemplateAdmin(OrganizationScopedAdmin):
    list_display = ("name", "plan", "variant", "billing_point_kind")
    list_select_related = ("plan", "variant")


@admin.register(BillingPointRateList)
class BillingPointRateListAdmin(OrganizationScopedAdmin):
    list_display = ("billing_point", "meter_type", "rate_list", "created_at")
    list_select_related = ("billing_point", "rate_list")
