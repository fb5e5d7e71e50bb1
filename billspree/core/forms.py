from django import forms
from django.urls import reverse
from djmoney.settings import CURRENCY_CHOICES

from billspree.core.banking import iban_or_raw, validate_iban
from billspree.core.files import LimitedImageField
from billspree.core.form_fields import BoundedDateField
from billspree.core.models import ApiKeyScope, Organization, Role
from billspree.core.postal import POSTAL_FIELDS


class _CurrentLogo:
    """What the clear-able file input links to: the scoped logo view, not a storage URL
    (a storage URL would point under /media/, which nothing serves)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __str__(self) -> str:
        return "current logo"


class LogoInput(forms.ClearableFileInput):
    logo_url = ""

    def is_initial(self, value):
        return bool(value and getattr(value, "name", None))

    def get_context(self, name, value, attrs):
        ctx = super().get_context(name, value, attrs)
        if ctx["widget"]["is_initial"]:
            ctx["widget"]["value"] = _CurrentLogo(self.logo_url)
        return ctx


class OrganizationSettingsForm(forms.ModelForm):
    #: 34 characters stored; pasted with the spaces of its groups of four it is up to 42
    iban = forms.CharField(
        label="IBAN", max_length=42, required=False, validators=[validate_iban],
        help_text=Organization._meta.get_field("iban").help_text)
    logo = LimitedImageField(
        required=False,
        widget=LogoInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
        help_text="PNG, JPEG, GIF or WebP; shown in the portals and on statements.",
    )

    class Meta:
        model = Organization
        fields = ["name", "default_currency", "time_zone", "logo",
                  # statement branding (PDF statements and their emails)
                  "brand_color", "address", "payment_details", "payment_terms_days",
                  # payment slips (QR-bill, EPC QR) and the statement header
                  "iban", "bic", "vat_number", *POSTAL_FIELDS,
                  # tariffs: what new charge rules and add-ons start with
                  "default_vat_rate"]
        help_texts = {
            "time_zone": "Used for dates in the portal; each property can have its own.",
            "default_currency": "New properties and rate lists start in this currency.",
        }
        widgets = {
            "brand_color": forms.TextInput(attrs={"type": "color"}),
            "address": forms.Textarea(attrs={"rows": 3}),
            "payment_details": forms.Textarea(attrs={"rows": 3}),
        }

    #: Branding fields a form may leave out: the organization keeps its current value.
    OPTIONAL_KEEP = ("brand_color", "payment_terms_days", "default_vat_rate")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.conf import settings

        allowed = set(settings.CURRENCIES)
        org = self.instance
        if org.pk and org.logo:
            self.fields["logo"].widget.logo_url = (
                reverse("portal:organization_logo", args=[org.public_id])
                + f"?v={org.logo_version}"
            )
        self.fields["default_currency"].choices = [c for c in CURRENCY_CHOICES if c[0] in allowed]
        for name in self.OPTIONAL_KEEP:
            self.fields[name].required = False

    def clean_iban(self):
        return iban_or_raw(self.cleaned_data.get("iban") or "")

    def clean_brand_color(self):
        return self.cleaned_data.get("brand_color") or self.instance.brand_color

    def clean_payment_terms_days(self):
        value = self.cleaned_data.get("payment_terms_days")
        return self.instance.payment_terms_days if value is None else value

    def clean_default_vat_rate(self):
        value = self.cleaned_data.get("default_vat_rate")
        return self.instance.default_vat_rate if value is None else value


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who or what uses this key, e.g. 'ERP sync'.")
    scopes = forms.MultipleChoiceField(
        choices=ApiKeyScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiKeyScope.READ],
        help_text="Read lets the key list and fetch; write also lets it create and change data.",
    )
    expires_on = BoundedDateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. From this day (00:00, the organization's time zone) the key stops "
        "working. Leave empty for a key that works until revoked.",
    )


class SignupForm(forms.Form):
    """Account creation from an invitation link (the email is the invitation's)."""

    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8)

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_password(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data["password"]
        validate_password(password, get_user_model()(email=self.email))
        return password


class PublicIdChoiceField(forms.ModelChoiceField):
    """A choice of a scoped model by public id: the HTML never carries sequential keys, and
    the queryset (``Model.objects.all()``) is scoped per request by the manager."""

    def __init__(self, queryset, **kwargs):
        kwargs.setdefault("to_field_name", "public_id")
        super().__init__(queryset, **kwargs)
