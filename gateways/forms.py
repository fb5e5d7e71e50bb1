"""Portal forms of gateways: they parse input; services validate and change state."""

from __future__ import annotations

from django import forms

from gateways.models import ADDRESS_HELP, Gateway, Profile, ProfileValue, RegisterMap
from gateways.services.config import GATEWAY_FIELDS
from gateways.services.profiles import PROFILE_FIELDS, VALUE_FIELDS
from meters.models import Meter


class GatewayForm(forms.ModelForm):
    class Meta:
        model = Gateway
        fields = list(GATEWAY_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}
        labels = {
            "timeout_ms": "Timeout (ms)",
            "request_delay_ms": "Delay between requests (ms)",
            "poll_interval_s": "Poll interval (seconds)",
            "offline_after": "Offline after missed polls",
        }

    def validate_unique(self) -> None:
        """Uniqueness is the service's job (it names the field)."""


class RegisterMapForm(forms.ModelForm):
    meter = forms.ModelChoiceField(queryset=Meter.objects.all())
    profile = forms.ModelChoiceField(
        queryset=Profile.objects.all(),
        help_text="Which registers hold what. Built-in profiles cover common meters; create "
        "a custom profile for others.",
    )

    class Meta:
        model = RegisterMap
        fields = ["meter", "device_id", "profile", "enabled"]
        labels = {"device_id": "Device (unit) id"}

    def __init__(self, *args, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if creating:
            self.fields["meter"].queryset = Meter.objects.filter(register_map__isnull=True)
        else:
            del self.fields["meter"]

    def validate_unique(self) -> None:
        """Uniqueness is the service's job (it names the field)."""


class RelayForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("disconnect", "Switch the supply OFF (open the relay / close the valve)"),
            ("connect", "Switch the supply ON (close the relay / open the valve)"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the audit log with your name and the time.",
    )


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = list(PROFILE_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def validate_unique(self) -> None:
        """Uniqueness is the service's job (it names the field)."""


class ProfileValueForm(forms.ModelForm):
    address = forms.IntegerField(min_value=0, max_value=65535, help_text=ADDRESS_HELP)

    class Meta:
        model = ProfileValue
        fields = list(VALUE_FIELDS)

    def validate_unique(self) -> None:
        """Checked for the whole list by the service."""


ProfileValueFormSet = forms.formset_factory(ProfileValueForm, extra=1, can_delete=True)


class CopyProfileForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name of the copy")
