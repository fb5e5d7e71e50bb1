"""Portal forms of tenants. They parse input only; services decide and write.

Related choices are :class:`PublicIdChoiceField` over scoped querysets: option values are
public ids and another organization's row is simply "not a valid choice".
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.forms.models import ModelChoiceIterator

from billspree.core.form_fields import BoundedDateField
from billspree.core.forms import PublicIdChoiceField
from meters.models import BillingPoint, Meter, Property
from tenants.models import Tenant
from tenants.services.common import TENANT_FIELDS

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RegisterValueField(forms.DecimalField):
    """A register value as people type it on site: "1234.5" or "1234,5"."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace(" ", "").replace(",", ".")
        return super().to_python(value)

    def widget_attrs(self, widget):
        return {}


class TenantForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = list(TENANT_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer_number"].required = False

    def validate_unique(self) -> None:
        """Uniqueness is the service's job (it names the clashing number)."""


class TenantFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Tenant.Kind.choices])
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Anyone"), ("occupying", "Occupying now"), ("none", "Not occupying")],
    )


class OccupancyFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    property = PublicIdChoiceField(
        Property.objects.all(), required=False, empty_label="Every property"
    )
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Occupied or vacant"),
            ("occupied", "Occupied now"),
            ("vacant", "Vacant now"),
        ],
    )


def billing_point_field(**kwargs) -> PublicIdChoiceField:
    return PublicIdChoiceField(
        BillingPoint.objects.select_related("property"), label="Billing point", **kwargs
    )


class OccupancyForm(forms.Form):
    billing_point = billing_point_field()
    move_in = BoundedDateField(widget=DATE_WIDGET, help_text="Midnight in the property's time.")
    move_out = BoundedDateField(
        widget=DATE_WIDGET, required=False, help_text="Empty: still living there."
    )


class OccupancyEndForm(forms.Form):
    move_out = BoundedDateField(widget=DATE_WIDGET, label="Move-out")


class MoveStartForm(forms.Form):
    """Step 1 of registering a move: where and when."""

    billing_point = billing_point_field()
    moved_on = BoundedDateField(
        widget=DATE_WIDGET,
        label="Move date",
        help_text="The outgoing tenant is billed until the start of this day.",
    )


#: The choice of the incoming-tenant list that creates a tenant with the move.
NEW_TENANT = "new"


class _WithNewTenant(ModelChoiceIterator):
    """The tenants, with "a new tenant" right after the empty (vacancy) choice."""

    def __iter__(self):
        items = super().__iter__()
        if self.field.empty_label is not None:
            yield next(items)
        yield (NEW_TENANT, "+ A new tenant (details below)")
        yield from items

    def __len__(self):
        return super().__len__() + 1


class IncomingTenantField(PublicIdChoiceField):
    iterator = _WithNewTenant

    def to_python(self, value):
        return NEW_TENANT if value == NEW_TENANT else super().to_python(value)

    def validate(self, value):
        if value != NEW_TENANT:
            super().validate(value)


class MoveForm(MoveStartForm):
    """Step 2 (and the confirmed submission): who comes (someone known, a new tenant created
    with the move, or vacancy), and the meters at that instant."""

    incoming_tenant = IncomingTenantField(
        Tenant.objects.all(),
        required=False,
        label="Incoming tenant",
        empty_label="Nobody: vacant, billed to the owner",
    )
    new_kind = forms.ChoiceField(
        choices=Tenant.Kind.choices, initial=Tenant.Kind.PERSON, required=False, label="Kind"
    )
    new_name = forms.CharField(max_length=200, required=False, label="Name")
    new_email = forms.EmailField(required=False, label="Email")
    new_phone = forms.CharField(max_length=40, required=False, label="Phone")
    new_customer_number = forms.CharField(
        max_length=32, required=False, label="Customer number",
        help_text="Empty: the next free number.",
    )
    note = forms.CharField(max_length=200, required=False)

    NEW_FIELDS = ("kind", "name", "email", "phone", "customer_number")

    def __init__(
        self, *args, meters: list[Meter] = (), outgoing: Tenant | None = None,
        last_readings: dict | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.fields["billing_point"].widget = forms.HiddenInput()
        self.fields["moved_on"].widget = forms.HiddenInput()
        if outgoing is not None:  # who leaves cannot be the one who comes
            self.fields["incoming_tenant"].queryset = Tenant.objects.exclude(pk=outgoing.pk)
        self.meters = list(meters)
        self.last_readings = last_readings or {}
        for meter in self.meters:
            self.fields[self.reading_name(meter)] = RegisterValueField(
                required=False,
                min_value=Decimal("0"),
                max_digits=20,
                decimal_places=4,
                label=f"{meter.serial_number} · {meter.get_type_display()} ({meter.unit})",
                help_text=meter.label or "Register value at the move; leave empty if not read.",
            )

    def clean(self):
        data = super().clean()
        typed = any(data.get(f"new_{f}") for f in self.NEW_FIELDS if f != "kind")
        if data.get("incoming_tenant") == NEW_TENANT:
            if not (data.get("new_name") or "").strip():
                self.add_error("new_name", "Enter the new tenant's name.")
        elif typed:
            self.add_error(
                "incoming_tenant",
                "You entered a new tenant's details: choose “A new tenant” here, "
                "or clear those fields.",
            )
        return data

    def new_tenant(self) -> dict | None:
        """The new tenant's fields, when one is to be created with the move."""
        if self.cleaned_data.get("incoming_tenant") != NEW_TENANT:
            return None
        fields = {f: self.cleaned_data.get(f"new_{f}") or "" for f in self.NEW_FIELDS}
        fields["kind"] = fields["kind"] or Tenant.Kind.PERSON
        return fields

    def incoming(self) -> Tenant | None:
        chosen = self.cleaned_data.get("incoming_tenant")
        return None if chosen == NEW_TENANT else chosen

    def new_tenant_fields(self) -> list[forms.BoundField]:
        return [self[f"new_{f}"] for f in self.NEW_FIELDS]

    def reading_rows(self) -> list[tuple[forms.BoundField, object]]:
        """Each meter's field with its latest reading at the move (or None)."""
        return [(self[self.reading_name(m)], self.last_readings.get(m.pk)) for m in self.meters]

    @staticmethod
    def reading_name(meter: Meter) -> str:
        return f"reading_{meter.public_id.hex}"

    def readings(self) -> dict[str, Decimal]:
        values = (
            (m.serial_number, self.cleaned_data.get(self.reading_name(m))) for m in self.meters
        )
        return {serial: value for serial, value in values if value is not None}

    def reading_fields(self) -> list[forms.BoundField]:
        return [self[self.reading_name(m)] for m in self.meters]


class OwnerForm(forms.Form):
    owner = PublicIdChoiceField(Tenant.objects.all(), label="Owner")
    scope = forms.ChoiceField(
        choices=[
            ("billing_point", "This billing point only"),
            ("property", "The whole property (units without their own owner)"),
        ],
        initial="property",
    )


class BadgeAssignForm(forms.Form):
    uid = forms.CharField(max_length=64, label="Badge UID", help_text="As the reader shows it.")
    label = forms.CharField(max_length=100, required=False)
    tenant = PublicIdChoiceField(Tenant.objects.all())
    assigned_on = BoundedDateField(widget=DATE_WIDGET, label="Handed out on")


class BadgeReturnForm(forms.Form):
    returned_on = BoundedDateField(widget=DATE_WIDGET, label="Returned on")


class TenantBadgeForm(BadgeAssignForm):
    """Assign a badge from a tenant's page: the tenant is the page's."""

    tenant = None
